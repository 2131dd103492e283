{#-
    One row per raw campaign-contact row, numbered in file order, typed and classified
    (quarantine_reason null = clean). Reasons, the first that applies wins:
    missing_campaign_id, missing_customer_id, duplicate_contact (the same campaign and
    customer on an earlier row; the first row, i.e. the first contact, is kept),
    non_boolean_value (is_control present but not a boolean), unparseable_timestamp
    (contacted_at empty or not a date/time), implausible_timestamp (before 1970-01-01),
    future_timestamp (contacted after the load date).
-#}
{%- set columns = ['campaign_id', 'customer_id', 'contacted_at', 'is_control'] -%}

with

{#- materialized: see numbered_raw_rows (macros/staging_helpers.sql) #}
numbered_lines {{ cte_materialized() }} (
    {{ numbered_raw_rows('campaign_contacts', columns) }}
),

numbered {{ cte_inlined() }} (
    {{ numbered_raw_columns('campaign_contacts', columns, 'numbered_lines') }}
),

parsed as (
    select
        *,
        {{ clean_text('raw_campaign_id') }} as campaign_id,
        {{ clean_text('raw_customer_id') }} as customer_id,
        {{ parse_timestamp('raw_contacted_at', reporting_time_zone()) }} as contacted_at,
        {{ parse_boolean('raw_is_control') }} as parsed_is_control
    from numbered
),

repeated_contacts as (
    select
        campaign_id,
        customer_id,
        min(source_row_number) as first_source_row_number
    from parsed
    where campaign_id is not null
        and customer_id is not null
    group by campaign_id, customer_id
    having count(*) > 1
),

classified as (
    select
        parsed.*,
        case
            when parsed.has_invalid_text
                then 'invalid_encoding'
            when parsed.campaign_id is null
                then 'missing_campaign_id'
            when parsed.customer_id is null
                then 'missing_customer_id'
            when parsed.source_row_number > repeated_contacts.first_source_row_number
                then 'duplicate_contact'
            when {{ is_unparseable('parsed.raw_is_control', 'parsed.parsed_is_control') }}
                then 'non_boolean_value'
            when parsed.contacted_at is null
                then 'unparseable_timestamp'
            when parsed.contacted_at < {{ earliest_plausible_date() }}
                then 'implausible_timestamp'
            when cast(parsed.contacted_at as date) > {{ load_date() }}
                then 'future_timestamp'
        end as quarantine_reason
    from parsed
    left join repeated_contacts
        on parsed.campaign_id = repeated_contacts.campaign_id
        and parsed.customer_id = repeated_contacts.customer_id
),

final as (
    select
        source_row_number,
        campaign_id,
        customer_id,
        contacted_at,
        cast(contacted_at as date) as contacted_on,
        coalesce(parsed_is_control, false) as is_control,
        quarantine_reason,
        case
            when quarantine_reason is not null then {{ raw_record_json(columns) }}
        end as raw_record
    from classified
)

select * from final
