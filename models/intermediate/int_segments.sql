{#
    One row per segment of the rule table (seed segment_rules): its scheme and code with the
    priority, names, recommended actions, tier rank and activity promise of its first rule by
    priority (a segment may span
    several rules, e.g. several cells of the grid). Every mart that names, orders or describes
    segments reads them here, so they all agree.
#}

with

rules as (
    select
        scheme,
        priority,
        segment_code,
        segment_name_en,
        segment_name_zh,
        action_en,
        action_zh,
        tier_rank,
        promises_activity
    from {{ ref('segment_rules') }}
),

final as (
    select
        scheme,
        segment_code,
        priority,
        segment_name_en,
        segment_name_zh,
        action_en,
        action_zh,
        tier_rank,
        promises_activity
    from rules
    qualify row_number() over (partition by scheme, segment_code order by priority) = 1
)

select * from final
