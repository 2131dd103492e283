{#
    All clean feedback responses per month of the customer history (int_month_ends): responses,
    respondents, NPS groups, NPS and mean satisfaction, for the report's trend line. A response
    counts in the calendar month of responded_on, up to the month end (the as-of date for the
    last month). Every respondent counts, known customer or not. Empty (no rows at all) when
    there is no clean response: no feedback file, or every row quarantined.
#}

with

month_ends as (
    select month_end_on
    from {{ ref('int_month_ends') }}
),

responses as (
    select * from {{ ref('int_feedback_responses_placed') }}
),

feedback_presence as (
    select count(*) as clean_responses
    from responses
),

months_aggregated as (
    select
        month_end_on,
        {{ feedback_counts() }}
    from responses
    where month_end_on is not null
    group by month_end_on
),

final as (
    select
        month_ends.month_end_on,
        cast(coalesce(months_aggregated.responses, 0) as bigint) as responses,
        cast(coalesce(months_aggregated.respondents, 0) as bigint) as respondents,
        cast(coalesce(months_aggregated.promoters, 0) as bigint) as promoters,
        cast(coalesce(months_aggregated.passives, 0) as bigint) as passives,
        cast(coalesce(months_aggregated.detractors, 0) as bigint) as detractors,
        {{ net_promoter_score(
            'months_aggregated.promoters', 'months_aggregated.detractors',
            'months_aggregated.responses') }} as nps,
        months_aggregated.mean_satisfaction
    from month_ends
    cross join feedback_presence
    left join months_aggregated
        on month_ends.month_end_on = months_aggregated.month_end_on
    where feedback_presence.clean_responses > 0
)

select * from final
