{#-
    Customers worth keeping who may be slipping away, as of the as-of date, most value at
    risk first. Worth keeping: among the top var watchlist_top_clv_share of customers by
    predicted CLV (ties share a rank, so a tie at the cut is kept whole), or in the rfm_grid
    segments Champions, Loyal or Can't Lose Them (judged on rfm_grid whatever the active
    scheme: rfm8 has no exact counterparts). Slipping away: churn_probability >= var
    churn_alert_threshold, or lifecycle stage at_risk. Value at risk = predicted_clv x
    churn_probability.
-#}
with

predictions as (
    select * from {{ ref('customer_predictions') }}
),

customers as (
    select * from {{ ref('customers') }}
),

clv_ranked as (
    select
        customer_id,
        rank() over (order by predicted_clv desc) as clv_rank,
        count(*) over () as customer_count
    from predictions
),

candidates as (
    select
        predictions.customer_id,
        predictions.as_of_date,
        customers.segment_scheme,
        customers.segment_code,
        customers.segment_name_en,
        customers.segment_name_zh,
        customers.rfm_grid_segment_code,
        customers.lifecycle_stage,
        customers.days_since_last_order,
        predictions.predicted_clv,
        predictions.churn_probability,
        predictions.churn_risk_band,
        predictions.predicted_clv * predictions.churn_probability as value_at_risk_amount,
        predictions.predicted_clv > 0
            and clv_ranked.clv_rank
            <= {{ var('watchlist_top_clv_share') }} * clv_ranked.customer_count
            as is_top_clv,
        coalesce(
            customers.rfm_grid_segment_code in ('champions', 'loyal', 'cant_lose_them'), false
        ) as is_key_segment,
        predictions.churn_probability >= {{ var('churn_alert_threshold') }} as is_churn_alert,
        coalesce(customers.lifecycle_stage = 'at_risk', false) as is_at_risk_stage
    from predictions
    inner join clv_ranked
        on predictions.customer_id = clv_ranked.customer_id
    left join customers
        on predictions.customer_id = customers.customer_id
),

watched as (
    select *
    from candidates
    where (is_top_clv or is_key_segment)
        and (is_churn_alert or is_at_risk_stage)
),

final as (
    select
        row_number() over (
            order by value_at_risk_amount desc, predicted_clv desc, customer_id
        ) as watchlist_rank,
        customer_id,
        as_of_date,
        segment_scheme,
        segment_code,
        segment_name_en,
        segment_name_zh,
        rfm_grid_segment_code,
        lifecycle_stage,
        days_since_last_order,
        predicted_clv,
        churn_probability,
        churn_risk_band,
        value_at_risk_amount,
        is_top_clv,
        is_key_segment,
        is_churn_alert,
        is_at_risk_stage
    from watched
)

select * from final
