{#-
    The holdout report card's totals, two rows. `holdout`: purchase days in the holdout alone,
    actual against the selected model's conditional expectation for each customer (what it
    predicts knowing their calibration history). `cumulative`: repeat purchase days from the
    start of the data to the as-of date, actual against the tracking plot's expectation
    (the model's unconditional expectation for the customers' first-purchase days). The two
    errors differ: the cumulative one includes the calibration weeks the model was fitted on.
    error_rate = (expected - actual) / actual.
-#}
with

by_frequency as (
    select * from {{ ref('holdout_by_frequency') }}
),

tracking as (
    select * from {{ ref('holdout_tracking') }}
),

holdout_period as (
    select * from {{ ref('int_holdout_period') }}
),

holdout_total as (
    select
        'holdout' as scope,
        sum(actual_orders) as actual_orders,
        sum(expected_orders) as expected_orders
    from by_frequency
),

cumulative_total as (
    select
        'cumulative' as scope,
        actual_cumulative_orders as actual_orders,
        expected_cumulative_orders as expected_orders
    from tracking
    qualify week_number = max(week_number) over ()
),

totals as (
    select * from holdout_total
    where actual_orders is not null
    union all
    select * from cumulative_total
),

final as (
    select
        totals.scope,
        holdout_period.holdout_weeks,
        holdout_period.calibration_end_on,
        holdout_period.as_of_date,
        totals.actual_orders,
        totals.expected_orders,
        totals.expected_orders - totals.actual_orders as error_orders,
        case
            when totals.actual_orders > 0
                then (totals.expected_orders - totals.actual_orders) / totals.actual_orders
        end as error_rate
    from totals
    cross join holdout_period
)

select * from final
