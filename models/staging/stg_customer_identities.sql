{#-
    One row per raw row of the optional `customer_identities` file: which one customer (the
    customer_key: a member phone, a 会员卡号, a CRM id) each platform id is, per store or
    shop (store_id as in transactions; empty = the id means that customer in every store).
    Reasons, the first that applies wins: invalid_encoding, missing_customer_id,
    missing_customer_key, duplicate_identity (the same store and id as an earlier row that is
    otherwise clean: the first keeps it, so an id never resolves to two customers).
-#}
{%- set columns = ['store_id', 'customer_id', 'customer_key'] -%}

with

numbered_lines as (
    {{ numbered_raw_rows('customer_identities', columns) }}
),

numbered {{ cte_inlined() }} (
    {{ numbered_raw_columns('customer_identities', columns, 'numbered_lines') }}
),

parsed as (
    select
        *,
        {{ clean_text('raw_store_id') }} as store_id,
        {{ clean_text('raw_customer_id') }} as customer_id,
        {{ clean_text('raw_customer_key') }} as customer_key
    from numbered
),

line_checked as (
    select
        *,
        case
            when has_invalid_text
                then 'invalid_encoding'
            when customer_id is null
                then 'missing_customer_id'
            when customer_key is null
                then 'missing_customer_key'
        end as line_reason
    from parsed
),

{#- (store, id) pairs on more than one otherwise clean row; an empty store is a value of its
    own here (the id in every store), so the pair is compared with `is not distinct from` #}
first_rows as (
    select
        store_id,
        customer_id,
        min(source_row_number) as first_source_row_number
    from line_checked
    where line_reason is null
    group by store_id, customer_id
    having count(*) > 1
),

classified as (
    select
        line_checked.*,
        case
            when line_checked.line_reason is not null
                then line_checked.line_reason
            when line_checked.source_row_number > first_rows.first_source_row_number
                then 'duplicate_identity'
        end as quarantine_reason
    from line_checked
    left join first_rows
        on line_checked.store_id is not distinct from first_rows.store_id
        and line_checked.customer_id = first_rows.customer_id
),

final as (
    select
        source_row_number,
        store_id,
        customer_id,
        customer_key,
        quarantine_reason,
        case
            when quarantine_reason is not null then {{ raw_record_json(columns) }}
        end as raw_record
    from classified
)

select * from final
