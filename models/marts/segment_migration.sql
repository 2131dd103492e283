{#
    Segment migration: for every history month end after the first, per scheme, how many
    customers moved from each segment at the previous month end to each segment at this month
    end, and their net revenue in the month. Customers without a purchase at the previous month
    end (first purchase in the month) come from 'none'. Every (from, to) pair of the rule table is
    listed, with 0 customers when nobody moved that way. Each pair also counts its customers by
    why their cell changed (customer_monthly_history.segment_change_reason: bought, aged past a
    day boundary, rescored) and says whether it is an upgrade or a downgrade (tier_rank).
#}

with

history as (
    select
        month_end_on,
        month_net_revenue,
        segment_change_reason,
        {%- for scheme in segment_schemes() %}
        previous_{{ segment_code_column(scheme) }},
        {{ segment_code_column(scheme) }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ ref('int_customer_months_classified') }}
),

month_ends as (
    select
        month_end_index,
        month_end_on,
        previous_month_end_on
    from {{ ref('int_month_ends') }}
),

segments as (
    select
        scheme,
        segment_code,
        priority,
        segment_name_en,
        segment_name_zh,
        tier_rank
    from {{ ref('int_segments') }}
    where scheme in ('{{ segment_schemes() | join("', '") }}')
),

segment_pairs as (
    -- one pass over the history: customers and revenue per month and combination of segments
    select
        month_end_on,
        segment_change_reason,
        {%- for scheme in segment_schemes() %}
        previous_{{ segment_code_column(scheme) }},
        {{ segment_code_column(scheme) }},
        {%- endfor %}
        count(*) as customer_count,
        cast(sum(month_net_revenue) as decimal(18, 4)) as month_net_revenue
    from history
    group by all
),

transitions as (
    {%- for scheme in segment_schemes() %}
    select
        month_end_on,
        '{{ scheme }}' as scheme,
        coalesce(previous_{{ segment_code_column(scheme) }}, 'none') as from_segment_code,
        {{ segment_code_column(scheme) }} as to_segment_code,
        segment_change_reason,
        customer_count,
        month_net_revenue
    from segment_pairs
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

transition_totals as (
    select
        month_end_on,
        scheme,
        from_segment_code,
        to_segment_code,
        cast(sum(customer_count) as bigint) as customer_count,
        {%- for reason in ['bought', 'aged', 'rescored'] %}
        cast(sum(case when segment_change_reason = '{{ reason }}' then customer_count else 0 end)
            as bigint) as {{ reason }}_customer_count,
        {%- endfor %}
        cast(sum(month_net_revenue) as decimal(18, 4)) as month_net_revenue
    from transitions
    group by month_end_on, scheme, from_segment_code, to_segment_code
),

from_segments as (
    select
        scheme,
        segment_code,
        priority,
        segment_name_en,
        segment_name_zh,
        tier_rank
    from segments
    union all
    select distinct
        scheme,
        'none' as segment_code,
        0 as priority,
        'No purchase yet' as segment_name_en,
        '此前尚无购买' as segment_name_zh,
        cast(null as integer) as tier_rank
    from segments
),

migration_cells as (
    select
        month_ends.month_end_on,
        month_ends.previous_month_end_on,
        from_segments.scheme,
        from_segments.segment_code as from_segment_code,
        from_segments.priority as from_segment_priority,
        from_segments.segment_name_en as from_segment_name_en,
        from_segments.segment_name_zh as from_segment_name_zh,
        from_segments.tier_rank as from_tier_rank,
        to_segments.segment_code as to_segment_code,
        to_segments.priority as to_segment_priority,
        to_segments.segment_name_en as to_segment_name_en,
        to_segments.segment_name_zh as to_segment_name_zh,
        to_segments.tier_rank as to_tier_rank
    from month_ends
    cross join from_segments
    inner join segments as to_segments
        on from_segments.scheme = to_segments.scheme
    where month_ends.month_end_index > 0
),

final as (
    select
        migration_cells.month_end_on,
        migration_cells.previous_month_end_on,
        migration_cells.scheme,
        migration_cells.from_segment_code,
        migration_cells.from_segment_name_en,
        migration_cells.from_segment_name_zh,
        migration_cells.from_segment_priority,
        migration_cells.to_segment_code,
        migration_cells.to_segment_name_en,
        migration_cells.to_segment_name_zh,
        migration_cells.to_segment_priority,
        case
            when migration_cells.from_segment_code = 'none' then 'entered'
            when migration_cells.from_segment_code = migration_cells.to_segment_code then 'stayed'
            when migration_cells.to_tier_rank < migration_cells.from_tier_rank then 'upgrade'
            when migration_cells.to_tier_rank > migration_cells.from_tier_rank then 'downgrade'
            else 'lateral'
        end as move_direction,
        coalesce(transition_totals.customer_count, 0) as customer_count,
        coalesce(transition_totals.bought_customer_count, 0) as bought_customer_count,
        coalesce(transition_totals.aged_customer_count, 0) as aged_customer_count,
        coalesce(transition_totals.rescored_customer_count, 0) as rescored_customer_count,
        coalesce(transition_totals.month_net_revenue, 0) as month_net_revenue
    from migration_cells
    left join transition_totals
        on migration_cells.month_end_on = transition_totals.month_end_on
        and migration_cells.scheme = transition_totals.scheme
        and migration_cells.from_segment_code = transition_totals.from_segment_code
        and migration_cells.to_segment_code = transition_totals.to_segment_code
)

select * from final
