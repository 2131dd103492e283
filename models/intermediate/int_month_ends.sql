{#
    The month ends of the monthly history: the last `history_months` month ends up to the
    as-of date, the last one being the as-of date itself (a month end unless var as_of_date
    names another day, in which case that month is covered up to that day).
#}
{%- if var('history_months') | int < 1 -%}
    {{ exceptions.raise_compiler_error("var history_months: must be 1 or more, not " ~ var('history_months')) }}
{%- endif -%}

with

run_dates as (
    select as_of_date from {{ ref('int_run_dates') }}
),

month_offsets as (
    select {{ unnest_range(0, var('history_months') | int) }} as months_before_as_of
),

month_ends as (
    select
        month_offsets.months_before_as_of,
        case
            when month_offsets.months_before_as_of = 0 then run_dates.as_of_date
            else cast(last_day(
                date_trunc('month', run_dates.as_of_date)
                - {{ months_interval('cast(month_offsets.months_before_as_of as integer)') }}
            ) as date)
        end as month_end_on
    from run_dates
    cross join month_offsets
),

final as (
    select
        cast({{ var('history_months') | int }} - 1 - months_before_as_of as integer)
            as month_end_index,
        month_end_on,
        cast(date_trunc('month', month_end_on) as date) as month_start_on,
        cast(date_trunc('month', month_end_on) - interval 1 day as date) as previous_month_end_on,
        months_before_as_of = 0 as is_as_of_date
    from month_ends
)

select * from final
