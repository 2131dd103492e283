{#-
    One row per customer and purchase day up to the as-of date: purchases (net quantity > 0)
    merged per calendar day, their net revenue summed (DESIGN sec. 7: two orders on one day
    are one purchase day). The input of the RFM summary and of the holdout report card.
    Return-only orders are not purchases and do not appear.
-#}
with

customer_orders as (
    select * from {{ ref('int_customer_orders') }}
),

purchases_to_date as (
    select
        customer_id,
        ordered_on,
        net_revenue
    from customer_orders
    where is_purchase
        and ordered_on <= {{ as_of_date() }}
),

purchase_days as (
    select
        customer_id,
        ordered_on,
        sum(net_revenue) as day_net_revenue
    from purchases_to_date
    group by customer_id, ordered_on
)

select * from purchase_days
