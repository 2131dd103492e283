{#-
    segment_feedback_monthly against feedback_monthly, the history and the prospects:
    - both schemes place the same responses and respondents each month (the same customers,
      grouped two ways), and no more than feedback_monthly counts;
    - a scheme's buyer segments hold exactly the customers of customer_monthly_history at the
      month end, and its prospect row the prospects at the month end;
    - at the as-of date the prospect row equals the `prospects` mart.
    Returns the month ends and schemes that break any of these.
-#}
with

segments as (
    select * from {{ ref('segment_feedback_monthly') }}
),

totals as (
    select * from {{ ref('feedback_monthly') }}
),

history_customers as (
    select
        month_end_on,
        count(*) as customers
    from {{ ref('int_customer_months_classified') }}
    group by month_end_on
),

scheme_months as (
    select
        month_end_on,
        scheme,
        sum(responses) as responses,
        sum(promoters) as promoters,
        sum(detractors) as detractors,
        sum(segment_customers) filter (where segment_code <> 'prospect') as buyer_customers,
        coalesce(sum(segment_customers) filter (where segment_code = 'prospect'), 0)
            as prospect_customers
    from segments
    group by month_end_on, scheme
),

prospects_at_as_of as (
    select
        (select as_of_date from {{ ref('int_run_dates') }}) as as_of_date,
        count(*) as prospects
    from {{ ref('prospects') }}
),

compared as (
    select
        scheme_months.*,
        other_scheme.responses as other_scheme_responses,
        other_scheme.promoters as other_scheme_promoters,
        other_scheme.detractors as other_scheme_detractors,
        totals.responses as all_responses,
        history_customers.customers as history_customers,
        prospects_at_as_of.prospects as as_of_prospects,
        prospects_at_as_of.as_of_date
    from scheme_months
    inner join scheme_months as other_scheme
        on scheme_months.month_end_on = other_scheme.month_end_on
        and scheme_months.scheme <> other_scheme.scheme
    left join totals
        on scheme_months.month_end_on = totals.month_end_on
    left join history_customers
        on scheme_months.month_end_on = history_customers.month_end_on
    cross join prospects_at_as_of
)

select *
from compared
where not coalesce(
    responses = other_scheme_responses
    and promoters = other_scheme_promoters
    and detractors = other_scheme_detractors
    and responses <= all_responses
    and coalesce(buyer_customers, 0) = coalesce(history_customers, 0)
    and (month_end_on <> as_of_date or prospect_customers = as_of_prospects),
    false
)
