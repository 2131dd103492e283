{#-
    One row per raw transaction line, numbered in file order, typed, normalised and classified
    (quarantine_reason null = clean). Reasons, the first that applies wins: invalid_encoding;
    order_unpaid, order_closed, order_superseded (an order status that an import preset
    excludes, raw_files var `excluded_statuses`: lines that are not sales, kept and counted);
    missing_transaction_id, missing_order_id, amount_out_of_range (a quantity above 1,000,000
    units, or a price, discount, cost, paid line_amount or line amount above max_line_amount(),
    or a number too large to read), non_numeric_value (also: neither unit_price nor
    line_amount given), unparseable_timestamp, implausible_timestamp (before
    earliest_plausible_date(), e.g. year 1 or a BC date), future_timestamp, zero_quantity,
    negative_price, and last duplicate_transaction_id: an id already on an earlier line that
    is otherwise clean (the first clean line keeps the id; a broken line never takes it).

    Appending (issue 15's monthly increments): when `retail-tiers build` finds only new
    transactions files since the last build (retail_tiers/increments.py), it passes just those
    and append_transactions (macros/build_input.sql); the model then appends their lines to
    the table it keeps, and a new line whose id a clean line of an earlier file already holds
    is a duplicate. Every other build replaces the table (full_refresh), as a plain
    `dbt build` does.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    full_refresh=full_refresh_unless_appending(),
) }}
{%- set appending = is_appending() -%}
{%- set columns = [
    'transaction_id', 'order_id', 'customer_id', 'ordered_at', 'product_id', 'category',
    'quantity', 'unit_price', 'discount_amount', 'line_amount', 'unit_cost', 'channel',
    'store_id', 'order_status',
] -%}

with

