{#
    The R x F heatmap of the report: customers by R score and F score as of the as-of date,
    all 25 cells (0 customers when empty).
#}

with

customers as (
    select
        r_score,
        f_score,
        monetary_amount
    from {{ ref('customers') }}
),

run_dates as (
    select as_of_date from {{ ref('int_run_dates') }}
),

scores as (
    select cast(unnest(range(1, 6)) as integer) as score
),

cells as (
    select
        r_scores.score as r_score,
        f_scores.score as f_score
    from scores as r_scores
    cross join scores as f_scores
),

cell_totals as (
    select
        r_score,
        f_score,
        count(*) as customer_count,
        sum(monetary_amount) as monetary_amount
    from customers
    group by r_score, f_score
),

all_customers as (
    select count(*) as customer_count from customers
),

final as (
    select
        run_dates.as_of_date,
        cells.r_score,
        cells.f_score,
        coalesce(cell_totals.customer_count, 0) as customer_count,
        coalesce(
            cast(cell_totals.customer_count as double) / nullif(all_customers.customer_count, 0), 0
        ) as customer_share_rate,
        coalesce(cell_totals.monetary_amount, 0) as monetary_amount,
        cast(cell_totals.monetary_amount as double) / cell_totals.customer_count
            as mean_monetary_amount
    from cells
    cross join run_dates
    cross join all_customers
    left join cell_totals
        on cells.r_score = cell_totals.r_score
        and cells.f_score = cell_totals.f_score
)

select * from final
