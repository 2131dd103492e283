{#-
    monthly_kpis: the prospects at a month's start are the prospects at the previous month's
    end, and the as-of month's prospects at its end are the rows of the `prospects` mart.
    Returns the months that break it.
-#}
with

kpis as (
    select
        month_start_on,
        month_end_on,
        prospects_at_month_start,
        prospects_at_month_end,
        lag(prospects_at_month_end) over (order by month_start_on)
            as previous_prospects_at_month_end
    from {{ ref('monthly_kpis') }}
),

as_of as (
    select
        (select as_of_date from {{ ref('int_run_dates') }}) as as_of_date,
        (select count(*) from {{ ref('prospects') }}) as prospects
)

select kpis.*
from kpis
cross join as_of
where kpis.prospects_at_month_start <> kpis.previous_prospects_at_month_end
    or (kpis.month_end_on = as_of.as_of_date and kpis.prospects_at_month_end <> as_of.prospects)
