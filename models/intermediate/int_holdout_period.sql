{#-
    The holdout of the report card, one row: the last holdout_weeks weeks before the as-of
    date, at most half the history (from the first purchase day in the data through the
    as-of date, in whole weeks). The models are refitted on purchases up to
    calibration_end_on and predict the weeks after it. holdout_weeks is 0 when the history
    is shorter than two weeks; then there is nothing to compare.
-#}
with

run_dates as (
    select * from {{ ref('int_run_dates') }}
),

purchase_days as (
    select * from {{ ref('int_customer_purchase_days') }}
),

history as (
    select
        min(ordered_on) as first_purchase_on,
        count(*) as purchase_day_count
    from purchase_days
),

holdout_length as (
    select
        run_dates.as_of_date,
        history.first_purchase_on,
        cast({{ days_between('history.first_purchase_on', 'run_dates.as_of_date') }} + 1 as integer) as history_days,
        cast(least(
            {{ var('holdout_weeks') }},
            floor(({{ days_between('history.first_purchase_on', 'run_dates.as_of_date') }} + 1) / 14)
        ) as integer) as holdout_weeks
    from run_dates
    cross join history
    where history.purchase_day_count > 0
),

final as (
    select
        as_of_date,
        first_purchase_on,
        history_days,
        holdout_weeks,
        cast(as_of_date - 7 * holdout_weeks as date) as calibration_end_on
    from holdout_length
)

select * from final
