{#
    Customer x month end: every customer's value, RFM scores, rfm8 class, segments and lifecycle
    stage as of each of the last `history_months` month ends (DESIGN sections 4-6), for the
    customers with a purchase on or before that month end; the last month end is the as-of
    date. Scores use the month end's own cut points (int_month_ends_cut_points); the scoring
    method of each dimension is a var (quantile | thresholds); segments come from the rule
    table (int_segment_rules_resolved): the active scheme (var segment_scheme), rfm_grid and
    rfm8, for new customers (first and only purchase at most var new_customer_days before the
    month end) and for the others. The segments at the previous month end (active scheme and
    rfm8) are scored the same way from the carried previous state (previous_*), for
    segment_migration, which also reads why a customer's cell may have changed
    (segment_change_reason).

    Incremental by month end: an appending build (new monthly transactions files, issue 15)
    recomputes only the month ends the new lines can change (macros/month_increments.sql) and
    keeps the others; every other build replaces the table, as a plain `dbt build` does.
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

customer_month_ends as (
    select * from {{ ref('int_customer_month_ends_spined') }}
    {%- if appending %}
    where month_end_on in ({{ recomputed }})
    {%- endif %}
),

cut_points as (
    select * from {{ ref('int_month_ends_cut_points') }}
),

thresholds as (
    select
        dimension,
        score,
        min_value,
        max_value
    from {{ ref('rfm_thresholds') }}
),

segment_cells as (
    select * from {{ ref('int_segment_rules_resolved') }}
),

threshold_bounds as (
    select
        {{ threshold_bounds_columns('r') }},
        {{ threshold_bounds_columns('f') }},
        {{ threshold_bounds_columns('m') }}
    from thresholds
),

score_cells as (
    select
        cast(r_scores.r_score as integer) as r_score,
        cast(fm_scores.fm_score as integer) as fm_score,
        codes.rfm8_code,
        new_customer_flags.is_new_customer
    from (select {{ unnest_range(1, 6) }} as r_score) as r_scores
    cross join (select {{ unnest_range(1, 6) }} as fm_score) as fm_scores
    cross join (
        select {{ unnest_list(["'111'", "'011'", "'101'", "'001'", "'110'", "'010'", "'100'", "'000'"]) }} as rfm8_code
    ) as codes
    cross join (select {{ unnest_list(['true', 'false']) }} as is_new_customer) as new_customer_flags
),

segment_lookup as (
    -- every (R, FM, rfm8 code, new customer) combination with its segment under the active
    -- scheme, rfm8 and rfm_grid (a score scheme matches on R and FM, a code scheme on the rfm8
    -- code, both on whether the customer is new)
    select
        score_cells.r_score,
        score_cells.fm_score,
        score_cells.rfm8_code,
        score_cells.is_new_customer,
        rfm_grid_cells.segment_code as rfm_grid_segment_code,
        rfm8_cells.segment_code as rfm8_segment_code,
        coalesce(active_score_cells.segment_code, active_code_cells.segment_code) as segment_code
    from score_cells
    left join segment_cells as rfm_grid_cells
        on rfm_grid_cells.scheme = 'rfm_grid'
        and score_cells.is_new_customer = rfm_grid_cells.is_new_customer
        and score_cells.r_score = rfm_grid_cells.r_score
        and score_cells.fm_score = rfm_grid_cells.fm_score
    left join segment_cells as rfm8_cells
        on rfm8_cells.scheme = 'rfm8'
        and score_cells.is_new_customer = rfm8_cells.is_new_customer
        and score_cells.rfm8_code = rfm8_cells.rfm8_code
    left join segment_cells as active_score_cells
        on active_score_cells.scheme = '{{ var("segment_scheme") }}'
        and score_cells.is_new_customer = active_score_cells.is_new_customer
        and score_cells.r_score = active_score_cells.r_score
        and score_cells.fm_score = active_score_cells.fm_score
    left join segment_cells as active_code_cells
        on active_code_cells.scheme = '{{ var("segment_scheme") }}'
        and score_cells.is_new_customer = active_code_cells.is_new_customer
        and score_cells.rfm8_code = active_code_cells.rfm8_code
),

scored as (
    select
        customer_month_ends.*,
        coalesce(customer_month_ends.lifetime_orders = 1
            and customer_month_ends.days_since_last_order <= {{ var('new_customer_days') | int }}, false)
            as is_new_customer,
        coalesce(customer_month_ends.previous_lifetime_orders = 1
            and {{ days_between('customer_month_ends.previous_last_order_on', 'customer_month_ends.previous_month_end_on') }}
                <= {{ var('new_customer_days') | int }}, false) as previous_is_new_customer,
        {{ score_columns(
            'customer_month_ends.days_since_last_order',
            'customer_month_ends.frequency_orders',
            'customer_month_ends.monetary_amount',
            'cut_points') }},
        {{ score_columns(
            'cast(' ~ days_between('customer_month_ends.previous_last_order_on', 'customer_month_ends.previous_month_end_on') ~ ' as integer)',
            'customer_month_ends.previous_frequency_orders',
            'customer_month_ends.previous_monetary_amount',
            'previous_cut_points', prefix='previous_') }}
    from customer_month_ends
    inner join cut_points
        on customer_month_ends.month_end_on = cut_points.month_end_on
    left join cut_points as previous_cut_points
        on customer_month_ends.previous_month_end_on = previous_cut_points.month_end_on
    cross join threshold_bounds
),

combined as (
    select
        *,
        {{ fm_score('f_score', 'm_score') }} as fm_score,
        {{ rfm8_code('is_recency_high', 'is_frequency_high', 'is_monetary_high') }} as rfm8_code,
        {{ fm_score('previous_f_score', 'previous_m_score') }} as previous_fm_score,
        case
            when previous_last_order_on is not null then {{ rfm8_code(
                'previous_is_recency_high', 'previous_is_frequency_high', 'previous_is_monetary_high') }}
        end as previous_rfm8_code
    from scored
),

staged as (
    select
        *,
        case
            when first_order_on >= month_start_on then 'new'
            when has_reactivation_in_month then 'reactivated'
            when {{ is_churned('last_order_on', 'month_end_on') }} then 'churned'
            when lifetime_orders >= 2
                and days_since_last_order > 1.5 * average_days_between_orders
                and days_since_last_order > 30
                then 'at_risk'
            when trailing_year_orders >= 4 then 'loyal'
            when lifetime_orders >= 2 then 'repeat'
            else 'one_time'
        end as lifecycle_stage,
        -- why the customer's cell may differ from the previous month end's: bought in the month,
        -- aged past a day boundary without buying (an R band or the rfm8 R threshold, an order
        -- leaving the window, the end of the new-customer period), or neither (rescored: the
        -- quantile cut points moved, or a return changed the window revenue)
        case
            when previous_last_order_on is null then 'first_purchase'
            when month_orders > 0 then 'bought'
            when r_score <> previous_r_score
                or is_recency_high is distinct from previous_is_recency_high
                or frequency_orders <> previous_frequency_orders
                or is_new_customer <> previous_is_new_customer
                then 'aged'
            else 'rescored'
        end as segment_change_reason
    from combined
),

segmented as (
    select
        staged.*,
        segment_lookup.segment_code,
        segment_lookup.rfm_grid_segment_code,
        segment_lookup.rfm8_segment_code,
        previous_lookup.segment_code as previous_segment_code,
        previous_lookup.rfm8_segment_code as previous_rfm8_segment_code
    from staged
    left join segment_lookup
        on staged.r_score = segment_lookup.r_score
        and staged.fm_score = segment_lookup.fm_score
        and staged.rfm8_code = segment_lookup.rfm8_code
        and staged.is_new_customer = segment_lookup.is_new_customer
    left join segment_lookup as previous_lookup
        on staged.previous_r_score = previous_lookup.r_score
        and staged.previous_fm_score = previous_lookup.fm_score
        and staged.previous_rfm8_code = previous_lookup.rfm8_code
        and staged.previous_is_new_customer = previous_lookup.is_new_customer
),

final as (
    select
        month_end_on,
        customer_id,
        days_since_last_order,
        lifetime_orders,
        lifetime_net_revenue,
        frequency_orders,
        monetary_amount,
        month_orders,
        month_net_revenue,
        is_new_customer,
        r_score,
        f_score,
        m_score,
        fm_score,
        rfm8_code,
        segment_code,
        rfm_grid_segment_code,
        rfm8_segment_code,
        lifecycle_stage,
        previous_r_score,
        previous_segment_code,
        previous_rfm8_segment_code,
        segment_change_reason
    from segmented
)

select * from final
