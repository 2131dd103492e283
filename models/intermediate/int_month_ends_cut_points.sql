{#
    The scoring parameters of every history month end. R is cut over every customer scored at
    that month end (customers with a purchase on or before it); F over the window's buyers
    (frequency_orders > 0) and M over the window's buyers with positive net revenue in it, so
    the quantiles rank the customers they score: the others get F 1 / M 1 by rule (macro
    score_columns). Quantile cut points: macro quantile_cut_points (nearest rank, ties kept
    together). rfm8 thresholds: the vars rfm8_* when set, else R the mean days since the last
    order capped at churn_days, F the window buyers' mean frequency but at least 2 (one order is
    never frequent), M the mean window revenue of the buyers with positive revenue.

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

month_ends as (
    select month_end_on from {{ ref('int_month_ends') }}
    {%- if appending %}
    where month_end_on in ({{ recomputed }})
    {%- endif %}
),

customer_month_ends as (
    select
        month_end_on,
        days_since_last_order,
        frequency_orders,
        monetary_amount,
        frequency_orders > 0 as is_window_buyer,
        frequency_orders > 0 and monetary_amount > 0 as has_window_revenue
    from {{ ref('int_customer_month_ends_spined') }}
    {%- if appending %}
    where month_end_on in ({{ recomputed }})
    {%- endif %}
),

populations as (
    select
        month_end_on,
        count(*) as scored_customers,
        count(*) filter (where is_window_buyer) as window_buyers,
        count(*) filter (where has_window_revenue) as window_revenue_customers,
        {{ quantile_cut_points('days_since_last_order') }} as r_cut_points,
        {{ quantile_cut_points('frequency_orders', where='is_window_buyer') }} as f_cut_points,
        {{ quantile_cut_points('monetary_amount', where='has_window_revenue') }} as m_cut_points,
        avg(cast(days_since_last_order as double)) as mean_days_since_last_order,
        avg(cast(frequency_orders as double)) filter (where is_window_buyer) as mean_frequency_orders,
        avg(cast(monetary_amount as double)) filter (where has_window_revenue) as mean_monetary_amount
    from customer_month_ends
    group by month_end_on
),

final as (
    select
        month_ends.month_end_on,
        coalesce(populations.scored_customers, 0) as scored_customers,
        coalesce(populations.window_buyers, 0) as window_buyers,
        coalesce(populations.window_revenue_customers, 0) as window_revenue_customers,
        {%- for dimension in ['r', 'f', 'm'] %}
        {%- for k in range(1, 5) %}
        {{ list_item('populations.' ~ dimension ~ '_cut_points', k) }} as {{ dimension }}_cut_point_{{ k }},
        {%- endfor %}
        {%- endfor %}
        populations.mean_days_since_last_order,
        populations.mean_frequency_orders,
        populations.mean_monetary_amount,
        {{ rfm8_threshold('rfm8_recency_days_threshold',
            'least(coalesce(populations.mean_days_since_last_order, ' ~ var('churn_days') ~ '), ' ~ var('churn_days') ~ ')') }}
            as rfm8_recency_days_threshold,
        {{ rfm8_threshold('rfm8_frequency_threshold',
            'greatest(coalesce(populations.mean_frequency_orders, 2), 2)') }}
            as rfm8_frequency_threshold,
        {{ rfm8_threshold('rfm8_monetary_threshold', 'populations.mean_monetary_amount') }}
            as rfm8_monetary_threshold
    from month_ends
    left join populations
        on month_ends.month_end_on = populations.month_end_on
)

select * from final
