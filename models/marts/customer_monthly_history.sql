{{ config(materialized='view') }}
{#-
    Customer x month end: scores, segments and lifecycle stage at each of the last
    history_months month ends. A view of int_customer_months_classified, where the logic and
    its tests live; the marts read that model, people and tools read this one.
-#}
with

classified as (
    select * from {{ ref('int_customer_months_classified') }}
),

final as (
    select
        month_end_on,
        customer_id,
        days_since_last_order,
        lifetime_orders,
        lifetime_net_revenue,
        frequency_orders,
        monetary_amount,
        month_orders,
        month_net_revenue,
        is_new_customer,
        r_score,
        f_score,
        m_score,
        fm_score,
        rfm8_code,
        segment_code,
        rfm_grid_segment_code,
        rfm8_segment_code,
        lifecycle_stage,
        previous_r_score,
        previous_segment_code,
        previous_rfm8_segment_code,
        segment_change_reason
    from classified
)

select * from final
