{#
    Customer voice per segment: for every month end of the customer history, scheme (rfm_grid,
    rfm8) and segment with customers at that month end, the clean feedback responses given in
    that calendar month by the segment's customers (segment as of the month end): responses,
    respondents, NPS groups, NPS, mean satisfaction and response rate.
    Respondents without a purchase by the month end who are registered prospects then (macro
    is_prospect) form the segment `prospect` (one row per scheme, segment_customers = the
    prospects at the month end). Responses from anyone else (an id in no file, a registration
    dated after the month end, a customer whose only orders were fully returned and who is not
    registered) count in feedback_monthly only. Empty (no rows) when there is no clean response
    at all.
#}
{%- set schemes = breakdown_schemes() -%}

with

month_ends as (
    select month_end_on
    from {{ ref('int_month_ends') }}
),

history as (
    select
        month_end_on,
        customer_id,
        rfm_grid_segment_code,
        rfm8_segment_code
    from {{ ref('int_customer_months_classified') }}
),

registrations as (
    select
        customer_id,
        signed_up_on,
        first_purchase_on
    from {{ ref('int_registrations_converted') }}
),

responses as (
    select * from {{ ref('int_feedback_responses_placed') }}
),

segments as (
    select
        scheme,
        segment_code,
        segment_name_en,
        segment_name_zh
    from {{ ref('int_segments') }}
),

feedback_presence as (
    select count(*) as clean_responses
    from responses
),

responses_in_months as (
    select
        month_end_on,
        customer_id,
        nps_score,
        satisfaction_score,
        nps_group
    from responses
    where month_end_on is not null
),

-- the respondent at the month end: segments when a buyer, else whether a registered prospect
responses_placed as (
    select
        responses_in_months.*,
        history.rfm_grid_segment_code,
        history.rfm8_segment_code,
        coalesce(
            history.customer_id is null
            and registrations.customer_id is not null
            and {{ is_prospect(
                'registrations.signed_up_on', 'registrations.first_purchase_on',
                'responses_in_months.month_end_on') }},
            false
        ) as is_prospect_response
    from responses_in_months
    left join history
        on responses_in_months.customer_id = history.customer_id
        and responses_in_months.month_end_on = history.month_end_on
    left join registrations
        on responses_in_months.customer_id = registrations.customer_id
),

response_segments as (
    {%- for scheme, column in schemes.items() %}
    select
        month_end_on,
        '{{ scheme }}' as scheme,
        coalesce({{ column }}, 'prospect') as segment_code,
        customer_id,
        satisfaction_score,
        nps_group
    from responses_placed
    where {{ column }} is not null or is_prospect_response
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

segment_responses as (
    select
        month_end_on,
        scheme,
        segment_code,
        {{ feedback_counts() }}
    from response_segments
    group by month_end_on, scheme, segment_code
),

prospects_at_month_ends as (
    select
        month_ends.month_end_on,
        count(*) as segment_customers
    from month_ends
    cross join registrations
    where {{ is_prospect(
        'registrations.signed_up_on', 'registrations.first_purchase_on',
        'month_ends.month_end_on') }}
    group by month_ends.month_end_on
),

segment_members as (
    {%- for scheme, column in schemes.items() %}
    select
        month_end_on,
        '{{ scheme }}' as scheme,
        {{ column }} as segment_code,
        count(*) as segment_customers
    from history
    group by month_end_on, {{ column }}

    union all

    select
        month_end_on,
        '{{ scheme }}' as scheme,
        'prospect' as segment_code,
        segment_customers
    from prospects_at_month_ends
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}
),

final as (
    select
        segment_members.month_end_on,
        segment_members.scheme,
        segment_members.segment_code,
        case
            when segment_members.segment_code = 'prospect' then 'Prospects'
            else segments.segment_name_en
        end as segment_name_en,
        case
            when segment_members.segment_code = 'prospect' then '潜在客户'
            else segments.segment_name_zh
        end as segment_name_zh,
        cast(segment_members.segment_customers as bigint) as segment_customers,
        cast(coalesce(segment_responses.responses, 0) as bigint) as responses,
        cast(coalesce(segment_responses.respondents, 0) as bigint) as respondents,
        cast(coalesce(segment_responses.promoters, 0) as bigint) as promoters,
        cast(coalesce(segment_responses.passives, 0) as bigint) as passives,
        cast(coalesce(segment_responses.detractors, 0) as bigint) as detractors,
        {{ net_promoter_score(
            'segment_responses.promoters', 'segment_responses.detractors',
            'segment_responses.responses') }} as nps,
        segment_responses.mean_satisfaction,
        cast(coalesce(segment_responses.respondents, 0) as double)
            / segment_members.segment_customers as response_rate
    from segment_members
    cross join feedback_presence
    left join segment_responses
        on segment_members.month_end_on = segment_responses.month_end_on
        and segment_members.scheme = segment_responses.scheme
        and segment_members.segment_code = segment_responses.segment_code
    left join segments
        on segment_members.scheme = segments.scheme
        and segment_members.segment_code = segments.segment_code
    where feedback_presence.clean_responses > 0
)

select * from final
