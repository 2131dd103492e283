{#
    Every customer's state at every month end of the history (int_month_ends), from the first
    month end at which the customer has a purchase: lifetime facts, F and M over the trailing
    rfm_window_days, purchases in the trailing 365 days (loyal stage), the month's own
    purchases, revenue and reactivation, and the state at the previous month end (previous_*,
    for segment migration). Each change row of int_customer_state_changes holds from its month
    end up to the next change, so it is spread over those month ends (unnest). A view: the
    spreading is cheap, and the history, the cut points and the customers read only what they
    need from it.
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
    -- one row per month end from the change row's month end to the next change row's
    select
        *,
        {{ unnest_range('month_end_index', 'next_change_index') }} as state_month_end_index
    from state_changes
),

spread_marked as (
    select
        *,
        state_month_end_index = month_end_index as is_change_month
    from spread
),

final as (
    select
        month_ends.month_end_on,
        month_ends.month_start_on,
        spread.customer_id,
        spread.first_order_on,
        spread.last_order_on,
        cast({{ days_between('spread.last_order_on', 'month_ends.month_end_on') }} as integer) as days_since_last_order,
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
        month_ends.previous_month_end_on,
        case
            when month_ends.month_end_index = 0 then null
            when not spread.is_change_month then spread.last_order_on
            when spread.lifetime_orders - spread.order_change >= 1
                then spread.last_order_before_change_on
        end as previous_last_order_on,
        cast(case
            when month_ends.month_end_index = 0 then null
            when not spread.is_change_month then spread.lifetime_orders
            when spread.lifetime_orders - spread.order_change >= 1
                then spread.lifetime_orders - spread.order_change
        end as integer) as previous_lifetime_orders,
        cast(case
            when month_ends.month_end_index = 0 then null
            when not spread.is_change_month then spread.frequency_orders
            when spread.lifetime_orders - spread.order_change >= 1
                then spread.frequency_orders - spread.window_order_change
        end as integer) as previous_frequency_orders,
        cast(case
            when month_ends.month_end_index = 0 then null
            when not spread.is_change_month then spread.monetary_amount
            when spread.lifetime_orders - spread.order_change >= 1
                then spread.monetary_amount - spread.window_net_revenue_change
        end as decimal(18, 4)) as previous_monetary_amount
    from spread_marked as spread
    inner join month_ends
        on spread.state_month_end_index = month_ends.month_end_index
)

select * from final
