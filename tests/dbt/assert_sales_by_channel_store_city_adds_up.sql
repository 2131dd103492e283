{#
    sales_by_channel_store_city: the totals (dimension 'all') equal monthly_kpis' net revenue,
    orders, active and new customers of every month, and each dimension's values add up to the
    totals in revenue and orders (every order has exactly one channel, store and city). Returns
    one row per month and dimension that does not add up.
#}

with

sales as (
    select * from {{ ref('sales_by_channel_store_city') }}
),

monthly_kpis as (
    select
        month_start_on,
        net_revenue_amount,
        order_count,
        active_customer_count,
        new_customer_count
    from {{ ref('monthly_kpis') }}
),

dimension_sums as (
    select
        month_start_on,
        dimension,
        sum(net_revenue_amount) as net_revenue_amount,
        sum(order_count) as order_count
    from sales
    where dimension <> 'all'
    group by month_start_on, dimension
),

totals as (
    select * from sales where dimension = 'all'
),

problems as (
    select
        monthly_kpis.month_start_on,
        'all' as dimension,
        'totals differ from monthly_kpis' as problem
    from monthly_kpis
    left join totals
        on monthly_kpis.month_start_on = totals.month_start_on
    where coalesce(totals.net_revenue_amount, 0) <> monthly_kpis.net_revenue_amount
        or coalesce(totals.order_count, 0) <> monthly_kpis.order_count
        or coalesce(totals.customer_count, 0) <> monthly_kpis.active_customer_count
        or coalesce(totals.new_customer_count, 0) <> monthly_kpis.new_customer_count
    union all
    select
        totals.month_start_on,
        dimension_sums.dimension,
        'values do not add up to the totals' as problem
    from totals
    inner join dimension_sums
        on totals.month_start_on = dimension_sums.month_start_on
    where dimension_sums.net_revenue_amount <> totals.net_revenue_amount
        or dimension_sums.order_count <> totals.order_count
)

select * from problems
