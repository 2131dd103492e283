{#-
    One row per raw campaign row, numbered in file order, typed and classified
    (quarantine_reason null = clean). Reasons, the first that applies wins:
    missing_campaign_id, duplicate_campaign_id (an id seen on an earlier row; the first row
    keeps it), non_numeric_value (cost present but not a number), unparseable_timestamp
    (starts_on or ends_on empty or not a date), ends_before_start, negative_amount (cost < 0), amount_out_of_range
    (cost above max_line_amount() or too large to read).
    Campaigns may lie in the future (planned), so there is no future_timestamp here.
-#}
{%- set columns = [
    'campaign_id', 'campaign_name', 'channel', 'starts_on', 'ends_on', 'cost',
] -%}

with

{#- materialized: see numbered_raw_rows (macros/staging_helpers.sql) #}
numbered_lines {{ cte_materialized() }} (
    {{ numbered_raw_rows('campaigns', columns) }}
),

numbered {{ cte_inlined() }} (
    {{ numbered_raw_columns('campaigns', columns, 'numbered_lines') }}
),

parsed as (
    select
        *,
        {{ clean_text('raw_campaign_id') }} as campaign_id,
        {{ clean_text('raw_campaign_name') }} as campaign_name,
        lower({{ clean_text('raw_channel') }}) as channel,
        cast({{ parse_timestamp('raw_starts_on', reporting_time_zone()) }} as date) as starts_on,
        cast({{ parse_timestamp('raw_ends_on', reporting_time_zone()) }} as date) as ends_on,
        {{ parse_decimal('raw_cost') }} as cost
    from numbered
),

repeated_ids as (
    select
        campaign_id,
        min(source_row_number) as first_source_row_number
    from parsed
    where campaign_id is not null
    group by campaign_id
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
            when parsed.source_row_number > repeated_ids.first_source_row_number
                then 'duplicate_campaign_id'
            when {{ is_out_of_range('parsed.raw_cost', max_line_amount()) }}
                then 'amount_out_of_range'
            when {{ is_unparseable('parsed.raw_cost', 'parsed.cost') }}
                then 'non_numeric_value'
            when parsed.starts_on is null or parsed.ends_on is null
                then 'unparseable_timestamp'
            when parsed.ends_on < parsed.starts_on
                then 'ends_before_start'
            when parsed.cost < 0
                then 'negative_amount'
        end as quarantine_reason
    from parsed
    left join repeated_ids
        on parsed.campaign_id = repeated_ids.campaign_id
),

final as (
    select
        source_row_number,
        campaign_id,
        campaign_name,
        channel,
        starts_on,
        ends_on,
        cost,
        quarantine_reason,
        case
            when quarantine_reason is not null then {{ raw_record_json(columns) }}
        end as raw_record
    from classified
)

select * from final
