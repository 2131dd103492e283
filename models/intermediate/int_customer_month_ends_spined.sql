{#
    Every customer's state at every month end of the history (int_month_ends), from the first
    month end at which the customer has a purchase: lifetime facts, F and M over the trailing
    rfm_window_days, purchases in the trailing 365 days (loyal stage), the month's own
    purchases, revenue and reactivation, and the state at the previous month end (previous_*,
    for segment migration). Each change row of int_customer_state_changes holds from its month
    up to the month of the next change, so it is joined to the month ends of those months (a
    range join, not an unnest of every row: a reader that wants a few month ends, as an
    appending build does, has its month-end filter applied to the month ends before the join;
    at 1M customers the unnest spread all 10M rows first, 3 CPU-s for 1.5M kept). Rows before
    the history reach it only as the state its first month end starts from. A view: the
    history, the cut points and the customers read only what they need from it.
#}

with

month_ends as (
    select
        month_end_index,
        month_end_on,
        month_start_on,
        previous_month_end_on
    from {{ ref('int_month_ends') }}
),

state_changes as (
    select * from {{ ref('int_customer_state_changes') }}
),

spread as (
    -- the change row of each month end, from the row's month up to the next change row's month
    select
        state_changes.*,
        month_ends.month_end_index as state_month_end_index,
        month_ends.month_end_on,
        month_ends.month_start_on as month_end_month_start_on,
        month_ends.previous_month_end_on,
        month_ends.month_start_on = state_changes.month_start_on as is_change_month
    from state_changes
    inner join month_ends
        on month_ends.month_start_on >= state_changes.month_start_on
        and month_ends.month_start_on < coalesce(
            state_changes.next_change_month_start_on, cast('9999-12-01' as date)
        )
),

final as (
    select
        spread.month_end_on,
        spread.month_end_month_start_on as month_start_on,
        spread.customer_id,
        spread.first_order_on,
        spread.last_order_on,
        cast({{ days_between('spread.last_order_on', 'spread.month_end_on') }} as integer) as days_since_last_order,
        spread.lifetime_orders,
        spread.lifetime_net_revenue,
        spread.lifetime_gross_margin_amount,
        case
            when spread.lifetime_orders > 1
                then cast({{ days_between('spread.first_order_on', 'spread.last_order_on') }} as double)
                    / (spread.lifetime_orders - 1)
        end as average_days_between_orders,
        spread.frequency_orders,
        spread.monetary_amount,
        spread.trailing_year_orders,
        case when spread.is_change_month then spread.month_orders else 0 end as month_orders,
        case
            when spread.is_change_month then spread.month_net_revenue else 0
        end as month_net_revenue,
        spread.is_change_month and spread.has_reactivation_in_month as has_reactivation_in_month,
        -- the state at the previous month end (null: no purchase by then, or the first month end)
        spread.previous_month_end_on,
        case
            when spread.state_month_end_index = 0 then null
            when not spread.is_change_month then spread.last_order_on
            when spread.lifetime_orders - spread.month_orders >= 1
                then spread.last_order_before_change_on
        end as previous_last_order_on,
        cast(case
            when spread.state_month_end_index = 0 then null
            when not spread.is_change_month then spread.lifetime_orders
            when spread.lifetime_orders - spread.month_orders >= 1
                then spread.lifetime_orders - spread.month_orders
        end as integer) as previous_lifetime_orders,
        cast(case
            when spread.state_month_end_index = 0 then null
            when not spread.is_change_month then spread.frequency_orders
            when spread.lifetime_orders - spread.month_orders >= 1
                then spread.frequency_orders - spread.window_order_change
        end as integer) as previous_frequency_orders,
        cast(case
            when spread.state_month_end_index = 0 then null
            when not spread.is_change_month then spread.monetary_amount
            when spread.lifetime_orders - spread.month_orders >= 1
                then spread.monetary_amount - spread.window_net_revenue_change
        end as decimal(18, 4)) as previous_monetary_amount
    from spread
)

select * from final
