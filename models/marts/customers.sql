{#
    One row per customer with at least one purchase on or before the as-of date (guests and
    customers whose only orders were fully returned are not here): lifetime value, RFM, segments
    under the active scheme and under rfm_grid and rfm8, lifecycle stage, CAC and CLV, and the
    customer's latest feedback (NPS survey) response on or before the as-of date.
    The state is the as-of month end of customer_monthly_history (scores, segments, stage) and
    of int_customer_state_changes (lifetime facts), so customers and history always agree.
#}

with

customer_scores as (
    select * from {{ ref('int_customer_months_classified') }}
    where month_end_on = {{ as_of_date() }}
),

customer_facts as (
    -- the change row that holds at the as-of date: each customer's last one
    select
        customer_id,
        first_order_on,
        last_order_on,
        lifetime_gross_margin_amount,
        case
            when lifetime_orders > 1
                then cast({{ days_between('first_order_on', 'last_order_on') }} as double) / (lifetime_orders - 1)
        end as average_days_between_orders,
        trailing_year_orders
    from {{ ref('int_customer_state_changes') }}
    where next_change_month_start_on is null
),

customer_month_ends as (
    select
        customer_scores.*,
        customer_facts.first_order_on,
        customer_facts.last_order_on,
        customer_facts.lifetime_gross_margin_amount,
        customer_facts.average_days_between_orders,
        customer_facts.trailing_year_orders
    from customer_scores
    inner join customer_facts
        on customer_scores.customer_id = customer_facts.customer_id
),

registered_customers as (
    select
        customer_id,
        signed_up_on,
        city,
        acquisition_channel,
        acquisition_cost
    from {{ ref('stg_customers') }}
    -- clean rows have unique ids (stg_customers quarantines repeats as duplicate_customer_id)
    where quarantine_reason is null
),

-- the latest clean response on or before the as-of date (ties: the later file row)
latest_feedback as (
    select
        customer_id,
        nps_score,
        satisfaction_score,
        responded_on
    from {{ ref('stg_feedback') }}
    where quarantine_reason is null
        and responded_on <= {{ as_of_date() }}
    qualify row_number() over (
        partition by customer_id order by responded_at desc, source_row_number desc
    ) = 1
),

segments as (
    select
        scheme,
        segment_code,
        segment_name_en,
        segment_name_zh,
        action_en,
        action_zh
    from {{ ref('int_segments') }}
),

final as (
    select
        customer_month_ends.customer_id,
        customer_month_ends.month_end_on as as_of_date,
        customer_month_ends.first_order_on,
        customer_month_ends.last_order_on,
        customer_month_ends.days_since_last_order,
        customer_month_ends.lifetime_orders,
        customer_month_ends.lifetime_net_revenue,
        cast(customer_month_ends.lifetime_net_revenue as double)
            / customer_month_ends.lifetime_orders as average_order_value_amount,
        customer_month_ends.lifetime_gross_margin_amount,
        case
            when customer_month_ends.lifetime_net_revenue > 0
                then cast(customer_month_ends.lifetime_gross_margin_amount as double)
                    / cast(customer_month_ends.lifetime_net_revenue as double)
        end as gross_margin_rate,
        customer_month_ends.average_days_between_orders,
        customer_month_ends.frequency_orders,
        customer_month_ends.monetary_amount,
        customer_month_ends.trailing_year_orders,
        customer_month_ends.is_new_customer,
        customer_month_ends.r_score,
        customer_month_ends.f_score,
        customer_month_ends.m_score,
        customer_month_ends.fm_score,
        customer_month_ends.rfm8_code,
        '{{ var("segment_scheme") }}' as segment_scheme,
        customer_month_ends.segment_code,
        active_segments.segment_name_en,
        active_segments.segment_name_zh,
        active_segments.action_en as segment_action_en,
        active_segments.action_zh as segment_action_zh,
        customer_month_ends.rfm_grid_segment_code,
        rfm_grid_segments.segment_name_en as rfm_grid_segment_name_en,
        rfm_grid_segments.segment_name_zh as rfm_grid_segment_name_zh,
        customer_month_ends.rfm8_segment_code,
        rfm8_segments.segment_name_en as rfm8_segment_name_en,
        rfm8_segments.segment_name_zh as rfm8_segment_name_zh,
        customer_month_ends.lifecycle_stage,
        registered_customers.signed_up_on,
        registered_customers.city,
        registered_customers.acquisition_channel,
        registered_customers.acquisition_cost as acquisition_cost_amount,
        customer_month_ends.lifetime_net_revenue as historical_clv_amount,
        customer_month_ends.lifetime_gross_margin_amount
            - coalesce(registered_customers.acquisition_cost, 0) as seed_formula_clv_amount,
        latest_feedback.nps_score as latest_nps_score,
        latest_feedback.satisfaction_score as latest_satisfaction_score,
        latest_feedback.responded_on as latest_feedback_on,
        {{ nps_group('latest_feedback.nps_score') }} as nps_group
    from customer_month_ends
    left join registered_customers
        on customer_month_ends.customer_id = registered_customers.customer_id
    left join latest_feedback
        on customer_month_ends.customer_id = latest_feedback.customer_id
    left join segments as active_segments
        on active_segments.scheme = '{{ var("segment_scheme") }}'
        and customer_month_ends.segment_code = active_segments.segment_code
    left join segments as rfm_grid_segments
        on rfm_grid_segments.scheme = 'rfm_grid'
        and customer_month_ends.rfm_grid_segment_code = rfm_grid_segments.segment_code
    left join segments as rfm8_segments
        on rfm8_segments.scheme = 'rfm8'
        and customer_month_ends.rfm8_segment_code = rfm8_segments.segment_code
)

select * from final
