{#
    Sales per month by channel, by store and by customer city (DESIGN section 8's KPIs, cut by
    where the sale happened and where the customer lives), and the month's totals as dimension
    'all'. One row per month of the KPI history (int_months_spined), dimension and value, for
    every value with an order in the month. Orders are the netted orders (guests included) on
    or before the month's end, so the as-of month only up to the as-of date, as in monthly_kpis;
    customers are known customers with a purchase in the month there. A customer is new in a
    month when their first purchase anywhere falls in it, returning otherwise, so a customer
    who first bought online and now buys in a store is a returning customer of that store.
    City is the customer's city from the customers file (guests: 'guest'); an empty channel,
    store or city is 'unknown'.

    Incremental by month for its channel and store cuts: an appending build (new monthly
    transactions files, issue 15) recomputes them from first_recomputed_month() on and keeps
    the earlier months, whose rows depend only on orders up to their month's end and on first
    purchases before it (macros/month_increments.sql). The city cut and the totals read the
    customers file, which may change between builds, so they are recomputed in every month
    (from the customer months, not every order). Every other build replaces the table.
#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    full_refresh=full_refresh_unless_appending(),
    on_schema_change='fail',
    pre_hook="{{ clear_recomputed_months(also_where=\"dimension in ('city', 'all')\") }}",
) }}
{%- set appending = is_appending() %}
{%- set first_month = first_recomputed_month(this) if appending else none %}

with

months as (
    select
        month_start_on,
        month_end_on
    from {{ ref('int_months_spined') }}
),

orders as (
    select
        order_id,
        customer_id,
        is_guest,
        ordered_on,
        order_month,
        is_purchase,
        net_revenue,
        channel,
        store_id
    from {{ ref('int_orders_netted') }}
),

customer_cities as (
    select
        customer_id,
        city
    from {{ ref('stg_customers') }}
    where quarantine_reason is null
),

first_purchases as (
    select
        customer_id,
        order_month as first_purchase_month
    from {{ ref('int_customer_orders') }}
    where purchase_number = 1
),

{#- A known customer's month, as monthly_kpis and the cohorts count it (one model of
    customer-month activity feeds them all): the city cut and the totals. #}
member_months as (
    select
        customer_id,
        month_start_on,
        net_revenue_amount,
        purchase_order_count,
        has_purchase,
        is_first_purchase_month
    from {{ ref('int_customer_month_activity') }}
),

orders_described as (
    select
        orders.order_month as month_start_on,
        orders.customer_id,
        orders.is_guest,
        orders.is_purchase,
        orders.net_revenue,
        coalesce(nullif(trim(orders.channel), ''), 'unknown') as channel,
        coalesce(nullif(trim(orders.store_id), ''), 'unknown') as store_id,
        orders.is_purchase and not orders.is_guest
            and first_purchases.first_purchase_month = orders.order_month as is_new_customer_purchase
    from orders
    inner join months
        on orders.order_month = months.month_start_on
        and orders.ordered_on <= months.month_end_on
    left join first_purchases
        on orders.customer_id = first_purchases.customer_id
    {%- if appending %}
    -- the months recomputed, and every guest order for the city cut
    where orders.order_month >= {{ first_month }} or orders.is_guest
    {%- endif %}
),

{#- Distinct customers are counted in two steps, not with count(distinct) per cut (twice the
    CPU at 4.5M orders): one pass over the orders sums each customer's month per channel and
    per store (the guests of a month are one row each, customer_id null); the cuts then count
    those rows. A customer's city does not change within a month, so the city cut and the
    totals come from the customer's months (int_customer_month_activity, 4M rows, not every
    order), which is also where the city is looked up, and from the guests' orders. #}
customer_cuts as (
    select
        month_start_on,
        case when grouping(channel) = 0 then 'channel' else 'store' end as cut,
        case when grouping(channel) = 0 then channel else store_id end as cut_value,
        sum(net_revenue) as net_revenue,
        sum(case when not is_guest then net_revenue else 0 end) as member_net_revenue,
        count(*) filter (where is_purchase) as order_count,
        bool_or(is_purchase and not is_guest) as is_buying_customer,
        bool_or(is_new_customer_purchase) as is_new_customer
    from orders_described
    {%- if appending %}
    where month_start_on >= {{ first_month }}
    {%- endif %}
    group by grouping sets (
        (month_start_on, is_guest, channel, customer_id),
        (month_start_on, is_guest, store_id, customer_id)
    )
),

customer_months_placed as (
    select
        member_months.month_start_on,
        member_months.net_revenue_amount as net_revenue,
        member_months.net_revenue_amount as member_net_revenue,
        member_months.purchase_order_count as order_count,
        member_months.has_purchase as is_buying_customer,
        member_months.is_first_purchase_month as is_new_customer,
        coalesce(nullif(trim(customer_cities.city), ''), 'unknown') as city
    from member_months
    left join customer_cities
        on member_months.customer_id = customer_cities.customer_id

    union all

    select
        month_start_on,
        sum(net_revenue) as net_revenue,
        0 as member_net_revenue,
        count(*) filter (where is_purchase) as order_count,
        false as is_buying_customer,
        false as is_new_customer,
        'guest' as city
    from orders_described
    where is_guest
    group by month_start_on
),

aggregated as (
    select
        month_start_on,
        cut as dimension,
        cut_value as dimension_value,
        cast(sum(net_revenue) as decimal(18, 4)) as net_revenue_amount,
        cast(sum(member_net_revenue) as decimal(18, 4)) as member_net_revenue_amount,
        cast(sum(order_count) as bigint) as order_count,
        count(*) filter (where is_buying_customer) as customer_count,
        count(*) filter (where is_new_customer) as new_customer_count
    from customer_cuts
    group by month_start_on, cut, cut_value

    union all

    select
        month_start_on,
        case when grouping(city) = 0 then 'city' else 'all' end as dimension,
        case when grouping(city) = 0 then city else 'all' end as dimension_value,
        cast(sum(net_revenue) as decimal(18, 4)) as net_revenue_amount,
        cast(sum(member_net_revenue) as decimal(18, 4)) as member_net_revenue_amount,
        cast(sum(order_count) as bigint) as order_count,
        count(*) filter (where is_buying_customer) as customer_count,
        count(*) filter (where is_new_customer) as new_customer_count
    from customer_months_placed
    group by grouping sets ((month_start_on), (month_start_on, city))
),

final as (
    select
        month_start_on,
        dimension,
        dimension_value,
        net_revenue_amount,
        member_net_revenue_amount,
        case
            when net_revenue_amount > 0
                then cast(member_net_revenue_amount as double) / cast(net_revenue_amount as double)
        end as member_revenue_share,
        order_count,
        case
            when order_count > 0 then cast(net_revenue_amount as double) / order_count
        end as aov_amount,
        customer_count,
        new_customer_count,
        customer_count - new_customer_count as returning_customer_count,
        case
            when customer_count > 0
                then cast(customer_count - new_customer_count as double) / customer_count
        end as returning_customer_rate
    from aggregated
)

select * from final
