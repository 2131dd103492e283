{#
    The R x F heatmap: customers by R score and F score as of the as-of date, all 25 cells
    (0 customers when empty). The as-of month end of report_rf_grid_months, which holds the
    grid of every month end, so the two agree by construction.
#}

with

grid_months as (
    select * from {{ ref('report_rf_grid_months') }}
),

run_dates as (
    select as_of_date from {{ ref('int_run_dates') }}
),

final as (
    select
        run_dates.as_of_date,
        grid_months.r_score,
        grid_months.f_score,
        grid_months.customer_count,
        grid_months.customer_share_rate,
        grid_months.monetary_amount,
        grid_months.mean_monetary_amount
    from grid_months
    inner join run_dates
        on grid_months.month_end_on = run_dates.as_of_date
)

select * from final
