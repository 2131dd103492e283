{#-
    One row per customer and purchase day up to the as-of date: purchases (net quantity > 0)
    merged per calendar day, their net revenue summed (DESIGN sec. 7: two orders on one day
    are one purchase day). The input of the RFM summary and of the holdout report card.
    Return-only orders are not purchases and do not appear.

    Incremental by customer: an appending build (new monthly transactions files, issue 15)
    deletes and writes again only the rows of int_appended_customers (a customer's days
    depend on their orders and on the as-of date: that set holds every customer with an order
    the build changed or with an order day between the two as-of dates); every other build
    replaces the table.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    full_refresh=full_refresh_unless_appending(),
    on_schema_change='fail',
    pre_hook="{{ clear_recomputed_customers() }}",
) }}
-- depends_on: {{ ref('int_appended_customers') }}
with

customer_orders as (
    select * from {{ ref('int_customer_orders') }}
    {%- if is_appending() %}
    where customer_id in ({{ appended_customer_ids() }})
    {%- endif %}
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
