{#
    This month's actions (本月行动), as of the as-of date, ranked by the money at stake: who to
    contact and how much value is involved, with the `retail-tiers export` arguments that write
    the list. Built from the marts the report already shows, so the numbers agree:
    - contact_watchlist: the churn watchlist; money = predicted value at risk;
    - onboard_new_buyers: the customers in New (first and only purchase in the last
      new_customer_days); money = their predicted 12-month value;
    - win_back_leavers: the customers who left the active-named segment with the largest net
      outflow this month (more left than arrived; New, which everyone leaves, is not counted);
      money = their predicted 12-month value;
    - repeat_best_campaign: the campaign of the last 12 months with the largest incremental
      gross margin (over its control group); money = that margin; its list is the campaign's
      audience in your campaign tool, so there is no export command.
    An action with nobody to act on is left out.
#}

with

run_dates as (
    select as_of_date, as_of_month from {{ ref('int_run_dates') }}
),

customers as (
    select customer_id, is_new_customer, rfm_grid_segment_code from {{ ref('customers') }}
),

predictions as (
    select customer_id, predicted_clv from {{ ref('customer_predictions') }}
),

watchlist as (
    select customer_id, value_at_risk_amount from {{ ref('churn_watchlist') }}
),

history as (
    select
        customer_id,
        month_end_on,
        previous_segment_code,
        segment_code
    from {{ ref('int_customer_months_classified') }}
    where month_end_on = {{ as_of_date() }}
),

segments as (
    select
        segment_code,
        segment_name_en,
        segment_name_zh,
        promises_activity
    from {{ ref('int_segments') }}
    where scheme = '{{ var("segment_scheme") }}'
),

campaigns as (
    select
        campaign_id,
        campaign_name,
        starts_on,
        contacted_customer_count,
        incremental_gross_margin_amount
    from {{ ref('campaign_performance') }}
),

segment_flows as (
    select
        segments.segment_code,
        count(*) filter (where history.previous_segment_code = segments.segment_code
            and history.segment_code <> segments.segment_code) as left_customer_count,
        count(*) filter (where coalesce(history.previous_segment_code, 'none') <> segments.segment_code
            and history.segment_code = segments.segment_code) as arrived_customer_count
    from segments
    cross join history
    where segments.promises_activity
        and segments.segment_code <> 'new'
    group by segments.segment_code
),

largest_outflow as (
    select segment_code, left_customer_count - arrived_customer_count as net_outflow
    from segment_flows
    where left_customer_count > arrived_customer_count
    order by net_outflow desc, segment_code
    limit 1
),

actions as (
    select
        'contact_watchlist' as action_code,
        cast(null as string) as segment_code,
        cast(null as string) as campaign_id,
        cast(null as string) as campaign_name,
        count(*) as customer_count,
        cast(sum(value_at_risk_amount) as double) as value_amount,
        '--segment watchlist --out watchlist.csv' as export_arguments
    from watchlist
    having count(*) > 0
    union all
    select
        'onboard_new_buyers' as action_code,
        'new' as segment_code,
        cast(null as string) as campaign_id,
        cast(null as string) as campaign_name,
        count(*) as customer_count,
        cast(coalesce(sum(predictions.predicted_clv), 0) as double) as value_amount,
        '--segment new --scheme rfm_grid --out new_buyers.csv' as export_arguments
    from customers
    left join predictions
        on customers.customer_id = predictions.customer_id
    where customers.is_new_customer
    having count(*) > 0
    union all
    select
        'win_back_leavers' as action_code,
        largest_outflow.segment_code,
        cast(null as string) as campaign_id,
        cast(null as string) as campaign_name,
        count(*) as customer_count,
        cast(coalesce(sum(predictions.predicted_clv), 0) as double) as value_amount,
        '--left ' || largest_outflow.segment_code || ' --out left_'
            || largest_outflow.segment_code || '.csv' as export_arguments
    from largest_outflow
    inner join history
        on history.previous_segment_code = largest_outflow.segment_code
        and history.segment_code <> largest_outflow.segment_code
    left join predictions
        on history.customer_id = predictions.customer_id
    group by largest_outflow.segment_code
    union all
    select
        'repeat_best_campaign' as action_code,
        cast(null as string) as segment_code,
        campaign_id,
        campaign_name,
        contacted_customer_count as customer_count,
        cast(incremental_gross_margin_amount as double) as value_amount,
        cast(null as string) as export_arguments
    from (
        select campaigns.*
        from campaigns
        cross join run_dates
        where campaigns.incremental_gross_margin_amount > 0
            and campaigns.starts_on > cast(run_dates.as_of_month - interval 11 month as date)
            and campaigns.starts_on <= run_dates.as_of_date
        order by campaigns.incremental_gross_margin_amount desc, campaigns.campaign_id
        limit 1
    ) as best_campaign
),

final as (
    select
        row_number() over (order by actions.value_amount desc, actions.action_code) as action_rank,
        actions.action_code,
        actions.segment_code,
        segments.segment_name_en,
        segments.segment_name_zh,
        actions.campaign_id,
        actions.campaign_name,
        actions.customer_count,
        actions.value_amount,
        actions.export_arguments
    from actions
    left join segments
        on actions.segment_code = segments.segment_code
)

select * from final
