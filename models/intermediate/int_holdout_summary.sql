{#-
    The holdout report card's customers: everyone whose first purchase day is on or before
    the calibration end (int_holdout_period), with their BG/NBD / Pareto/NBD summary as of
    the calibration end (x, t_x, T in days, as int_customer_rfm_summary has them as of the
    as-of date) and the purchase days they made in the holdout. Customers who first buy
    during the holdout are not in it: predicting them would need an acquisition forecast.
-#}
with

purchase_days as (
    select * from {{ ref('int_customer_purchase_days') }}
),

holdout_period as (
    select * from {{ ref('int_holdout_period') }}
),

customer_days as (
    select
        purchase_days.customer_id,
        purchase_days.ordered_on,
        holdout_period.calibration_end_on,
        min(purchase_days.ordered_on) over (partition by purchase_days.customer_id)
            as first_purchase_on
    from purchase_days
    cross join holdout_period
),

customer_summary as (
    select
        customer_id,
        first_purchase_on,
        calibration_end_on,
        count(*) filter (where ordered_on <= calibration_end_on) - 1
            as repeat_purchase_day_count,
        {{ days_between('first_purchase_on', 'max(ordered_on) filter (where ordered_on <= calibration_end_on)') }}
            as days_first_to_last_purchase,
        {{ days_between('first_purchase_on', 'calibration_end_on') }} as days_since_first_purchase,
        count(*) filter (where ordered_on > calibration_end_on) as holdout_purchase_day_count
    from customer_days
    where first_purchase_on <= calibration_end_on
    group by customer_id, first_purchase_on, calibration_end_on
)

select * from customer_summary
