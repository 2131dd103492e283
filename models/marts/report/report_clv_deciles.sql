{#
    How concentrated predicted value is: customers ranked by predicted CLV
    (customer_predictions, as of the as-of date) and cut into ten equal groups, decile 10 the
    most valuable; each decile's share of all predicted CLV. The top-decile share is decile
    10's clv_share_rate. Ties are broken by customer_id so the cut is reproducible.
#}

with

predictions as (
    select
        customer_id,
        predicted_clv
    from {{ ref('customer_predictions') }}
),

run_dates as (
    select as_of_date from {{ ref('int_run_dates') }}
),

ranked as (
    select
        predicted_clv,
        ntile(10) over (order by predicted_clv, customer_id) as decile
    from predictions
),

decile_totals as (
    select
        decile,
        count(*) as customer_count,
        sum(predicted_clv) as predicted_clv_amount,
        min(predicted_clv) as min_predicted_clv_amount,
        max(predicted_clv) as max_predicted_clv_amount
    from ranked
    group by decile
),

all_customers as (
    select
        count(*) as all_customer_count,
        sum(predicted_clv) as all_predicted_clv_amount
    from predictions
),

final as (
    select
        run_dates.as_of_date,
        cast(decile_totals.decile as integer) as decile,
        decile_totals.customer_count,
        decile_totals.predicted_clv_amount,
        decile_totals.predicted_clv_amount
            / nullif(all_customers.all_predicted_clv_amount, 0) as clv_share_rate,
        decile_totals.min_predicted_clv_amount,
        decile_totals.max_predicted_clv_amount,
        all_customers.all_customer_count,
        all_customers.all_predicted_clv_amount
    from decile_totals
    cross join all_customers
    cross join run_dates
)

select * from final
