{#
    One row per scheme and segment as of the as-of date, for rfm_grid, rfm8 and the active scheme:
    customers, shares, revenue, AOV, CLV and the recommended action. Every segment of the rule
    table is listed, with 0 customers when nobody falls in it, so the report always shows all.
#}

with

customers as (
    select * from {{ ref('customers') }}
),

run_dates as (
    select as_of_date from {{ ref('int_run_dates') }}
),

segments as (
    select * from {{ ref('int_segments') }}
    where scheme in ('{{ segment_schemes() | join("', '") }}')
),

customer_segments as (
    {%- for scheme in segment_schemes() %}
    select
        '{{ scheme }}' as scheme,
        {{ segment_code_column(scheme) }} as segment_code,
        days_since_last_order,
        frequency_orders,
        monetary_amount,
        lifetime_orders,
        lifetime_net_revenue,
        seed_formula_clv_amount
    from customers
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

segment_totals as (
    select
        scheme,
        segment_code,
        count(*) as customer_count,
        sum(monetary_amount) as monetary_amount,
        sum(lifetime_orders) as lifetime_orders,
        sum(lifetime_net_revenue) as lifetime_net_revenue,
        avg(cast(lifetime_net_revenue as double)) as mean_historical_clv_amount,
        avg(cast(seed_formula_clv_amount as double)) as mean_seed_formula_clv_amount,
        avg(cast(days_since_last_order as double)) as mean_days_since_last_order,
        avg(cast(frequency_orders as double)) as mean_frequency_orders,
        avg(cast(monetary_amount as double)) as mean_monetary_amount
    from customer_segments
    group by scheme, segment_code
),

scheme_totals as (
    select
        scheme,
        sum(customer_count) as customer_count,
        sum(monetary_amount) as monetary_amount
    from segment_totals
    group by scheme
),

final as (
    select
        run_dates.as_of_date,
        segments.scheme,
        segments.scheme = '{{ var("segment_scheme") }}' as is_active_scheme,
        segments.segment_code,
        segments.priority as segment_priority,
        segments.segment_name_en,
        segments.segment_name_zh,
        segments.action_en,
        segments.action_zh,
        coalesce(segment_totals.customer_count, 0) as customer_count,
        coalesce(cast(segment_totals.customer_count as double) / nullif(scheme_totals.customer_count, 0), 0)
            as customer_share_rate,
        coalesce(segment_totals.monetary_amount, 0) as monetary_amount,
        coalesce(cast(segment_totals.monetary_amount as double), 0)
            / nullif(cast(scheme_totals.monetary_amount as double), 0) as revenue_share_rate,
        coalesce(segment_totals.lifetime_net_revenue, 0) as lifetime_net_revenue,
        cast(segment_totals.lifetime_net_revenue as double)
            / nullif(segment_totals.lifetime_orders, 0) as average_order_value_amount,
        segment_totals.mean_historical_clv_amount,
        segment_totals.mean_seed_formula_clv_amount,
        segment_totals.mean_days_since_last_order,
        segment_totals.mean_frequency_orders,
        segment_totals.mean_monetary_amount
    from segments
    cross join run_dates
    left join segment_totals
        on segments.scheme = segment_totals.scheme
        and segments.segment_code = segment_totals.segment_code
    left join scheme_totals
        on segments.scheme = scheme_totals.scheme
)

select * from final
