{#-
    The customer's state over time, one row per customer and month with a purchase (a span: from
    that month up to the next month with a purchase). Between two purchase months a customer's
    latest purchase and the one before it stay the same, so each state (a purchase in the
    trailing repeat window, two purchases in it, not churned) holds from the span's month until
    the first day it stops holding, or until the next span starts. This is the one place that
    works out when a customer churns; monthly_kpis only counts these rows. The days come from
    the shared rules (macros/customer_state.sql):
      trailing_window_ends_on(purchase, N)  the first day the purchase is out of the window;
      churned_on(last purchase)             the first day the customer counts as churned.
-#}
{%- set repeat_window_days = var('repeat_window_days', 365) -%}

with

customer_months as (
    select * from {{ ref('int_customer_month_activity') }}
),

purchase_months as (
    select
        customer_id,
        month_start_on,
        is_first_purchase_month,
        last_purchase_on,
        second_last_purchase_on,
        lag(last_purchase_on) over customer_purchase_months as last_purchase_before_month_on,
        lead(month_start_on) over customer_purchase_months as next_purchase_month_start_on,
        {{ churned_on('last_purchase_on') }} as churned_on
    from customer_months
    where has_purchase
    window customer_purchase_months as (partition by customer_id order by month_start_on)
),

-- a state stops holding on its first false day, or when the next span starts, never before
-- the span's own month
spans as (
    select
        *,
        greatest(
            month_start_on,
            least(
                next_purchase_month_start_on,
                {{ trailing_window_ends_on('last_purchase_on', repeat_window_days) }}
            )
        ) as trailing_purchase_ends_on,
        case
            when second_last_purchase_on is not null then greatest(
                month_start_on,
                least(
                    next_purchase_month_start_on,
                    {{ trailing_window_ends_on('second_last_purchase_on', repeat_window_days) }}
                )
            )
        end as trailing_repeat_ends_on,
        greatest(month_start_on, least(next_purchase_month_start_on, churned_on))
            as not_churned_ends_on,
        cast(date_trunc('month', churned_on) as date) as churned_month_start_on
    from purchase_months
),

final as (
    select
        customer_id,
        month_start_on,
        is_first_purchase_month,
        last_purchase_on,
        second_last_purchase_on,
        last_purchase_before_month_on,
        next_purchase_month_start_on,
        trailing_purchase_ends_on,
        trailing_repeat_ends_on,
        not_churned_ends_on,
        -- churned during a month: churned at its end and not at the end of the month before.
        -- Churn comes on churned_on unless the next purchase month starts first. When
        -- churned_on falls in the span's own month (churn_days under a month), the state at
        -- the previous month end is that of the purchase before the span.
        case
            when churned_month_start_on < coalesce(next_purchase_month_start_on, cast('9999-12-31' as date))
                and (
                    churned_month_start_on > month_start_on
                    or (
                        last_purchase_before_month_on is not null
                        and not {{ is_churned('last_purchase_before_month_on', 'month_start_on - 1') }}
                    )
                )
                then churned_on
        end as churn_crossed_on
    from spans
)

select * from final
