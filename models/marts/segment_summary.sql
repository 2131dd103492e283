{#
    One row per scheme and segment as of the as-of date, for rfm_grid, rfm8 and the active
    scheme: the as-of month end of report_segment_months (customers, shares, revenue, AOV,
    historical CLV and the recommended action; every segment of the rule table listed, with 0
    customers when nobody falls in it), and the mean seed-formula CLV of the segment's
    customers, which only the as-of date has (it needs each customer's CAC and margin).
#}

with

segment_months as (
    select * from {{ ref('report_segment_months') }}
),

run_dates as (
    select as_of_date from {{ ref('int_run_dates') }}
),

customers as (
    select * from {{ ref('customers') }}
),

seed_formula_clv as (
    {%- for scheme in segment_schemes() %}
    select
        '{{ scheme }}' as scheme,
        {{ segment_code_column(scheme) }} as segment_code,
        avg(cast(seed_formula_clv_amount as double)) as mean_seed_formula_clv_amount
    from customers
    group by {{ segment_code_column(scheme) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

final as (
    select
        run_dates.as_of_date,
        segment_months.scheme,
        segment_months.is_active_scheme,
        segment_months.segment_code,
        segment_months.segment_priority,
        segment_months.segment_name_en,
        segment_months.segment_name_zh,
        segment_months.action_en,
        segment_months.action_zh,
        segment_months.customer_count,
        segment_months.customer_share_rate,
        segment_months.monetary_amount,
        segment_months.revenue_share_rate,
        segment_months.lifetime_net_revenue,
        segment_months.average_order_value_amount,
        segment_months.mean_historical_clv_amount,
        seed_formula_clv.mean_seed_formula_clv_amount,
        segment_months.mean_days_since_last_order,
        segment_months.mean_frequency_orders,
        segment_months.mean_monetary_amount
    from segment_months
    inner join run_dates
        on segment_months.month_end_on = run_dates.as_of_date
    left join seed_formula_clv
        on segment_months.scheme = seed_formula_clv.scheme
        and segment_months.segment_code = seed_formula_clv.segment_code
)

select * from final
