{#
    The predicted value in context, one row: what is forecast and for whom, next to what the
    same customers brought in. The forecast (customer_predictions) covers every customer with a
    purchase on or before the as-of date, nobody who has not bought yet and no guest; it is
    their gross margin over the next clv_months months, discounted monthly. Beside it, the
    gross margin of the same customers' orders (returns included, booked on their own day,
    undiscounted) in the clv_months calendar months up to the as-of date. Empty when
    customer_predictions is.
#}

with

run_dates as (
    select as_of_date from {{ ref('int_run_dates') }}
),

predictions as (
    select
        customer_id,
        predicted_clv
    from {{ ref('customer_predictions') }}
),

orders as (
    select
        customer_id,
        ordered_on,
        is_purchase,
        gross_margin_amount
    from {{ ref('int_customer_orders') }}
),

trailing_window as (
    select
        as_of_date,
        cast(as_of_date - interval {{ var('clv_months') | int }} month as date) + 1
            as trailing_start_on
    from run_dates
),

prediction_totals as (
    select
        count(*) as customer_count,
        sum(predicted_clv) as predicted_clv_amount
    from predictions
),

trailing_orders as (
    select
        orders.customer_id,
        orders.is_purchase,
        orders.gross_margin_amount
    from orders
    inner join predictions
        on orders.customer_id = predictions.customer_id
    cross join trailing_window
    where orders.ordered_on between trailing_window.trailing_start_on
        and trailing_window.as_of_date
),

trailing_totals as (
    select
        count(distinct customer_id) filter (where is_purchase) as trailing_buyer_count,
        coalesce(sum(gross_margin_amount), 0) as trailing_gross_margin_amount
    from trailing_orders
),

final as (
    select
        trailing_window.as_of_date,
        {{ var('clv_months') | int }} as clv_months,
        trailing_window.trailing_start_on,
        prediction_totals.customer_count,
        prediction_totals.predicted_clv_amount,
        trailing_totals.trailing_buyer_count,
        cast(trailing_totals.trailing_gross_margin_amount as decimal(18, 4))
            as trailing_gross_margin_amount,
        prediction_totals.predicted_clv_amount
            / nullif(trailing_totals.trailing_gross_margin_amount, 0)
            as predicted_to_trailing_ratio
    from trailing_window
    cross join prediction_totals
    cross join trailing_totals
    where prediction_totals.customer_count > 0
)

select * from final
