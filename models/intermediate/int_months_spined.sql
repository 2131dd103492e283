{#-
    One row per calendar month of the KPI history: from the month of the first clean order
    (guest orders included) to the as-of month. Months after the as-of date are left out: the
    KPIs describe the business as of the as-of date, like every other mart. When the as-of
    date is not a month's last day (`--as-of 2024-03-15`), the as-of month ends on it.
-#}
with

run_dates as (
    select * from {{ ref('int_run_dates') }}
),

month_starts as (
    select
        {{ unnest_month_series("cast(date_trunc('month', first_order_on) as date)", "cast(date_trunc('month', as_of_date) as date)") }} as month_start_at,
        as_of_date
    from run_dates
),

final as (
    select
        cast(month_start_at as date) as month_start_on,
        least(last_day(cast(month_start_at as date)), as_of_date) as month_end_on,
        cast(month_start_at as date) - 1 as previous_month_end_on,
        last_day(cast(month_start_at as date)) <= as_of_date as is_complete_month
    from month_starts
)

select * from final