{#- materialized: see numbered_raw_rows (macros/staging_helpers.sql) #}
numbered_lines {{ cte_materialized() }} (
    {{ numbered_raw_rows('transactions', columns) }}
),

numbered {{ cte_inlined() }} (
    {{ numbered_raw_columns('transactions', columns, 'numbered_lines') }}
),

{#- Ids on more than one line of the files read, whatever the lines' state, found from the
    raw text before any parsing (a few thousand at 10M lines: materialized, as both readers
    of line_checked below join it). #}
repeated_raw_ids {{ cte_materialized() }} (
    select {{ clean_text('raw_transaction_id') }} as transaction_id
    from numbered
    group by 1
    having count(*) > 1
),

{#- Each line flagged when its raw id is on another line too, before any parsing: the
    duplicate check below reads only the flagged lines, as a filter on a column passed
    through unchanged reaches below the parsing (a filter on the parsed id did not: DuckDB
    parsed and checked all 10M lines a second time for it, 9.7 of stg_transactions' 40
    CPU-seconds). Inlined into both readers of line_checked: stored, it would be a second copy
    of every raw line (+3 GB at 10M lines). #}
numbered_flagged {{ cte_inlined() }} (
    select
        numbered.*,
        repeated_raw_ids.transaction_id is not null as has_repeated_raw_id
    from numbered
    left join repeated_raw_ids
        on {{ clean_text('numbered.raw_transaction_id') }} = repeated_raw_ids.transaction_id
),

parsed as (
    select
        *,
        {{ clean_text('raw_transaction_id') }} as transaction_id,
        {{ clean_text('raw_order_id') }} as order_id,
        {{ clean_text('raw_customer_id') }} as customer_id,
        {{ parse_timestamp('raw_ordered_at', reporting_time_zone()) }} as ordered_at,
        {{ clean_text('raw_product_id') }} as product_id,
        {{ clean_text('raw_category') }} as category,
        {{ parse_integer('raw_quantity') }} as quantity,
        {{ parse_decimal('raw_unit_price') }} as unit_price,
        {{ parse_decimal('raw_discount_amount') }} as parsed_discount_amount,
        {{ parse_decimal('raw_line_amount') }} as line_amount,
        {{ parse_decimal('raw_unit_cost') }} as unit_cost,
        lower({{ clean_text('raw_channel') }}) as channel,
        {{ clean_text('raw_store_id') }} as store_id,
        {{ clean_text('raw_order_status') }} as order_status
    from numbered_flagged
),

line_checked as (
    select
        *,
        case
            when has_invalid_text
                then 'invalid_encoding'
            when order_status in ({{ excluded_statuses('transactions', 'order_unpaid') }})
                then 'order_unpaid'
            when order_status in ({{ excluded_statuses('transactions', 'order_closed') }})
                then 'order_closed'
            when order_status in ({{ excluded_statuses('transactions', 'order_superseded') }})
                then 'order_superseded'
            when transaction_id is null
                then 'missing_transaction_id'
            when order_id is null
                then 'missing_order_id'
            when {{ is_out_of_range('raw_quantity', 1000000, 'quantity') }}
                or {{ is_out_of_range('raw_unit_price', max_line_amount(), 'unit_price') }}
                or {{ is_out_of_range('raw_discount_amount', max_line_amount(), 'parsed_discount_amount') }}
                or {{ is_out_of_range('raw_line_amount', max_line_amount(), 'line_amount') }}
                or {{ is_out_of_range('raw_unit_cost', max_line_amount(), 'unit_cost') }}
                or abs(quantity) * cast(unit_price as double) > {{ max_line_amount() }}
                or abs(quantity) * cast(unit_cost as double) > {{ max_line_amount() }}
                then 'amount_out_of_range'
            when quantity is null
                or (unit_price is null and line_amount is null)
                or {{ is_unparseable('raw_unit_price', 'unit_price') }}
                or {{ is_unparseable('raw_line_amount', 'line_amount') }}
                or {{ is_unparseable('raw_discount_amount', 'parsed_discount_amount') }}
                or {{ is_unparseable('raw_unit_cost', 'unit_cost') }}
                then 'non_numeric_value'
            when ordered_at is null
                then 'unparseable_timestamp'
            when ordered_at < {{ earliest_plausible_date() }}
                then 'implausible_timestamp'
            when cast(ordered_at as date) > {{ load_date() }}
                then 'future_timestamp'
            when quantity = 0
                then 'zero_quantity'
            when unit_price < 0
                or parsed_discount_amount < 0
                or line_amount < 0
                or unit_cost < 0
                then 'negative_price'
        end as line_reason
    from parsed
),

{#- Ids on more than one otherwise clean line, with the first of them (which keeps the id):
    only the lines of repeated raw ids are checked here. Only repeated ids reach the join's
    build side, so probing it with every line stays cheap. (Materializing line_checked
    instead holds every checked line in memory: +2 GiB at 10M lines.) #}
repeated_ids as (
    select
        transaction_id,
        min({{ struct_of({'file': 'raw_file_name', 'row': 'source_row_number'}) }}) as first_line
    from line_checked
    where has_repeated_raw_id
        and line_reason is null
    group by transaction_id
    having count(*) > 1
),
{%- if appending %}

-- the ids of the new lines that clean lines of the files loaded before already hold (the
-- table is probed with the new ids: a distinct over every loaded id cost 2.7 CPU-s at 10M
-- lines, this 1.0)
loaded_ids as (
    select distinct transaction_id
    from {{ this }}
    where quarantine_reason is null
        and transaction_id in (select {{ clean_text('raw_transaction_id') }} from numbered)
),
{%- endif %}

classified as (
    select
        line_checked.*,
        case
            when line_checked.line_reason is not null
                then line_checked.line_reason
            {%- if appending %}
            when loaded_ids.transaction_id is not null
                then 'duplicate_transaction_id'
            {%- endif %}
            when {{ struct_of({'file': 'line_checked.raw_file_name', 'row': 'line_checked.source_row_number'}) }}
                > repeated_ids.first_line
                then 'duplicate_transaction_id'
        end as quarantine_reason
    from line_checked
    left join repeated_ids
        on line_checked.transaction_id = repeated_ids.transaction_id
    {%- if appending %}
    left join loaded_ids
        on line_checked.transaction_id = loaded_ids.transaction_id
    {%- endif %}
),

final as (
    select
        raw_file_name,
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
        line_amount,
        unit_cost,
        channel,
        store_id,
        order_status,
        coalesce(quantity < 0, false) as is_return,
        quarantine_reason,
        case
            when quarantine_reason is not null then {{ raw_record_json(columns) }}
        end as raw_record
    from classified
)

select * from final
