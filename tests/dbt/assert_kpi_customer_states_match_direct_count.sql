{#-
    monthly_kpis counts customer states with start/stop events; this test recounts them for
    the last two months the plain way, customer by customer, with the shared rules
    (in_trailing_window, is_churned), and returns the months where the counts differ.
-#}
{%- set repeat_window_days = var('repeat_window_days', 365) -%}

with

monthly_kpis as (
    select * from {{ ref('monthly_kpis') }}
),

months as (
    select * from {{ ref('int_months_spined') }}
),

customer_orders as (
    select * from {{ ref('int_customer_orders') }}
),

last_two_months as (
    select *
    from months
    order by month_start_on desc
    limit 2
),

purchases as (
    select
        customer_id,
        ordered_on
    from customer_orders
    where is_purchase
),

customer_states as (
    select
        last_two_months.month_start_on,
        last_two_months.month_end_on,
        last_two_months.previous_month_end_on,
        purchases.customer_id,
        count(*) filter (
            where {{ in_trailing_window('purchases.ordered_on', 'last_two_months.month_end_on', repeat_window_days) }}
        ) as trailing_purchase_count,
        max(purchases.ordered_on) filter (
            where purchases.ordered_on <= last_two_months.month_end_on
        ) as last_purchase_on,
        max(purchases.ordered_on) filter (
            where purchases.ordered_on <= last_two_months.previous_month_end_on
        ) as last_purchase_at_month_start_on
    from purchases
    cross join last_two_months
    group by 1, 2, 3, 4
),

customer_flags as (
    select
        month_start_on,
        trailing_purchase_count >= 1 as is_trailing_customer,
        trailing_purchase_count >= 2 as is_trailing_repeat_customer,
        last_purchase_at_month_start_on is not null
            and not {{ is_churned('last_purchase_at_month_start_on', 'previous_month_end_on') }}
            as is_not_churned_at_month_start,
        last_purchase_on is not null
            and not {{ is_churned('last_purchase_on', 'month_end_on') }}
            as is_not_churned_at_month_end
    from customer_states
),

direct_counts as (
    select
        month_start_on,
        count(*) filter (where is_trailing_customer) as trailing_customer_count,
        count(*) filter (where is_trailing_repeat_customer) as trailing_repeat_customer_count,
        count(*) filter (where is_not_churned_at_month_start) as not_churned_at_month_start_count,
        count(*) filter (where is_not_churned_at_month_end) as not_churned_at_month_end_count,
        count(*) filter (
            where is_not_churned_at_month_start and not is_not_churned_at_month_end
        ) as churned_customer_count
    from customer_flags
    group by month_start_on
),

final as (
    select
        last_two_months.month_start_on,
        monthly_kpis.trailing_customer_count,
        direct_counts.trailing_customer_count as direct_trailing_customer_count,
        monthly_kpis.trailing_repeat_customer_count,
        direct_counts.trailing_repeat_customer_count as direct_trailing_repeat_customer_count,
        monthly_kpis.not_churned_at_month_start_count,
        direct_counts.not_churned_at_month_start_count as direct_not_churned_at_month_start_count,
        monthly_kpis.not_churned_at_month_end_count,
        direct_counts.not_churned_at_month_end_count as direct_not_churned_at_month_end_count,
        monthly_kpis.churned_customer_count,
        direct_counts.churned_customer_count as direct_churned_customer_count
    from last_two_months
    left join monthly_kpis
        on last_two_months.month_start_on = monthly_kpis.month_start_on
    left join direct_counts
        on last_two_months.month_start_on = direct_counts.month_start_on
    where monthly_kpis.trailing_customer_count
            is distinct from coalesce(direct_counts.trailing_customer_count, 0)
        or monthly_kpis.trailing_repeat_customer_count
            is distinct from coalesce(direct_counts.trailing_repeat_customer_count, 0)
        or monthly_kpis.not_churned_at_month_start_count
            is distinct from coalesce(direct_counts.not_churned_at_month_start_count, 0)
        or monthly_kpis.not_churned_at_month_end_count
            is distinct from coalesce(direct_counts.not_churned_at_month_end_count, 0)
        or monthly_kpis.churned_customer_count
            is distinct from coalesce(direct_counts.churned_customer_count, 0)
)

select * from final
