{#-
    segment_category_mix against customer_monthly_history: per month end, scheme and segment,
    the categories' net revenue adds up exactly to the segment customers' month_net_revenue
    (net revenue of their orders in the calendar month). Proves that every line of every
    customer in a segment is counted once, in its order's month. Returns the differences.
-#}
{%- set schemes = breakdown_schemes() -%}

with

history as (
    select * from {{ ref('customer_monthly_history') }}
),

history_revenue as (
    {%- for scheme, column in schemes.items() %}
    select
        month_end_on,
        '{{ scheme }}' as scheme,
        {{ column }} as segment_code,
        sum(month_net_revenue) as net_revenue_amount
    from history
    group by month_end_on, {{ column }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

mix_revenue as (
    select
        month_end_on,
        scheme,
        segment_code,
        sum(net_revenue_amount) as net_revenue_amount
    from {{ ref('segment_category_mix') }}
    group by month_end_on, scheme, segment_code
),

compared as (
    select
        coalesce(history_revenue.month_end_on, mix_revenue.month_end_on) as month_end_on,
        coalesce(history_revenue.scheme, mix_revenue.scheme) as scheme,
        coalesce(history_revenue.segment_code, mix_revenue.segment_code) as segment_code,
        coalesce(history_revenue.net_revenue_amount, 0) as history_net_revenue_amount,
        coalesce(mix_revenue.net_revenue_amount, 0) as mix_net_revenue_amount
    from history_revenue
    full outer join mix_revenue
        on history_revenue.month_end_on = mix_revenue.month_end_on
        and history_revenue.scheme = mix_revenue.scheme
        and history_revenue.segment_code = mix_revenue.segment_code
)

select *
from compared
where history_net_revenue_amount <> mix_net_revenue_amount
