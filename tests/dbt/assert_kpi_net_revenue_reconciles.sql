{#-
    The monthly net revenue adds up to the net revenue of all clean orders (guests and
    return-only orders included) on or before the as-of date: no order is lost or counted
    twice by the month spine. Returns a row when the totals differ.
-#}
with

monthly_kpis as (
    select * from {{ ref('monthly_kpis') }}
),

orders as (
    select * from {{ ref('int_orders_netted') }}
),

monthly_total as (
    select coalesce(sum(net_revenue_amount), 0) as net_revenue_amount
    from monthly_kpis
),

orders_total as (
    select coalesce(sum(net_revenue), 0) as net_revenue_amount
    from orders
    where ordered_on <= {{ as_of_date() }}
),

final as (
    select
        monthly_total.net_revenue_amount as monthly_net_revenue_amount,
        orders_total.net_revenue_amount as orders_net_revenue_amount
    from monthly_total
    cross join orders_total
    where monthly_total.net_revenue_amount <> orders_total.net_revenue_amount
)

select * from final
