{{ config(materialized='table') }}
{#-
    The BG/NBD + Gamma-Gamma input per customer as of the as-of date E (DESIGN sec. 7):
    purchases (net quantity > 0) on or before E, merged per calendar day (two orders on one
    day are one purchase day, their net revenue summed).
    x   = repeat purchase days: purchase days after the first one;
    t_x = days from the first to the last purchase day, T = days from the first purchase day
          to E, both also in weeks (days / 7);
    mean repeat-day spend = mean net revenue of the repeat purchase days.
    Return-only orders are not purchases and do not change any of these: their refund is
    not a purchase day and is not netted into the spend of the day it arrives (it nets in
    the revenue marts instead). Returns inside an order are already netted in its revenue.
    One pass over the orders (no table of purchase days in between): a purchase starts a
    purchase day unless the customer's previous purchase was on the same day, and the repeat
    days' spend is that of the purchases after the first purchase day. The same pass sums
    every order's net revenue and gross margin up to E (refunds included) for the margin
    rate of customer_predictions.
-#}
with

customer_orders as (
    select * from {{ ref('int_customer_orders') }}
),

run_dates as (
    select as_of_date from {{ ref('int_run_dates') }}
),

orders_to_date as (
    select
        customer_id,
        ordered_on,
        is_purchase,
        previous_purchase_on,
        first_purchase_on,
        net_revenue,
        gross_margin_amount
    from customer_orders
    cross join run_dates
    where ordered_on <= run_dates.as_of_date
),

customer_purchase_days as (
    select
        customer_id,
        min(ordered_on) filter (where is_purchase) as first_purchase_on,
        max(ordered_on) filter (where is_purchase) as last_purchase_on,
        count(*) filter (
            where is_purchase and previous_purchase_on is distinct from ordered_on
        ) as purchase_day_count,
        coalesce(
            sum(net_revenue) filter (where is_purchase and ordered_on > first_purchase_on), 0
        ) as repeat_day_spend_amount,
        sum(net_revenue) as lifetime_net_revenue,
        sum(gross_margin_amount) as lifetime_gross_margin_amount
    from orders_to_date
    group by customer_id
    having count(*) filter (where is_purchase) > 0
),

final as (
    select
        customer_id,
        run_dates.as_of_date,
        first_purchase_on,
        last_purchase_on,
        purchase_day_count - 1 as repeat_purchase_day_count,
        {{ days_between('first_purchase_on', 'last_purchase_on') }} as days_first_to_last_purchase,
        {{ days_between('first_purchase_on', 'run_dates.as_of_date') }} as days_since_first_purchase,
        cast({{ days_between('first_purchase_on', 'last_purchase_on') }} as double) / 7 as recency_weeks,
        cast({{ days_between('first_purchase_on', 'run_dates.as_of_date') }} as double) / 7 as age_weeks,
        cast(repeat_day_spend_amount as decimal(18, 4)) as repeat_day_spend_amount,
        case
            when purchase_day_count > 1
                then cast(repeat_day_spend_amount as double) / (purchase_day_count - 1)
        end as mean_repeat_day_spend_amount,
        -- in the orders' own type, as the repeat-day spend: the sums widen to decimal(38, 4),
        -- whose 16-byte values are slower to write, read and cast in customer_predictions
        cast(lifetime_net_revenue as decimal(18, 4)) as lifetime_net_revenue,
        cast(lifetime_gross_margin_amount as decimal(18, 4)) as lifetime_gross_margin_amount
    from customer_purchase_days
    cross join run_dates
)

select * from final
