{#-
    Campaign performance (DESIGN sec. 8, seed 003 营销活动转化率): one row per clean campaign
    that started on or before the as-of date. Conversion = contacted customers with a purchase
    credited by int_campaign_contacts_attributed / contacted customers. With a held-out control
    group: uplift = treatment conversion rate - control conversion rate, with a 95% confidence
    interval by Newcombe's hybrid score method (Newcombe 1998, method 10: Wilson score
    intervals of both rates combined), which keeps its coverage for small groups and rates near
    0 or 1, where the simple Wald interval does not.
    ROI is on gross margin, not revenue: (attributed gross margin - cost) / cost. With a control
    group, incremental ROI counts only the margin above what the control group's margin per
    customer predicts: (treatment margin - contacted x control margin per control customer -
    cost) / cost.
-#}
{#- z: the 97.5% quantile of the standard normal distribution (two-sided 95% interval) -#}
{%- set z = 1.959963984540054 -%}

with

campaigns as (
    select * from {{ ref('stg_campaigns') }}
    where quarantine_reason is null
        and starts_on <= {{ as_of_date() }}
),

contacts as (
    select * from {{ ref('int_campaign_contacts_attributed') }}
),

campaign_arms as (
    select
        campaign_id,
        count(*) filter (where not is_control) as contacted_customer_count,
        count(*) filter (where not is_control and is_converted) as converted_customer_count,
        coalesce(sum(attributed_order_count) filter (where not is_control), 0)
            as attributed_order_count,
        coalesce(sum(attributed_net_revenue_amount) filter (where not is_control), 0)
            as attributed_net_revenue_amount,
        coalesce(sum(attributed_gross_margin_amount) filter (where not is_control), 0)
            as attributed_gross_margin_amount,
        count(*) filter (where is_control) as control_customer_count,
        count(*) filter (where is_control and is_converted) as control_converted_customer_count,
        coalesce(sum(attributed_gross_margin_amount) filter (where is_control), 0)
            as control_gross_margin_amount
    from contacts
    group by campaign_id
),

campaigns_joined as (
    select
        campaigns.campaign_id,
        campaigns.campaign_name,
        campaigns.channel,
        campaigns.starts_on,
        campaigns.ends_on,
        campaigns.ends_on + {{ var('attribution_days') }} as attribution_ends_on,
        campaigns.ends_on + {{ var('attribution_days') }} <= {{ as_of_date() }}
            as is_attribution_complete,
        campaigns.cost as cost_amount,
        coalesce(campaign_arms.contacted_customer_count, 0) as contacted_customer_count,
        coalesce(campaign_arms.converted_customer_count, 0) as converted_customer_count,
        coalesce(campaign_arms.attributed_order_count, 0) as attributed_order_count,
        coalesce(campaign_arms.attributed_net_revenue_amount, 0) as attributed_net_revenue_amount,
        coalesce(campaign_arms.attributed_gross_margin_amount, 0)
            as attributed_gross_margin_amount,
        coalesce(campaign_arms.control_customer_count, 0) as control_customer_count,
        coalesce(campaign_arms.control_converted_customer_count, 0)
            as control_converted_customer_count,
        coalesce(campaign_arms.control_gross_margin_amount, 0) as control_gross_margin_amount
    from campaigns
    left join campaign_arms
        on campaigns.campaign_id = campaign_arms.campaign_id
),

campaign_rates as (
    select
        *,
        cast(converted_customer_count as double) / nullif(contacted_customer_count, 0)
            as conversion_rate,
        cast(control_converted_customer_count as double) / nullif(control_customer_count, 0)
            as control_conversion_rate
    from campaigns_joined
),

-- Wilson score interval of each arm's rate p = x / n:
-- (p + z^2/2n -/+ z sqrt(p(1 - p)/n + z^2/4n^2)) / (1 + z^2/n)
wilson_intervals as (
    select
        *,
        (conversion_rate + {{ z }} * {{ z }} / (2 * contacted_customer_count)
            - {{ z }} * sqrt(
                conversion_rate * (1 - conversion_rate) / contacted_customer_count
                + {{ z }} * {{ z }} / (4 * contacted_customer_count * contacted_customer_count)
            ))
            / (1 + {{ z }} * {{ z }} / contacted_customer_count) as conversion_rate_lower,
        (conversion_rate + {{ z }} * {{ z }} / (2 * contacted_customer_count)
            + {{ z }} * sqrt(
                conversion_rate * (1 - conversion_rate) / contacted_customer_count
                + {{ z }} * {{ z }} / (4 * contacted_customer_count * contacted_customer_count)
            ))
            / (1 + {{ z }} * {{ z }} / contacted_customer_count) as conversion_rate_upper,
        (control_conversion_rate + {{ z }} * {{ z }} / (2 * control_customer_count)
            - {{ z }} * sqrt(
                control_conversion_rate * (1 - control_conversion_rate) / control_customer_count
                + {{ z }} * {{ z }} / (4 * control_customer_count * control_customer_count)
            ))
            / (1 + {{ z }} * {{ z }} / control_customer_count) as control_conversion_rate_lower,
        (control_conversion_rate + {{ z }} * {{ z }} / (2 * control_customer_count)
            + {{ z }} * sqrt(
                control_conversion_rate * (1 - control_conversion_rate) / control_customer_count
                + {{ z }} * {{ z }} / (4 * control_customer_count * control_customer_count)
            ))
            / (1 + {{ z }} * {{ z }} / control_customer_count) as control_conversion_rate_upper
    from campaign_rates
),

-- Newcombe: uplift d = p1 - p2, lower = d - sqrt((p1 - l1)^2 + (u2 - p2)^2),
-- upper = d + sqrt((u1 - p1)^2 + (p2 - l2)^2); null without a control group
final as (
    select
        campaign_id,
        campaign_name,
        channel,
        starts_on,
        ends_on,
        attribution_ends_on,
        is_attribution_complete,
        contacted_customer_count,
        converted_customer_count,
        conversion_rate,
        attributed_order_count,
        attributed_net_revenue_amount,
        attributed_gross_margin_amount,
        cost_amount,
        cast(attributed_gross_margin_amount - cost_amount as double) / nullif(cost_amount, 0)
            as roi,
        control_customer_count > 0 as has_control_group,
        control_customer_count,
        control_converted_customer_count,
        control_conversion_rate,
        conversion_rate - control_conversion_rate as conversion_uplift,
        conversion_rate - control_conversion_rate - sqrt(
            (conversion_rate - conversion_rate_lower) * (conversion_rate - conversion_rate_lower)
            + (control_conversion_rate_upper - control_conversion_rate)
            * (control_conversion_rate_upper - control_conversion_rate)
        ) as conversion_uplift_lower,
        conversion_rate - control_conversion_rate + sqrt(
            (conversion_rate_upper - conversion_rate) * (conversion_rate_upper - conversion_rate)
            + (control_conversion_rate - control_conversion_rate_lower)
            * (control_conversion_rate - control_conversion_rate_lower)
        ) as conversion_uplift_upper,
        control_gross_margin_amount,
        attributed_gross_margin_amount
            - contacted_customer_count
            * cast(control_gross_margin_amount as double) / nullif(control_customer_count, 0)
            as incremental_gross_margin_amount,
        (
            attributed_gross_margin_amount
            - contacted_customer_count
            * cast(control_gross_margin_amount as double) / nullif(control_customer_count, 0)
            - cost_amount
        ) / nullif(cost_amount, 0) as incremental_roi
    from wilson_intervals
)

select * from final
