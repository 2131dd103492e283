{#-
    One row per raw transaction line, numbered in file order, typed, normalised and classified
    (quarantine_reason null = clean). Reasons, the first that applies wins:
    missing_transaction_id, duplicate_transaction_id (a non-empty id seen on an earlier line;
    the first line keeps it), missing_order_id, non_numeric_value, unparseable_timestamp,
    future_timestamp, zero_quantity, negative_price.
-#}
{%- set columns = [
    'transaction_id', 'order_id', 'customer_id', 'ordered_at', 'product_id', 'category',
    'quantity', 'unit_price', 'discount_amount', 'unit_cost', 'channel', 'store_id',
] -%}

with

{#- materialized: see numbered_raw_rows (macros/staging_helpers.sql) #}
numbered as materialized (
    {{ numbered_raw_rows('transactions', columns) }}
),

parsed as (
    select
        *,
        {{ clean_text('raw_transaction_id') }} as transaction_id,
        {{ clean_text('raw_order_id') }} as order_id,
        {{ clean_text('raw_customer_id') }} as customer_id,
        {{ parse_timestamp('raw_ordered_at') }} as ordered_at,
        {{ clean_text('raw_product_id') }} as product_id,
        {{ clean_text('raw_category') }} as category,
        {{ parse_integer('raw_quantity') }} as quantity,
        {{ parse_decimal('raw_unit_price') }} as unit_price,
        {{ parse_decimal('raw_discount_amount') }} as parsed_discount_amount,
        {{ parse_decimal('raw_unit_cost') }} as unit_cost,
        lower({{ clean_text('raw_channel') }}) as channel,
        {{ clean_text('raw_store_id') }} as store_id
    from numbered
),

{#- Ids on more than one line, with the first line (which keeps the id). Only repeated ids
    reach the join's build side, so probing it with every line stays cheap at 10M lines. #}
repeated_ids as (
    select
        transaction_id,
        min(source_row_number) as first_source_row_number
    from parsed
    where transaction_id is not null
    group by transaction_id
    having count(*) > 1
),

classified as (
    select
        parsed.*,
        case
            when parsed.transaction_id is null
                then 'missing_transaction_id'
            when parsed.source_row_number > repeated_ids.first_source_row_number
                then 'duplicate_transaction_id'
            when parsed.order_id is null
                then 'missing_order_id'
            when parsed.quantity is null
                or parsed.unit_price is null
                or {{ is_unparseable('parsed.raw_discount_amount', 'parsed.parsed_discount_amount') }}
                or {{ is_unparseable('parsed.raw_unit_cost', 'parsed.unit_cost') }}
                then 'non_numeric_value'
            when parsed.ordered_at is null
                then 'unparseable_timestamp'
            when cast(parsed.ordered_at as date) > {{ load_date() }}
                then 'future_timestamp'
            when parsed.quantity = 0
                then 'zero_quantity'
            when parsed.unit_price < 0
                or parsed.parsed_discount_amount < 0
                or parsed.unit_cost < 0
                then 'negative_price'
        end as quarantine_reason
    from parsed
    left join repeated_ids
        on parsed.transaction_id = repeated_ids.transaction_id
),

final as (
    select
        source_row_number,
        transaction_id,
        order_id,
        customer_id,
        customer_id is null as is_guest,
        ordered_at,
        cast(ordered_at as date) as ordered_on,
        product_id,
        category,
        quantity,
        unit_price,
        case
            when {{ clean_text('raw_discount_amount') }} is null then cast(0 as decimal(18, 4))
            else parsed_discount_amount
        end as discount_amount,
        unit_cost,
        channel,
        store_id,
        coalesce(quantity < 0, false) as is_return,
        quarantine_reason,
        case
            when quarantine_reason is not null then {{ raw_record_json(columns) }}
        end as raw_record
    from classified
)

select * from final
