{#-
    One row per raw feedback row (a survey response), numbered in file order, typed and
    classified (quarantine_reason null = clean). Reasons, the first that applies wins:
    missing_customer_id, non_numeric_value (nps_score empty or not an integer; satisfaction
    present but not an integer), unparseable_timestamp (responded_at empty or not a date/time),
    implausible_timestamp (before 1970-01-01), future_timestamp (responded after the load
    date), score_out_of_range (nps_score outside
    0-10 or satisfaction outside 1-5), duplicate_response (among the rows that pass every other
    check, a later row with the customer_id and responded_at of an earlier one; the first row
    is kept). A respondent needs no row in the customers file or in transactions: an unknown
    customer_id is a clean response from someone the other files do not know.
-#}
{%- set columns = ['customer_id', 'responded_at', 'nps_score', 'satisfaction', 'channel', 'comment'] -%}

with

numbered_lines as (
    {{ numbered_raw_rows('feedback', columns) }}
),

numbered {{ cte_inlined() }} (
    {{ numbered_raw_columns('feedback', columns, 'numbered_lines') }}
),

parsed as (
    select
        *,
        {{ clean_text('raw_customer_id') }} as customer_id,
        {{ parse_timestamp('raw_responded_at', reporting_time_zone()) }} as responded_at,
        {{ parse_integer('raw_nps_score') }} as parsed_nps_score,
        {{ parse_integer('raw_satisfaction') }} as parsed_satisfaction,
        lower({{ clean_text('raw_channel') }}) as channel,
        {{ clean_text('raw_comment') }} as comment
    from numbered
),

checked as (
    select
        *,
        case
            when has_invalid_text
                then 'invalid_encoding'
            when customer_id is null
                then 'missing_customer_id'
            when parsed_nps_score is null
                or {{ is_unparseable('raw_satisfaction', 'parsed_satisfaction') }}
                then 'non_numeric_value'
            when responded_at is null
                then 'unparseable_timestamp'
            when responded_at < {{ earliest_plausible_date() }}
                then 'implausible_timestamp'
            when cast(responded_at as date) > {{ load_date() }}
                then 'future_timestamp'
            when parsed_nps_score not between 0 and 10
                or parsed_satisfaction not between 1 and 5
                then 'score_out_of_range'
        end as row_quarantine_reason
    from parsed
),

{#- Responses given twice (same customer and time) among the otherwise clean rows, with the
    first row, which is kept. Only repeats reach the join's build side. #}
repeated_responses as (
    select
        customer_id,
        responded_at,
        min(source_row_number) as first_source_row_number
    from checked
    where row_quarantine_reason is null
    group by customer_id, responded_at
    having count(*) > 1
),

classified as (
    select
        checked.*,
        coalesce(
            checked.row_quarantine_reason,
            case
                when checked.source_row_number > repeated_responses.first_source_row_number
                    then 'duplicate_response'
            end
        ) as quarantine_reason
    from checked
    left join repeated_responses
        on checked.row_quarantine_reason is null
        and checked.customer_id = repeated_responses.customer_id
        and checked.responded_at = repeated_responses.responded_at
),

final as (
    select
        source_row_number,
        customer_id,
        responded_at,
        cast(responded_at as date) as responded_on,
        try_cast(parsed_nps_score as integer) as nps_score,
        try_cast(parsed_satisfaction as integer) as satisfaction_score,
        channel,
        comment,
        quarantine_reason,
        case
            when quarantine_reason is not null then {{ raw_record_json(columns) }}
        end as raw_record
    from classified
)

select * from final
