{#-
    Holdout purchase days by calibration frequency (repeat purchase days before the holdout:
    0, 1, ..., 6 and 7+), actual against what the selected purchase model, fitted on the
    calibration period only, expected for those very customers (conditional expectations).
-#}
with

holdout_customers as (
    select * from {{ ref('int_holdout_summary') }}
),

patterns as (
    select * from {{ ref('int_holdout_patterns_scored') }}
),

customers_scored as (
    select
        least(holdout_customers.repeat_purchase_day_count, 7) as calibration_frequency,
        holdout_customers.holdout_purchase_day_count,
        patterns.expected_holdout_orders
    from holdout_customers
    inner join patterns
        on holdout_customers.repeat_purchase_day_count = patterns.repeat_purchase_day_count
        and holdout_customers.days_first_to_last_purchase = patterns.days_first_to_last_purchase
        and holdout_customers.days_since_first_purchase = patterns.days_since_first_purchase
),

final as (
    select
        calibration_frequency,
        case when calibration_frequency = 7 then '7+' else cast(calibration_frequency as string) end
            as calibration_frequency_label,
        count(*) as customer_count,
        sum(holdout_purchase_day_count) as actual_orders,
        sum(expected_holdout_orders) as expected_orders,
        avg(holdout_purchase_day_count) as actual_orders_per_customer,
        avg(expected_holdout_orders) as expected_orders_per_customer
    from customers_scored
    group by calibration_frequency
)

select * from final
