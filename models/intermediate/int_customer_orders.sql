{#
    Every order of a known customer (guests excluded), purchases and return-only orders alike,
    with the customer's purchase sequence. Revenue nets in the order's own month; only
    purchases (net quantity > 0) count as orders for F, repeat and churn logic.
#}
with

orders as (
    select * from {{ ref('int_orders_netted') }}
),

customer_orders as (
    select
        customer_id,
        order_id,
        ordered_at,
        ordered_on,
        order_month,
        channel,
        store_id,
        is_purchase,
        net_quantity,
        net_revenue,
        cost_amount,
        gross_margin_amount
    from orders
    where not is_guest
),

purchases_sequenced as (
    select
        order_id,
        row_number() over (
            partition by customer_id order by ordered_at, order_id
        ) as purchase_number,
        lag(ordered_on) over (
            partition by customer_id order by ordered_at, order_id
        ) as previous_purchase_on
    from customer_orders
    where is_purchase
),

final as (
    select
        customer_orders.customer_id,
        customer_orders.order_id,
        customer_orders.ordered_at,
        customer_orders.ordered_on,
        customer_orders.order_month,
        customer_orders.channel,
        customer_orders.store_id,
        customer_orders.is_purchase,
        purchases_sequenced.purchase_number,
        purchases_sequenced.previous_purchase_on,
        customer_orders.ordered_on
            - purchases_sequenced.previous_purchase_on as days_since_previous_purchase,
        customer_orders.net_quantity,
        customer_orders.net_revenue,
        customer_orders.cost_amount,
        customer_orders.gross_margin_amount
    from customer_orders
    left join purchases_sequenced
        on customer_orders.order_id = purchases_sequenced.order_id
)

select * from final
