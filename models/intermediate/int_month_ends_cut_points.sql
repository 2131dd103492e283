{#
    The scoring parameters of every history month end, computed over the customers scored at
    that month end (customers with a purchase on or before it): quantile cut points of R, F and M
    (macro quantile_cut_points: nearest rank, ties kept together) and the rfm8 thresholds
    (vars rfm8_*, else the population means).
#}

with

month_ends as (
    select month_end_on from {{ ref('int_month_ends') }}
),

customer_month_ends as (
    select
        month_end_on,
        days_since_last_order,
        frequency_orders,
        monetary_amount
    from {{ ref('int_customer_month_ends_spined') }}
),

populations as (
    select
        month_end_on,
        count(*) as scored_customers,
        {{ quantile_cut_points('days_since_last_order') }} as r_cut_points,
        {{ quantile_cut_points('frequency_orders') }} as f_cut_points,
        {{ quantile_cut_points('monetary_amount') }} as m_cut_points,
        avg(cast(days_since_last_order as double)) as mean_days_since_last_order,
        avg(cast(frequency_orders as double)) as mean_frequency_orders,
        avg(cast(monetary_amount as double)) as mean_monetary_amount
    from customer_month_ends
    group by month_end_on
),

final as (
    select
        month_ends.month_end_on,
        coalesce(populations.scored_customers, 0) as scored_customers,
        {%- for dimension in ['r', 'f', 'm'] %}
        {%- for k in range(1, 5) %}
        populations.{{ dimension }}_cut_points[{{ k }}] as {{ dimension }}_cut_point_{{ k }},
        {%- endfor %}
        {%- endfor %}
        populations.mean_days_since_last_order,
        populations.mean_frequency_orders,
        populations.mean_monetary_amount,
        {{ rfm8_threshold('rfm8_recency_days_threshold', 'populations.mean_days_since_last_order') }}
            as rfm8_recency_days_threshold,
        {{ rfm8_threshold('rfm8_frequency_threshold', 'populations.mean_frequency_orders') }}
            as rfm8_frequency_threshold,
        {{ rfm8_threshold('rfm8_monetary_threshold', 'populations.mean_monetary_amount') }}
            as rfm8_monetary_threshold
    from month_ends
    left join populations
        on month_ends.month_end_on = populations.month_end_on
)

select * from final
