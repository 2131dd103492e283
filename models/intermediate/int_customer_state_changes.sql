{#
    Each customer's running state at every history month end where something changes: the
    month end of a purchase or return, or the first month end after an order has left a
    trailing window. The state holds from month_end_index up to (not including)
    next_change_index; int_customer_month_ends_spined spreads it over those month ends.

    Set-based, without joining every order to every month end: each order becomes a change at
    the month end from which it counts (its own month's end; orders before the history count
    from the first month end) and a reverse change at the first month end it no longer falls
    in a trailing window. An order is in the trailing N-day window of month end E when
    E - N < ordered_on <= E (macro in_trailing_window), i.e. for E in [ordered_on,
    ordered_on + N), so it leaves at the first month end on or after ordered_on + N. Running sums
    over the change rows give the state. A singular test
    (assert_customer_window_matches_trailing_macro) checks this against the macro.
#}
{#- With the default 365-day RFM window, orders leave both windows at the same month end. -#}
{%- set window_is_year = (var('rfm_window_days') | int) == 365 %}

with

month_ends as (
    select
        month_end_index,
        month_end_on,
        month_start_on
    from {{ ref('int_month_ends') }}
),

customer_orders as (
    select
        customer_id,
        ordered_on,
        is_purchase,
        previous_purchase_on,
        net_revenue,
        gross_margin_amount
    from {{ ref('int_customer_orders') }}
),

history_bounds as (
    select
        min(month_start_on) as first_month_start_on,
        max(month_end_on) as as_of_date,
        cast(count(*) as integer) as month_end_count
    from month_ends
),

orders_positioned as (
    select
        customer_orders.customer_id,
        customer_orders.ordered_on,
        customer_orders.is_purchase,
        customer_orders.net_revenue,
        customer_orders.gross_margin_amount,
        cast({{ month_diff('history_bounds.first_month_start_on', 'customer_orders.ordered_on') }} as integer)
            as order_month_index,
        {{ month_end_index_on_or_after('customer_orders.ordered_on') }} as entry_index,
        {{ month_end_index_on_or_after(trailing_window_ends_on('customer_orders.ordered_on', var('rfm_window_days') | int)) }}
            as window_exit_index,
        {{ month_end_index_on_or_after(trailing_window_ends_on('customer_orders.ordered_on', 365)) }} as trailing_year_exit_index,
        history_bounds.month_end_count,
        coalesce(
            customer_orders.is_purchase
            and {{ is_churned('customer_orders.previous_purchase_on', 'customer_orders.ordered_on') }},
            false
        ) as is_reactivation
    from customer_orders
    cross join history_bounds
    where customer_orders.ordered_on <= history_bounds.as_of_date
),

order_events as (
    -- each order as events: it enters (kind 0) at the month end of its own month and leaves the
    -- RFM window (kind 1) and the 365-day window (kind 2; the same event as kind 1 when
    -- rfm_window_days is 365) at the first month end on or after its exit day
    select
        customer_id,
        ordered_on,
        is_purchase,
        net_revenue,
        gross_margin_amount,
        order_month_index,
        is_reactivation,
        month_end_count,
        {{ unnest_zipped({
            'month_end_index': ['entry_index', 'window_exit_index'] + ([] if window_is_year else ['trailing_year_exit_index']),
            'event_kind': ['0', '1'] + ([] if window_is_year else ['2']),
        }) }}
    from orders_positioned
),

event_amounts as (
    -- what each event adds to its month end's changes (0 / null when it adds nothing), so the
    -- aggregation below is plain sums, mins and maxes: at 10M events ~30 % cheaper than the
    -- same aggregates with filter (where ...)
    select
        customer_id,
        month_end_index,
        cast(event_kind = 0 and is_purchase as integer) as entered_purchases,
        cast(event_kind = 1 and is_purchase as integer) as window_left_purchases,
        cast(event_kind = {{ 1 if window_is_year else 2 }} and is_purchase as integer)
            as trailing_year_left_purchases,
        case when event_kind = 0 then net_revenue else 0 end as entered_net_revenue,
        case when event_kind = 0 then gross_margin_amount else 0 end as entered_gross_margin_amount,
        case event_kind when 0 then net_revenue when 1 then -net_revenue else 0 end
            as window_net_revenue_change,
        case when event_kind = 0 and is_purchase then ordered_on end as entered_purchase_on,
        event_kind = 0 and order_month_index = month_end_index as is_own_month_entry,
        is_reactivation,
        month_end_count
    from order_events
),

changes as (
    -- one row per customer and month end with an event: the changes of the running totals
    select
        customer_id,
        month_end_index,
        cast(sum(entered_purchases) as bigint) as order_change,
        cast(sum(entered_net_revenue) as decimal(18, 4)) as net_revenue_change,
        cast(sum(entered_gross_margin_amount) as decimal(18, 4)) as gross_margin_change,
        cast(sum(entered_purchases) - sum(window_left_purchases) as bigint) as window_order_change,
        cast(sum(window_net_revenue_change) as decimal(18, 4)) as window_net_revenue_change,
        cast(sum(entered_purchases) - sum(trailing_year_left_purchases) as bigint)
            as trailing_year_order_change,
        min(entered_purchase_on) as first_order_on,
        max(entered_purchase_on) as last_order_on,
        cast(sum(case when is_own_month_entry then entered_purchases else 0 end) as bigint)
            as month_orders,
        cast(sum(case when is_own_month_entry then entered_net_revenue else 0 end)
            as decimal(18, 4)) as month_net_revenue,
        bool_or(is_own_month_entry and is_reactivation) as has_reactivation_in_month
    from event_amounts
    where month_end_index < month_end_count
    group by customer_id, month_end_index
),

accumulated as (
    -- running totals over the customer's change rows; each row's state holds from its month
    -- end up to the month end before the next change row
    select
        changes.customer_id,
        changes.month_end_index,
        lead(changes.month_end_index, 1, history_bounds.month_end_count)
            over customer_order as next_change_index,
        sum(changes.order_change) over running as lifetime_orders,
        sum(changes.net_revenue_change) over running as lifetime_net_revenue,
        sum(changes.gross_margin_change) over running as lifetime_gross_margin_amount,
        sum(changes.window_order_change) over running as frequency_orders,
        sum(changes.window_net_revenue_change) over running as monetary_amount,
        sum(changes.trailing_year_order_change) over running as trailing_year_orders,
        min(changes.first_order_on) over running as first_order_on,
        max(changes.last_order_on) over running as last_order_on,
        max(changes.last_order_on) over before_this_change as last_order_before_change_on,
        changes.order_change,
        changes.window_order_change,
        changes.window_net_revenue_change,
        changes.month_orders,
        changes.month_net_revenue,
        changes.has_reactivation_in_month
    from changes
    cross join history_bounds
    window
        customer_order as (partition by changes.customer_id order by changes.month_end_index),
        running as (
            partition by changes.customer_id
            order by changes.month_end_index
            rows between unbounded preceding and current row
        ),
        before_this_change as (
            partition by changes.customer_id
            order by changes.month_end_index
            rows between unbounded preceding and 1 preceding
        )
),

final as (
    select
        customer_id,
        month_end_index,
        cast(next_change_index as integer) as next_change_index,
        cast(lifetime_orders as integer) as lifetime_orders,
        cast(lifetime_net_revenue as decimal(18, 4)) as lifetime_net_revenue,
        cast(lifetime_gross_margin_amount as decimal(18, 4)) as lifetime_gross_margin_amount,
        cast(frequency_orders as integer) as frequency_orders,
        cast(monetary_amount as decimal(18, 4)) as monetary_amount,
        cast(trailing_year_orders as integer) as trailing_year_orders,
        first_order_on,
        last_order_on,
        last_order_before_change_on,
        cast(order_change as integer) as order_change,
        cast(window_order_change as integer) as window_order_change,
        window_net_revenue_change,
        cast(month_orders as integer) as month_orders,
        month_net_revenue,
        has_reactivation_in_month
    from accumulated
    -- rows before the first purchase (a return-only order) carry no customer state
    where lifetime_orders >= 1
)

select * from final
