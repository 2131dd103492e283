{#
    The R x F grid at every month end of the customer history, so the report's heatmap is
    month-specific: customers by R score and F score at each month end, all 25 cells (0
    customers when empty). recency_frequency_grid is its as-of month end.

    Incremental by month end, as int_customer_months_classified (macros/month_increments.sql):
    an appending build recomputes only the month ends the new lines can change.
#}
{{ config(
    materialized='incremental',
    incremental_strategy=keyed_increment_strategy(),
    unique_key='month_end_on',
    full_refresh=full_refresh_unless_appending(),
    on_schema_change='fail',
    post_hook=["{{ drop_month_ends_left_behind() }}"],
) }}
{%- set appending = is_appending() %}
{%- set recomputed = recomputed_month_ends(this) if appending else none %}

with

history as (
    select
        month_end_on,
        r_score,
        f_score,
        monetary_amount
    from {{ ref('int_customer_months_classified') }}
    {%- if appending %}
    where month_end_on in ({{ recomputed }})
    {%- endif %}
),

month_ends as (
    select month_end_on from {{ ref('int_month_ends') }}
    {%- if appending %}
    where month_end_on in ({{ recomputed }})
    {%- endif %}
),

scores as (
    select {{ unnest_range(1, 6, cast_to='integer') }} as score
),

cells as (
    select
        month_ends.month_end_on,
        r_scores.score as r_score,
        f_scores.score as f_score
    from month_ends
    cross join scores as r_scores
    cross join scores as f_scores
),

cell_totals as (
    select
        month_end_on,
        r_score,
        f_score,
        count(*) as customer_count,
        sum(monetary_amount) as monetary_amount
    from history
    group by month_end_on, r_score, f_score
),

month_totals as (
    select
        month_end_on,
        count(*) as customer_count
    from history
    group by month_end_on
),

final as (
    select
        cells.month_end_on,
        cells.r_score,
        cells.f_score,
        coalesce(cell_totals.customer_count, 0) as customer_count,
        coalesce(
            cast(cell_totals.customer_count as double) / nullif(month_totals.customer_count, 0), 0
        ) as customer_share_rate,
        coalesce(cell_totals.monetary_amount, 0) as monetary_amount,
        cast(cell_totals.monetary_amount as double) / cell_totals.customer_count
            as mean_monetary_amount
    from cells
    left join cell_totals
        on cells.month_end_on = cell_totals.month_end_on
        and cells.r_score = cell_totals.r_score
        and cells.f_score = cell_totals.f_score
    left join month_totals
        on cells.month_end_on = month_totals.month_end_on
)

select * from final
