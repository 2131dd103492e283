{{ config(store_failures=true) }}
{#
    Seed rfm_thresholds gives every possible value exactly one score, per dimension (r, f, m)
    used or not: scores 1-5 each once, bands ordered by min_value that follow on from each other
    (the first open below, each max_value = the next min_value, the last open above) and scores
    that rise with the value for f and m and fall with it for r (fewer days = better).
    Returns one row per problem.
#}

with

thresholds as (
    select * from {{ ref('rfm_thresholds') }}
),

dimensions as (
    select {{ unnest_list(["'r'", "'f'", "'m'"]) }} as dimension
),

ordered_bands as (
    select
        dimension,
        score,
        min_value,
        max_value,
        row_number() over (partition by dimension order by min_value nulls first) as band_number,
        count(*) over (partition by dimension) as band_count,
        lead(min_value) over (partition by dimension order by min_value nulls first) as next_min_value,
        lead(score) over (partition by dimension order by min_value nulls first) as next_score
    from thresholds
),

band_problems as (
    select
        dimension,
        'score ' || score || ': ' || case
            when band_number = 1 and min_value is not null then 'lowest band must have an empty min_value'
            when band_number > 1 and min_value is null then 'only the lowest band may have an empty min_value'
            when band_number = band_count and max_value is not null then 'highest band must have an empty max_value'
            when band_number < band_count and (max_value is null or max_value <> next_min_value)
                then 'max_value must equal the next band''s min_value'
            when band_number < band_count and dimension in ('f', 'm') and next_score <> score + 1
                then 'scores must rise by 1 from band to band'
            when band_number < band_count and dimension = 'r' and next_score <> score - 1
                then 'R scores must fall by 1 from band to band (more days = lower score)'
        end as problem
    from ordered_bands
),

count_problems as (
    select
        dimensions.dimension,
        'needs scores 1-5 exactly once each' as problem
    from dimensions
    left join thresholds
        on dimensions.dimension = thresholds.dimension
    group by dimensions.dimension
    having count(thresholds.score) <> 5 or count(distinct thresholds.score) <> 5
),

problems as (
    select dimension, problem from band_problems where problem is not null
    union all
    select dimension, problem from count_problems
)

-- `problem` names the rule table and the cell; the build prints it (stored failures)
select
    dimension,
    'seeds/rfm_thresholds.csv, dimension ' || dimension || ': ' || problem as problem
from problems
