{#
    report_segment_months at the as-of date must give the figures of segment_summary (the
    report reads the former for every month, other tools read the latter). Returns the rows
    that differ.
#}

with

summary as (
    select * from {{ ref('segment_summary') }}
),

months as (
    select * from {{ ref('report_segment_months') }}
    where month_end_on = (select as_of_date from {{ ref('int_run_dates') }})
),

compared as (
    select
        coalesce(summary.scheme, months.scheme) as scheme,
        coalesce(summary.segment_code, months.segment_code) as segment_code,
        summary.customer_count as summary_customer_count,
        months.customer_count as month_customer_count
    from summary
    full outer join months
        on summary.scheme = months.scheme
        and summary.segment_code = months.segment_code
    where summary.segment_code is null
        or months.segment_code is null
        or summary.customer_count <> months.customer_count
        or summary.monetary_amount <> months.monetary_amount
        or summary.lifetime_net_revenue <> months.lifetime_net_revenue
        or abs(coalesce(summary.customer_share_rate, 0) - coalesce(months.customer_share_rate, 0)) > 1e-9
        or abs(coalesce(summary.revenue_share_rate, 0) - coalesce(months.revenue_share_rate, 0)) > 1e-9
        or abs(coalesce(summary.average_order_value_amount, 0) - coalesce(months.average_order_value_amount, 0)) > 1e-6
        or abs(coalesce(summary.mean_historical_clv_amount, 0) - coalesce(months.mean_historical_clv_amount, 0)) > 1e-6
)

select * from compared
