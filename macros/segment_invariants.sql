{#
    The promises the default segments make, as generic data tests (issue "tiers that mean their
    names"). Each returns one row per broken promise with a `problem` sentence naming the month,
    the segment and the number of customers; the tests store their failures, and
    `retail-tiers build` prints those sentences. An analyst whose own rules break a promise on
    purpose switches all of them off with var check_segment_invariants: false (the build then
    says so, macro note_segment_invariants).
#}

{#
    segments_agree_with_lifecycle(model, month_column): on a customer mart (customers, or
    customer_monthly_history), per month end:
    - no customer past churn_days sits in a segment whose name promises activity (seed column
      promises_activity: rfm_grid Champions, Loyal, Potential Loyalist, New, Promising; the rfm8
      classes with R high);
    - a customer whose first and only purchase is at most new_customer_days old is in rfm_grid's
      New and in an rfm8 "develop" class (R high, F low: codes 101 and 100).
#}
{% test segments_agree_with_lifecycle(model, month_column) %}
{{ config(enabled=var('check_segment_invariants'), store_failures=true) }}
{%- set churn_days = var('churn_days') | int -%}
{%- set new_customer_days = var('new_customer_days') | int %}

with

customer_segments as (
    select
        {{ month_column }} as month_end_on,
        days_since_last_order,
        lifetime_orders,
        rfm_grid_segment_code,
        rfm8_segment_code,
        rfm8_code
    from {{ model }}
),

segments as (
    select
        scheme,
        segment_code,
        promises_activity
    from {{ ref('int_segments') }}
),

scheme_memberships as (
    select month_end_on, days_since_last_order, 'rfm_grid' as scheme, rfm_grid_segment_code as segment_code
    from customer_segments
    union all
    select month_end_on, days_since_last_order, 'rfm8' as scheme, rfm8_segment_code as segment_code
    from customer_segments
),

churned_in_active_segments as (
    select
        scheme_memberships.month_end_on,
        scheme_memberships.scheme,
        scheme_memberships.segment_code,
        count(*) as customer_count
    from scheme_memberships
    inner join segments
        on scheme_memberships.scheme = segments.scheme
        and scheme_memberships.segment_code = segments.segment_code
    where segments.promises_activity
        and {{ is_past_churn_days('scheme_memberships.days_since_last_order') }}
    group by all
),

new_customers as (
    select
        month_end_on,
        rfm_grid_segment_code,
        rfm8_segment_code,
        rfm8_code
    from customer_segments
    where lifetime_orders = 1
        and days_since_last_order <= {{ new_customer_days }}
),

new_customers_elsewhere as (
    select
        month_end_on,
        'rfm_grid' as scheme,
        rfm_grid_segment_code as segment_code,
        count(*) as customer_count,
        'new' as expected_segment
    from new_customers
    where rfm_grid_segment_code <> 'new'
    group by all
    union all
    select
        month_end_on,
        'rfm8' as scheme,
        rfm8_segment_code as segment_code,
        count(*) as customer_count,
        'a develop class (R high, F low: 101 or 100)' as expected_segment
    from new_customers
    where rfm8_code not in ('101', '100')
    group by all
),

problems as (
    select
        month_end_on,
        scheme,
        segment_code,
        customer_count,
        cast(month_end_on as string) || ': ' || customer_count || ' customers past churn_days ('
            || {{ churn_days }} || ' days) in ' || scheme || ' segment ' || segment_code
            || ', whose name promises a customer who still buys' as problem
    from churned_in_active_segments
    union all
    select
        month_end_on,
        scheme,
        segment_code,
        customer_count,
        cast(month_end_on as string) || ': ' || customer_count || ' new customers (first and only '
            || 'purchase at most {{ new_customer_days }} days old) in ' || scheme || ' segment '
            || segment_code || ' instead of ' || expected_segment as problem
    from new_customers_elsewhere
)

select * from problems
{% endtest %}


{#
    recency_moves_only_at_day_boundaries(model): on customer_monthly_history, a customer who did
    not buy in the month changes R score only when days since the last order crossed the lower
    bound of an R band of seed rfm_thresholds, or churn_days, during the month (previous days <
    bound <= days).
    Only for R scored by thresholds (the default): quantile recency moves with its cut points,
    which is why it is not the default.
#}
{% test recency_moves_only_at_day_boundaries(model) %}
{{ config(enabled=var('check_segment_invariants') and var('r_score_method') == 'thresholds',
          store_failures=true) }}

with

non_buyers as (
    -- no purchase in the month, so the last order is the same and the previous month end's
    -- recency is this one's minus the month's length in days
    select
        month_end_on,
        days_since_last_order,
        days_since_last_order - extract(day from month_end_on) as previous_days_since_last_order,
        r_score,
        previous_r_score
    from {{ model }}
    where month_orders = 0
        and previous_r_score is not null
        and r_score <> previous_r_score
),

band_starts as (
    -- the R bands' lower bounds, and the day after churn_days (past it, R is at most 2)
    select min_value as band_start_days
    from {{ ref('rfm_thresholds') }}
    where dimension = 'r'
        and min_value is not null
    union all
    select {{ var('churn_days') | int }} + 1 as band_start_days
),

unexplained_moves as (
    select
        non_buyers.month_end_on,
        non_buyers.previous_r_score,
        non_buyers.r_score,
        count(*) as customer_count
    from non_buyers
    where not exists (
        select 1
        from band_starts
        where non_buyers.previous_days_since_last_order < band_starts.band_start_days
            and band_starts.band_start_days <= non_buyers.days_since_last_order
    )
    group by all
),

problems as (
    select
        month_end_on,
        previous_r_score,
        r_score,
        customer_count,
        cast(month_end_on as string) || ': ' || customer_count || ' customers without a purchase '
            || 'moved from R ' || previous_r_score || ' to R ' || r_score
            || ' without crossing a day boundary of rfm_thresholds' as problem
    from unexplained_moves
)

select * from problems
{% endtest %}


{#
    note_segment_invariants(): an on-run-start hook that says, in every build's output, when the
    segment invariant tests are switched off. Returns no SQL to run.
#}
{% macro note_segment_invariants() -%}
    {%- if execute and not var('check_segment_invariants') -%}
        {{ log("note: the segment invariant tests are off (var check_segment_invariants = false): "
               ~ "segments are not checked against their names", info=true) }}
    {%- endif -%}
    select 1
{%- endmacro %}
