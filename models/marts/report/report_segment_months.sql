{#
    segment_summary for every month end of the customer history, so the report's segment table
    and chart are month-specific: per month end, scheme and segment, the customers, shares,
    revenue, AOV, CLV and recommended action. segment_summary is its as-of month end. Every
    segment of the rule table is listed in every month, with 0 customers when empty.

    Incremental by month end, as int_customer_months_classified (macros/month_increments.sql):
    an appending build recomputes only the month ends the new lines can change.
#}
{{ config(
    materialized='incremental',
    incremental_strategy=keyed_increment_strategy(),
    unique_key='month_end_on',
    full_refresh=full_refresh_unless_appending(),
    on_schema_change='fail',
    post_hook=["{{ drop_month_ends_left_behind() }}"],
) }}
{%- set appending = is_appending() %}
{%- set recomputed = recomputed_month_ends(this) if appending else none %}

with

history as (
    select * from {{ ref('int_customer_months_classified') }}
    {%- if appending %}
    where month_end_on in ({{ recomputed }})
    {%- endif %}
),

month_ends as (
    select month_end_on from {{ ref('int_month_ends') }}
    {%- if appending %}
    where month_end_on in ({{ recomputed }})
    {%- endif %}
),

segments as (
    select * from {{ ref('int_segments') }}
    where scheme in ('{{ segment_schemes() | join("', '") }}')
),

customer_segments as (
    {%- for scheme in segment_schemes() %}
    select
        month_end_on,
        '{{ scheme }}' as scheme,
        {{ segment_code_column(scheme) }} as segment_code,
        days_since_last_order,
        frequency_orders,
        monetary_amount,
        lifetime_orders,
        lifetime_net_revenue,
        month_net_revenue
    from history
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

segment_totals as (
    select
        month_end_on,
        scheme,
        segment_code,
        count(*) as customer_count,
        sum(monetary_amount) as monetary_amount,
        sum(month_net_revenue) as month_net_revenue,
        sum(lifetime_orders) as lifetime_orders,
        sum(lifetime_net_revenue) as lifetime_net_revenue,
        avg(cast(lifetime_net_revenue as double)) as mean_historical_clv_amount,
        avg(cast(days_since_last_order as double)) as mean_days_since_last_order,
        avg(cast(frequency_orders as double)) as mean_frequency_orders,
        avg(cast(monetary_amount as double)) as mean_monetary_amount
    from customer_segments
    group by month_end_on, scheme, segment_code
),

scheme_totals as (
    select
        month_end_on,
        scheme,
        sum(customer_count) as customer_count,
        sum(monetary_amount) as monetary_amount
    from segment_totals
    group by month_end_on, scheme
),

segment_months as (
    select
        month_ends.month_end_on,
        segments.*
    from month_ends
    cross join segments
),

final as (
    select
        segment_months.month_end_on,
        segment_months.scheme,
        segment_months.scheme = '{{ var("segment_scheme") }}' as is_active_scheme,
        segment_months.segment_code,
        segment_months.priority as segment_priority,
        segment_months.segment_name_en,
        segment_months.segment_name_zh,
        segment_months.action_en,
        segment_months.action_zh,
        coalesce(segment_totals.customer_count, 0) as customer_count,
        coalesce(
            cast(segment_totals.customer_count as double)
            / nullif(scheme_totals.customer_count, 0), 0
        ) as customer_share_rate,
        coalesce(segment_totals.monetary_amount, 0) as monetary_amount,
        coalesce(cast(segment_totals.monetary_amount as double), 0)
            / nullif(cast(scheme_totals.monetary_amount as double), 0) as revenue_share_rate,
        coalesce(segment_totals.month_net_revenue, 0) as month_net_revenue,
        coalesce(segment_totals.lifetime_net_revenue, 0) as lifetime_net_revenue,
        cast(segment_totals.lifetime_net_revenue as double)
            / nullif(segment_totals.lifetime_orders, 0) as average_order_value_amount,
        segment_totals.mean_historical_clv_amount,
        segment_totals.mean_days_since_last_order,
        segment_totals.mean_frequency_orders,
        segment_totals.mean_monetary_amount
    from segment_months
    left join segment_totals
        on segment_months.month_end_on = segment_totals.month_end_on
        and segment_months.scheme = segment_totals.scheme
        and segment_months.segment_code = segment_totals.segment_code
    left join scheme_totals
        on segment_months.month_end_on = scheme_totals.month_end_on
        and segment_months.scheme = scheme_totals.scheme
)

select * from final
