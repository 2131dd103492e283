{#-
    The orders an appending build recomputes (issue 15's monthly increments): one row per order
    a clean line of the new transactions files belongs to, with the first day of its clean
    lines in every file (a new line of an order already loaded moves the bound back to that
    order's first day). Worked out once per build: the appending models and their tests read
    it through the macros of macros/month_increments.sql (appended_order_ids,
    first_changed_on_query), each of which scanned every loaded line before. Empty in every
    other build.
-#}
{%- set appending = build_input('append_transactions', false) %}
with

clean_lines as (
    select
        order_id,
        ordered_on,
        raw_file_name
    from {{ ref('stg_transactions') }}
    where quarantine_reason is null
        {%- if not appending %}
        and false
        {%- endif %}
),

appended_lines as (
    select order_id
    from clean_lines
    where raw_file_name in ({{ appended_transaction_files() }})
),

final as (
    select
        order_id,
        min(ordered_on) as first_ordered_on
    from clean_lines
    where order_id in (select appended_lines.order_id from appended_lines)
    group by order_id
)

select * from final
