{#
    The months the monthly report can be rendered for: the month ends of the customer history
    (int_month_ends, the last `history_months` up to the as-of date) that also have a
    monthly_kpis row, with the run's dates. Forecasts (customer_predictions, churn_watchlist)
    exist only for the as-of month.
#}

with

month_ends as (
    select * from {{ ref('int_month_ends') }}
),

kpi_months as (
    select month_start_on from {{ ref('monthly_kpis') }}
),

run_dates as (
    select
        as_of_date,
        load_date,
        first_order_on,
        last_order_on
    from {{ ref('int_run_dates') }}
),

final as (
    select
        month_ends.month_start_on,
        month_ends.month_end_on,
        month_ends.previous_month_end_on,
        month_ends.month_end_index,
        month_ends.is_as_of_date as is_as_of_month,
        month_ends.month_end_index > 0 as has_previous_history_month,
        run_dates.as_of_date,
        run_dates.load_date,
        run_dates.first_order_on,
        run_dates.last_order_on
    from month_ends
    inner join kpi_months
        on month_ends.month_start_on = kpi_months.month_start_on
    cross join run_dates
)

select * from final
