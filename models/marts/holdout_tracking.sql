{#-
    The tracking plot of the holdout report card: per week, from the week of the first
    purchase in the data to the as-of date, the repeat purchase days the holdout customers
    (first purchase on or before the calibration end) actually made and the number the
    selected purchase model, fitted on the calibration period only, expected: per week and
    cumulative. Weeks end on the as-of date and every 7 days before it.
-#}
with

weeks_expected as (
    select * from {{ ref('int_holdout_weeks_expected') }}
),

holdout_period as (
    select * from {{ ref('int_holdout_period') }}
),

holdout_customers as (
    select * from {{ ref('int_holdout_summary') }}
),

purchase_days as (
    select * from {{ ref('int_customer_purchase_days') }}
),

repeat_days as (
    select
        purchase_days.ordered_on,
        holdout_period.as_of_date
    from purchase_days
    inner join holdout_customers
        on purchase_days.customer_id = holdout_customers.customer_id
    cross join holdout_period
    where purchase_days.ordered_on > holdout_customers.first_purchase_on
),

weekly_actual as (
    select
        cast(as_of_date - cast(7 * ({{ int_div('(' ~ days_between('ordered_on', 'as_of_date') ~ ')', 7) }}) as integer) as date)
            as week_ending_on,
        count(*) as actual_orders
    from repeat_days
    group by all
),

weeks as (
    select
        weeks_expected.week_number,
        weeks_expected.week_ending_on,
        weeks_expected.week_ending_on > holdout_period.calibration_end_on as is_holdout,
        coalesce(weekly_actual.actual_orders, 0) as actual_orders,
        weeks_expected.expected_cumulative_orders
    from weeks_expected
    cross join holdout_period
    left join weekly_actual
        on weeks_expected.week_ending_on = weekly_actual.week_ending_on
),

final as (
    select
        week_number,
        week_ending_on,
        is_holdout,
        actual_orders,
        expected_cumulative_orders
            - coalesce(lag(expected_cumulative_orders) over (order by week_number), 0)
            as expected_orders,
        sum(actual_orders) over (order by week_number) as actual_cumulative_orders,
        expected_cumulative_orders
    from weeks
)

select * from final
