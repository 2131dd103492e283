{{ config(materialized='table') }}
{#-
    The run's dates, one row. A table (not a view) so the load date of a build defaulting to
    `current_date` stays the build's date when the report reads it later.
    as_of_date: `--as-of` or var `as_of_date` (macro as_of_date_setting), else the last day of
    the latest complete month of the clean data: the month of the last clean order date when
    that date is the month's last day, otherwise the month before it (macro as_of_date_after).
-#}
with

{#- The clean lines' dates, read from staging: int_transaction_lines holds exactly the clean
    lines (assert_raw_rows_reconcile), and reading them through that view also runs its
    identity joins (at 10M lines about 0.15 CPU-s, against 0.05 here). #}
lines as (
    select ordered_on from {{ ref('stg_transactions') }}
    where quarantine_reason is null
),

order_span as (
    select
        min(ordered_on) as first_order_on,
        max(ordered_on) as last_order_on
    from lines
),

as_of as (
    select
        first_order_on,
        last_order_on,
        {{ as_of_date_after('last_order_on') }} as as_of_date
    from order_span
),

final as (
    select
        {{ load_date() }} as load_date,
        first_order_on,
        last_order_on,
        as_of_date,
        cast(date_trunc('month', as_of_date) as date) as as_of_month
    from as_of
)

select * from final
