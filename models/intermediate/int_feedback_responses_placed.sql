{#
    Every clean feedback response (stg_feedback rows without a quarantine reason) with its NPS
    group and the month end of the customer history it counts in: the month end of its
    calendar month when that month is in int_month_ends and the response is not after the
    month end (the as-of date for the last month); null otherwise. The monthly feedback marts
    count the responses that have a month end; any row at all tells them the feedback file
    has clean responses.
#}

with

month_ends as (
    select
        month_end_on,
        month_start_on
    from {{ ref('int_month_ends') }}
),

responses as (
    select
        source_row_number,
        customer_id,
        responded_on,
        nps_score,
        satisfaction_score,
        {{ nps_group('nps_score') }} as nps_group
    from {{ ref('stg_feedback') }}
    where quarantine_reason is null
),

final as (
    select
        responses.source_row_number,
        month_ends.month_end_on,
        responses.customer_id,
        responses.responded_on,
        responses.nps_score,
        responses.satisfaction_score,
        responses.nps_group
    from responses
    left join month_ends
        on cast(date_trunc('month', responses.responded_on) as date) = month_ends.month_start_on
        and responses.responded_on <= month_ends.month_end_on
)

select * from final
