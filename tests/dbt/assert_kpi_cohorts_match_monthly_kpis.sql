{#-
    cohort_retention and monthly_kpis agree: per month, the cohorts' active customers add up to
    the month's active customers, the cohort of a month is as large as the month's new
    customers, and the cohorts' cumulative revenue adds up to the lifetime net revenue of the
    customers with a purchase so far. Returns the months where they differ.
-#}
with

monthly_kpis as (
    select * from {{ ref('monthly_kpis') }}
),

cohort_retention as (
    select * from {{ ref('cohort_retention') }}
),

cohorts_by_month as (
    select
        activity_month_start_on as month_start_on,
        sum(active_customer_count) as active_customer_count,
        sum(cohort_customer_count) filter (where months_since_first_purchase = 0)
            as new_customer_count,
        sum(cumulative_net_revenue_amount) as lifetime_net_revenue_amount
    from cohort_retention
    group by activity_month_start_on
),

final as (
    select
        monthly_kpis.month_start_on,
        monthly_kpis.active_customer_count,
        cohorts_by_month.active_customer_count as cohort_active_customer_count,
        monthly_kpis.new_customer_count,
        cohorts_by_month.new_customer_count as cohort_new_customer_count,
        monthly_kpis.lifetime_net_revenue_amount,
        cohorts_by_month.lifetime_net_revenue_amount as cohort_lifetime_net_revenue_amount
    from monthly_kpis
    left join cohorts_by_month
        on monthly_kpis.month_start_on = cohorts_by_month.month_start_on
    where monthly_kpis.active_customer_count <> coalesce(cohorts_by_month.active_customer_count, 0)
        or monthly_kpis.new_customer_count <> coalesce(cohorts_by_month.new_customer_count, 0)
        or monthly_kpis.lifetime_net_revenue_amount
            <> coalesce(cohorts_by_month.lifetime_net_revenue_amount, 0)
)

select * from final
