{#-
    One row per known customer and month of int_months_spined in which the customer has an
    order on or before the month's end (so the as-of month only up to the as-of date):
    purchases and return-only orders alike, with the customer's first purchase month (the
    cohort) on every row. The one customer-by-month model: monthly_kpis counts second-purchase
    customers and lifetime value from it, int_customer_purchase_spans works out customer state
    over time from its purchase months, cohort_retention its cohorts, and
    sales_by_channel_store_city its city cut and monthly totals. A customer who never purchased (returns only) has no first purchase month.

    Incremental by month: an appending build (new monthly transactions files, issue 15)
    recomputes the months from first_recomputed_month() on and keeps the earlier ones, whose
    rows depend only on orders up to their month's end (macros/month_increments.sql); the
    pre-hook clears the recomputed months, the post-hook carries a new first purchase month to
    the kept return-only months before it. Every other build replaces the table.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    full_refresh=full_refresh_unless_appending(),
    on_schema_change='fail',
    pre_hook="{{ clear_recomputed_months() }}",
    post_hook="{{ carry_first_purchase_months() }}",
) }}
{%- set appending = is_appending() %}
{%- set first_month = first_recomputed_month(this) if appending else none %}
with

months as (
    select * from {{ ref('int_months_spined') }}
    {%- if appending %}
    where month_start_on >= {{ first_month }}
    {%- endif %}
),

customer_orders as (
    select * from {{ ref('int_customer_orders') }}
    {%- if appending %}
    where order_month >= {{ first_month }}
    {%- endif %}
),

orders_in_months as (
    select
        customer_orders.customer_id,
        months.month_start_on,
        customer_orders.ordered_on,
        customer_orders.is_purchase,
        customer_orders.purchase_number,
        customer_orders.previous_purchase_on,
        customer_orders.days_since_previous_purchase,
        customer_orders.net_revenue,
        customer_orders.gross_margin_amount
    from customer_orders
    inner join months
        on customer_orders.order_month = months.month_start_on
        and customer_orders.ordered_on <= months.month_end_on
),

-- The previous purchase of the month's last purchase is the second-latest purchase on or
-- before the month end (previous dates only grow along the sequence, so it is their
-- maximum; null when the customer has one purchase so far).
customer_months as (
    select
        customer_id,
        month_start_on,
        bool_or(is_purchase) as has_purchase,
        count(*) filter (where is_purchase) as purchase_order_count,
        coalesce(bool_or(purchase_number = 1), false) as is_first_purchase_month,
        coalesce(bool_or(purchase_number = 2), false) as is_second_purchase_month,
        max(ordered_on) filter (where is_purchase) as last_purchase_on,
        max(previous_purchase_on) filter (where is_purchase) as second_last_purchase_on,
        max(days_since_previous_purchase) filter (where purchase_number = 2)
            as days_first_to_second_purchase,
        sum(net_revenue) as net_revenue_amount,
        sum(gross_margin_amount) as gross_margin_amount
    from orders_in_months
    group by customer_id, month_start_on
),

first_purchase_months as (
    select
        customer_id,
        month_start_on as first_purchase_month_start_on
    from customer_months
    where is_first_purchase_month
    {%- if appending %}

    union all

    -- the first purchases in the months kept (the pre-hook removed the others)
    select
        customer_id,
        month_start_on as first_purchase_month_start_on
    from {{ this }}
    where is_first_purchase_month
    {%- endif %}
),

final as (
    select
        customer_months.customer_id,
        customer_months.month_start_on,
        first_purchase_months.first_purchase_month_start_on,
        customer_months.has_purchase,
        customer_months.purchase_order_count,
        customer_months.is_first_purchase_month,
        customer_months.is_second_purchase_month,
        customer_months.last_purchase_on,
        customer_months.second_last_purchase_on,
        customer_months.days_first_to_second_purchase,
        customer_months.net_revenue_amount,
        customer_months.gross_margin_amount
    from customer_months
    left join first_purchase_months
        on customer_months.customer_id = first_purchase_months.customer_id
)

select * from final
