{#-
    Monthly KPIs (DESIGN sec. 8, seed 003): one row per month of int_months_spined (first
    order month to the as-of month). Revenue, orders and margin cover every clean order, guest
    sales and return-only orders included; customer KPIs cover known customers only.

    Customer state at a month end (purchase in the trailing window, two purchases in it, not
    churned) is counted without a customer x month grid: int_customer_purchase_spans gives each
    state's start (its purchase month) and stop day, and the day a customer crossed into churn;
    here the starts (+1) and stops (-1) are summed by month and accumulated. The singular test
    assert_kpi_customer_states_match_direct_count recounts the states customer by customer.

    Prospects (registered customers without a purchase yet, macro is_prospect) come from
    int_registrations_converted: each registration is paired only with the months it can count
    in (from its sign-up month, or every month when the date is unknown, to its first purchase
    month, or every later month without one), so buyers who sign up shortly before their first
    purchase add a month or two each, not one row per month.
-#}

with

months as (
    select * from {{ ref('int_months_spined') }}
),

orders as (
    select * from {{ ref('int_orders_netted') }}
),

customer_months as (
    select * from {{ ref('int_customer_month_activity') }}
),

purchase_spans as (
    select * from {{ ref('int_customer_purchase_spans') }}
),

customers as (
    select * from {{ ref('stg_customers') }}
    where quarantine_reason is null
),

registrations as (
    select * from {{ ref('int_registrations_converted') }}
),

-- every clean order on or before the as-of date, in its month (guests and returns included)
orders_in_months as (
    select
        months.month_start_on,
        orders.is_guest,
        orders.is_purchase,
        orders.net_revenue,
        orders.gross_margin_amount
    from orders
    inner join months
        on orders.order_month = months.month_start_on
        and orders.ordered_on <= months.month_end_on
),

orders_by_month as (
    select
        month_start_on,
        sum(net_revenue) as net_revenue_amount,
        coalesce(sum(net_revenue) filter (where not is_guest), 0) as customer_net_revenue_amount,
        sum(gross_margin_amount) as gross_margin_amount,
        count(*) filter (where is_purchase) as order_count,
        count(*) filter (where is_purchase and is_guest) as guest_order_count
    from orders_in_months
    group by month_start_on
),

state_changes as (
    select
        month_start_on as changed_on,
        1 as trailing_customer_change,
        case when second_last_purchase_on is not null then 1 else 0 end
            as trailing_repeat_customer_change,
        1 as not_churned_customer_change
    from purchase_spans
    union all
    select trailing_purchase_ends_on, -1, 0, 0
    from purchase_spans
    union all
    select trailing_repeat_ends_on, 0, -1, 0
    from purchase_spans
    where second_last_purchase_on is not null
    union all
    select not_churned_ends_on, 0, 0, -1
    from purchase_spans
),

-- a change counts from the month it falls in; changes after the as-of date drop out
state_changes_by_month as (
    select
        months.month_start_on,
        sum(state_changes.trailing_customer_change) as trailing_customer_change,
        sum(state_changes.trailing_repeat_customer_change) as trailing_repeat_customer_change,
        sum(state_changes.not_churned_customer_change) as not_churned_customer_change
    from state_changes
    inner join months
        on cast(date_trunc('month', state_changes.changed_on) as date) = months.month_start_on
        and state_changes.changed_on <= months.month_end_on
    group by months.month_start_on
),

-- crossed into churn during the month (int_customer_purchase_spans says on which day)
churn_crossings_by_month as (
    select
        months.month_start_on,
        count(*) as churned_customer_count
    from purchase_spans
    inner join months
        on cast(date_trunc('month', purchase_spans.churn_crossed_on) as date) = months.month_start_on
        and purchase_spans.churn_crossed_on <= months.month_end_on
    group by months.month_start_on
),

customers_by_month as (
    select
        month_start_on,
        count(*) as active_customer_count,
        count(*) filter (where is_first_purchase_month) as new_customer_count
    from purchase_spans
    group by month_start_on
),

second_purchases_by_month as (
    select
        month_start_on,
        count(*) as second_purchase_customer_count,
        cast({{ quantile_cont_of('days_first_to_second_purchase', 0.5) }} as double)
            as median_days_first_to_second_purchase
    from customer_months
    where is_second_purchase_month
    group by month_start_on
),

customer_first_purchase_months as (
    select
        customer_id,
        month_start_on as first_purchase_month_start_on
    from customer_months
    where is_first_purchase_month
),

-- an order adds to its customer's lifetime value from its month, or from the customer's first
-- purchase month when it came earlier (a return-only order before the first purchase)
lifetime_value_changes_by_month as (
    select
        greatest(month_start_on, first_purchase_month_start_on) as month_start_on,
        sum(net_revenue_amount) as lifetime_net_revenue_change_amount,
        sum(gross_margin_amount) as lifetime_gross_margin_change_amount
    from customer_months
    where first_purchase_month_start_on is not null
    group by 1
),

acquisition_costs_by_month as (
    select
        customer_first_purchase_months.first_purchase_month_start_on as month_start_on,
        sum(coalesce(customers.acquisition_cost, 0)) as acquisition_cost_change_amount
    from customer_first_purchase_months
    left join customers
        on customer_first_purchase_months.customer_id = customers.customer_id
    group by 1
),

-- each registration in the months it can count in (see the header), with its prospect flags:
-- a prospect at the previous month end, or a sign-up of the month with no purchase before
-- signing up (a first purchase on the sign-up day counts as after it)
registration_months as (
    select
        months.month_start_on,
        months.month_end_on,
        registrations.signed_up_on,
        registrations.first_purchase_on,
        {{ is_prospect(
            'registrations.signed_up_on', 'registrations.first_purchase_on',
            'months.previous_month_end_on') }} as is_prospect_at_month_start,
        coalesce(
            registrations.signed_up_on between months.month_start_on and months.month_end_on
            and coalesce(registrations.first_purchase_on >= registrations.signed_up_on, true),
            false
        ) as is_signup_prospect_of_month
    from registrations
    inner join months
        on coalesce(registrations.signed_up_on, cast('0001-01-01' as date)) <= months.month_end_on
        and coalesce(registrations.first_purchase_on, cast('9999-12-31' as date))
            >= months.month_start_on
),

prospects_by_month as (
    select
        month_start_on,
        count(*) filter (where is_prospect_at_month_start) as prospects_at_month_start,
        count(*) filter (
            where is_prospect_at_month_start or is_signup_prospect_of_month
        ) as prospect_pool,
        count(*) filter (
            where (is_prospect_at_month_start or is_signup_prospect_of_month)
                and first_purchase_on between month_start_on and month_end_on
        ) as prospects_converted,
        count(*) filter (
            where {{ is_prospect('signed_up_on', 'first_purchase_on', 'month_end_on') }}
        ) as prospects_at_month_end
    from registration_months
    group by month_start_on
),

signups_by_month as (
    select
        months.month_start_on,
        count(*) as new_signups
    from registrations
    inner join months
        on cast(date_trunc('month', registrations.signed_up_on) as date) = months.month_start_on
        and registrations.signed_up_on <= months.month_end_on
    group by months.month_start_on
),

months_joined as (
    select
        months.month_start_on,
        months.month_end_on,
        months.is_complete_month,
        coalesce(orders_by_month.net_revenue_amount, 0) as net_revenue_amount,
        coalesce(orders_by_month.customer_net_revenue_amount, 0) as customer_net_revenue_amount,
        coalesce(orders_by_month.gross_margin_amount, 0) as gross_margin_amount,
        coalesce(orders_by_month.order_count, 0) as order_count,
        coalesce(orders_by_month.guest_order_count, 0) as guest_order_count,
        coalesce(customers_by_month.active_customer_count, 0) as active_customer_count,
        coalesce(customers_by_month.new_customer_count, 0) as new_customer_count,
        coalesce(state_changes_by_month.trailing_customer_change, 0) as trailing_customer_change,
        coalesce(state_changes_by_month.trailing_repeat_customer_change, 0)
            as trailing_repeat_customer_change,
        coalesce(state_changes_by_month.not_churned_customer_change, 0)
            as not_churned_customer_change,
        coalesce(churn_crossings_by_month.churned_customer_count, 0) as churned_customer_count,
        coalesce(second_purchases_by_month.second_purchase_customer_count, 0)
            as second_purchase_customer_count,
        second_purchases_by_month.median_days_first_to_second_purchase,
        coalesce(lifetime_value_changes_by_month.lifetime_net_revenue_change_amount, 0)
            as lifetime_net_revenue_change_amount,
        coalesce(lifetime_value_changes_by_month.lifetime_gross_margin_change_amount, 0)
            as lifetime_gross_margin_change_amount,
        coalesce(acquisition_costs_by_month.acquisition_cost_change_amount, 0)
            as acquisition_cost_change_amount,
        coalesce(prospects_by_month.prospects_at_month_start, 0) as prospects_at_month_start,
        coalesce(signups_by_month.new_signups, 0) as new_signups,
        coalesce(prospects_by_month.prospect_pool, 0) as prospect_pool,
        coalesce(prospects_by_month.prospects_converted, 0) as prospects_converted,
        coalesce(prospects_by_month.prospects_at_month_end, 0) as prospects_at_month_end
    from months
    left join orders_by_month
        on months.month_start_on = orders_by_month.month_start_on
    left join customers_by_month
        on months.month_start_on = customers_by_month.month_start_on
    left join state_changes_by_month
        on months.month_start_on = state_changes_by_month.month_start_on
    left join churn_crossings_by_month
        on months.month_start_on = churn_crossings_by_month.month_start_on
    left join second_purchases_by_month
        on months.month_start_on = second_purchases_by_month.month_start_on
    left join lifetime_value_changes_by_month
        on months.month_start_on = lifetime_value_changes_by_month.month_start_on
    left join acquisition_costs_by_month
        on months.month_start_on = acquisition_costs_by_month.month_start_on
    left join prospects_by_month
        on months.month_start_on = prospects_by_month.month_start_on
    left join signups_by_month
        on months.month_start_on = signups_by_month.month_start_on
),

months_accumulated as (
    select
        *,
        cast(sum(trailing_customer_change) over months_so_far as bigint)
            as trailing_customer_count,
        cast(sum(trailing_repeat_customer_change) over months_so_far as bigint)
            as trailing_repeat_customer_count,
        cast(sum(not_churned_customer_change) over months_so_far as bigint)
            as not_churned_at_month_end_count,
        cast(sum(new_customer_count) over months_so_far as bigint) as lifetime_customer_count,
        sum(lifetime_net_revenue_change_amount) over months_so_far
            as lifetime_net_revenue_amount,
        sum(lifetime_gross_margin_change_amount) over months_so_far
            as lifetime_gross_margin_amount,
        sum(acquisition_cost_change_amount) over months_so_far as acquisition_cost_amount
    from months_joined
    window months_so_far as (
        order by month_start_on rows between unbounded preceding and current row
    )
),

months_with_start_state as (
    select
        *,
        coalesce(
            lag(not_churned_at_month_end_count) over (order by month_start_on), 0
        ) as not_churned_at_month_start_count
    from months_accumulated
),

final as (
    select
        month_start_on,
        month_end_on,
        is_complete_month,
        net_revenue_amount,
        customer_net_revenue_amount,
        order_count,
        guest_order_count,
        cast(net_revenue_amount as double) / nullif(order_count, 0) as aov_amount,
        active_customer_count,
        new_customer_count,
        active_customer_count - new_customer_count as returning_customer_count,
        cast(customer_net_revenue_amount as double) / nullif(active_customer_count, 0)
            as revenue_per_active_customer_amount,
        trailing_customer_count,
        trailing_repeat_customer_count,
        cast(trailing_repeat_customer_count as double) / nullif(trailing_customer_count, 0)
            as repeat_rate,
        not_churned_at_month_start_count,
        churned_customer_count,
        cast(churned_customer_count as double) / nullif(not_churned_at_month_start_count, 0)
            as churn_rate,
        not_churned_at_month_end_count,
        cast(active_customer_count as double) / nullif(not_churned_at_month_end_count, 0)
            as activity_rate,
        second_purchase_customer_count,
        median_days_first_to_second_purchase,
        lifetime_customer_count,
        lifetime_net_revenue_amount,
        cast(lifetime_net_revenue_amount as double) / nullif(lifetime_customer_count, 0)
            as historical_clv_amount,
        lifetime_gross_margin_amount,
        acquisition_cost_amount,
        cast(lifetime_gross_margin_amount - acquisition_cost_amount as double)
            / nullif(lifetime_customer_count, 0) as seed_formula_clv_amount,
        gross_margin_amount,
        cast(gross_margin_amount as double) / nullif(net_revenue_amount, 0)
            as gross_margin_rate,
        cast(prospects_at_month_start as bigint) as prospects_at_month_start,
        cast(new_signups as bigint) as new_signups,
        cast(prospect_pool as bigint) as prospect_pool,
        cast(prospects_converted as bigint) as prospects_converted,
        cast(prospects_converted as double) / nullif(prospect_pool, 0)
            as prospect_conversion_rate,
        cast(prospects_at_month_end as bigint) as prospects_at_month_end
    from months_with_start_state
)

select * from final
