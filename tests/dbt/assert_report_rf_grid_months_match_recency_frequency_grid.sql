{#
    report_rf_grid_months at the as-of date must give the figures of recency_frequency_grid.
    Returns the cells that differ.
#}

with

grid as (
    select * from {{ ref('recency_frequency_grid') }}
),

months as (
    select * from {{ ref('report_rf_grid_months') }}
    where month_end_on = (select as_of_date from {{ ref('int_run_dates') }})
),

compared as (
    select
        coalesce(grid.r_score, months.r_score) as r_score,
        coalesce(grid.f_score, months.f_score) as f_score,
        grid.customer_count as grid_customer_count,
        months.customer_count as month_customer_count
    from grid
    full outer join months
        on grid.r_score = months.r_score
        and grid.f_score = months.f_score
    where grid.r_score is null
        or months.r_score is null
        or grid.customer_count <> months.customer_count
        or grid.monetary_amount <> months.monetary_amount
        or abs(grid.customer_share_rate - months.customer_share_rate) > 1e-9
)

select * from compared
