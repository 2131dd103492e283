{#
    Rules that share a segment_code within a scheme must agree on the segment's names, actions,
    tier rank and activity promise (the marts show one of each per segment). Returns the disagreeing segments.
#}

with

rules as (
    select * from {{ ref('segment_rules') }}
),

segment_texts as (
    select
        scheme,
        segment_code,
        count(distinct {{ list_of([
            'segment_name_en', 'segment_name_zh', 'action_en', 'action_zh',
            "coalesce(cast(tier_rank as string), '')", 'cast(promises_activity as string)'
        ]) }}) as text_variants
    from rules
    group by scheme, segment_code
)

select * from segment_texts
where text_variants > 1
