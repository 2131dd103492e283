{#-
    segment_category_mix against customers: per scheme and segment, the categories' net revenue
    adds up exactly to the sum of the segment's customers' monetary_amount (M: net revenue of
    their orders in the trailing rfm_window_days up to the as-of date). Proves that every line
    of every customer in a segment is counted once, with its order's date. Also checks that
    the mart is as of the customers' as-of date. Returns the differences.
-#}
{%- set schemes = breakdown_schemes() -%}

with

customers as (
    select * from {{ ref('customers') }}
),

mix as (
    select * from {{ ref('segment_category_mix') }}
),

customers_revenue as (
    {%- for scheme, column in schemes.items() %}
    select
        as_of_date,
        '{{ scheme }}' as scheme,
        {{ column }} as segment_code,
        sum(monetary_amount) as net_revenue_amount
    from customers
    group by as_of_date, {{ column }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

mix_revenue as (
    select
        as_of_date,
        scheme,
        segment_code,
        sum(net_revenue_amount) as net_revenue_amount
    from mix
    group by as_of_date, scheme, segment_code
),

compared as (
    select
        coalesce(customers_revenue.as_of_date, mix_revenue.as_of_date) as as_of_date,
        coalesce(customers_revenue.scheme, mix_revenue.scheme) as scheme,
        coalesce(customers_revenue.segment_code, mix_revenue.segment_code) as segment_code,
        coalesce(customers_revenue.net_revenue_amount, 0) as customers_net_revenue_amount,
        coalesce(mix_revenue.net_revenue_amount, 0) as mix_net_revenue_amount
    from customers_revenue
    full outer join mix_revenue
        on customers_revenue.as_of_date = mix_revenue.as_of_date
        and customers_revenue.scheme = mix_revenue.scheme
        and customers_revenue.segment_code = mix_revenue.segment_code
)

select *
from compared
where customers_net_revenue_amount <> mix_net_revenue_amount
