{#-
    One row per raw customer row, numbered in file order, typed and classified
    (quarantine_reason null = clean). Reasons, the first that applies wins:
    missing_customer_id, duplicate_customer_id (an id seen on an earlier row; the first row
    keeps it), non_numeric_value (acquisition_cost present but not a number),
    unparseable_timestamp (signed_up_at present but not a date/time; empty is allowed),
    implausible_timestamp (before 1970-01-01),
    future_timestamp (signed up after the load date), negative_amount (acquisition_cost < 0),
    amount_out_of_range (acquisition_cost above max_line_amount() or too large to read).
-#}
{%- set columns = [
    'customer_id', 'signed_up_at', 'city', 'acquisition_channel', 'acquisition_cost',
] -%}

with

{#- materialized: see numbered_raw_rows (macros/staging_helpers.sql) #}
numbered_lines {{ cte_materialized() }} (
    {{ numbered_raw_rows('customers', columns) }}
),

numbered {{ cte_inlined() }} (
    {{ numbered_raw_columns('customers', columns, 'numbered_lines') }}
),

parsed as (
    select
        *,
        {{ clean_text('raw_customer_id') }} as customer_id,
        {{ parse_timestamp('raw_signed_up_at', reporting_time_zone()) }} as signed_up_at,
        {{ clean_text('raw_city') }} as city,
        lower({{ clean_text('raw_acquisition_channel') }}) as acquisition_channel,
        {{ parse_decimal('raw_acquisition_cost') }} as acquisition_cost
    from numbered
),

repeated_ids as (
    select
        customer_id,
        min(source_row_number) as first_source_row_number
    from parsed
    where customer_id is not null
    group by customer_id
    having count(*) > 1
),

classified as (
    select
        parsed.*,
        case
            when parsed.has_invalid_text
                then 'invalid_encoding'
            when parsed.customer_id is null
                then 'missing_customer_id'
            when parsed.source_row_number > repeated_ids.first_source_row_number
                then 'duplicate_customer_id'
            when {{ is_out_of_range('parsed.raw_acquisition_cost', max_line_amount()) }}
                then 'amount_out_of_range'
            when {{ is_unparseable('parsed.raw_acquisition_cost', 'parsed.acquisition_cost') }}
                then 'non_numeric_value'
            when {{ is_unparseable('parsed.raw_signed_up_at', 'parsed.signed_up_at') }}
                then 'unparseable_timestamp'
            when parsed.signed_up_at < {{ earliest_plausible_date() }}
                then 'implausible_timestamp'
            when cast(parsed.signed_up_at as date) > {{ load_date() }}
                then 'future_timestamp'
            when parsed.acquisition_cost < 0
                then 'negative_amount'
        end as quarantine_reason
    from parsed
    left join repeated_ids
        on parsed.customer_id = repeated_ids.customer_id
),

final as (
    select
        source_row_number,
        customer_id,
        signed_up_at,
        cast(signed_up_at as date) as signed_up_on,
        city,
        acquisition_channel,
        acquisition_cost,
        quarantine_reason,
        case
            when quarantine_reason is not null then {{ raw_record_json(columns) }}
        end as raw_record
    from classified
)

select * from final
