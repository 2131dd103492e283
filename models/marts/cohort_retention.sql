{#-
    Cohort retention (DESIGN sec. 8): a customer's cohort is the month of their first purchase;
    for every cohort and every month from the cohort month to the as-of month, the share of the
    cohort that made a purchase in that month and the cohort's net revenue. Orders on or before
    the as-of date only; guests are not in any cohort. A customer's return-only order dated
    before their first purchase counts in the cohort month (as in monthly_kpis' lifetime value),
    so the cumulative revenue of all cohorts equals the customers' lifetime net revenue.
-#}
with

months as (
    select * from {{ ref('int_months_spined') }}
),

customer_months as (
    select * from {{ ref('int_customer_month_activity') }}
),

cohort_members as (
    select
        customer_id,
        month_start_on as cohort_month_start_on
    from customer_months
    where is_first_purchase_month
),

cohort_sizes as (
    select
        cohort_month_start_on,
        count(*) as cohort_customer_count
    from cohort_members
    group by cohort_month_start_on
),

cohort_grid as (
    select
        cohort_sizes.cohort_month_start_on,
        months.month_start_on as activity_month_start_on,
        months.is_complete_month,
        cohort_sizes.cohort_customer_count
    from cohort_sizes
    inner join months
        on months.month_start_on >= cohort_sizes.cohort_month_start_on
),

-- a return-only order before the first purchase counts in the cohort month
member_months as (
    select
        first_purchase_month_start_on as cohort_month_start_on,
        customer_id,
        greatest(month_start_on, first_purchase_month_start_on) as activity_month_start_on,
        bool_or(has_purchase) as has_purchase,
        sum(net_revenue_amount) as net_revenue_amount
    from customer_months
    where first_purchase_month_start_on is not null
    group by 1, 2, 3
),

cohort_months as (
    select
        cohort_month_start_on,
        activity_month_start_on,
        count(*) filter (where has_purchase) as active_customer_count,
        sum(net_revenue_amount) as net_revenue_amount
    from member_months
    group by cohort_month_start_on, activity_month_start_on
),

cohort_grid_filled as (
    select
        cohort_grid.cohort_month_start_on,
        cast(
            {{ month_diff('cohort_grid.cohort_month_start_on', 'cohort_grid.activity_month_start_on') }}
            as integer
        ) as months_since_first_purchase,
        cohort_grid.activity_month_start_on,
        cohort_grid.is_complete_month,
        cohort_grid.cohort_customer_count,
        coalesce(cohort_months.active_customer_count, 0) as active_customer_count,
        coalesce(cohort_months.net_revenue_amount, 0) as net_revenue_amount
    from cohort_grid
    left join cohort_months
        on cohort_grid.cohort_month_start_on = cohort_months.cohort_month_start_on
        and cohort_grid.activity_month_start_on = cohort_months.activity_month_start_on
),

cohort_grid_accumulated as (
    select
        *,
        sum(net_revenue_amount) over (
            partition by cohort_month_start_on
            order by activity_month_start_on
            rows between unbounded preceding and current row
        ) as cumulative_net_revenue_amount
    from cohort_grid_filled
),

final as (
    select
        cohort_month_start_on,
        months_since_first_purchase,
        activity_month_start_on,
        is_complete_month,
        cohort_customer_count,
        active_customer_count,
        cast(active_customer_count as double) / cohort_customer_count as retention_rate,
        net_revenue_amount,
        cumulative_net_revenue_amount,
        cast(cumulative_net_revenue_amount as double) / cohort_customer_count
            as cumulative_revenue_per_customer_amount
    from cohort_grid_accumulated
)

select * from final
