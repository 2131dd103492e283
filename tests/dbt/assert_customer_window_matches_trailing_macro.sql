{#
    The month-end history computes F, M, the 365-day count and recency with entry/exit changes
    instead of the shared macros. This test recomputes them straight from int_customer_orders
    with macros in_trailing_window and is_churned for the as-of date and returns every customer
    whose figures differ (or who is missing on one side).
#}

with

customer_orders as (
    select * from {{ ref('int_customer_orders') }}
),

history as (
    select * from {{ ref('int_customer_month_ends_spined') }}
    where month_end_on = {{ as_of_date() }}
),

recomputed as (
    select
        customer_id,
        count(*) filter (where is_purchase) as lifetime_orders,
        max(ordered_on) filter (where is_purchase) as last_order_on,
        count(*) filter (
            where is_purchase
            and {{ in_trailing_window('ordered_on', as_of_date(), var('rfm_window_days')) }}
        ) as frequency_orders,
        coalesce(sum(net_revenue) filter (
            where {{ in_trailing_window('ordered_on', as_of_date(), var('rfm_window_days')) }}
        ), 0) as monetary_amount,
        count(*) filter (
            where is_purchase and {{ in_trailing_window('ordered_on', as_of_date(), 365) }}
        ) as trailing_year_orders
    from customer_orders
    where ordered_on <= {{ as_of_date() }}
    group by customer_id
    having count(*) filter (where is_purchase) > 0
),

compared as (
    select
        coalesce(history.customer_id, recomputed.customer_id) as customer_id,
        history.frequency_orders as history_frequency_orders,
        recomputed.frequency_orders as recomputed_frequency_orders,
        history.monetary_amount as history_monetary_amount,
        recomputed.monetary_amount as recomputed_monetary_amount,
        history.trailing_year_orders as history_trailing_year_orders,
        recomputed.trailing_year_orders as recomputed_trailing_year_orders,
        history.lifetime_orders as history_lifetime_orders,
        recomputed.lifetime_orders as recomputed_lifetime_orders,
        history.last_order_on as history_last_order_on,
        recomputed.last_order_on as recomputed_last_order_on
    from history
    full outer join recomputed
        on history.customer_id = recomputed.customer_id
)

select * from compared
where history_frequency_orders is distinct from recomputed_frequency_orders
    or history_monetary_amount is distinct from recomputed_monetary_amount
    or history_trailing_year_orders is distinct from recomputed_trailing_year_orders
    or history_lifetime_orders is distinct from recomputed_lifetime_orders
    or history_last_order_on is distinct from recomputed_last_order_on
