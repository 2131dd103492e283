{{ config(store_failures=true) }}
{#
    Every (R score, FM score) cell 1..5 x 1..5 of a score scheme and every one of the 8 rfm8
    codes of a code scheme, each for new customers and for the others, gets exactly one segment, for rfm_grid, rfm8 and the active scheme
    (var segment_scheme). With priorities unique within a scheme (tested on the seed) the first
    match is unique, so a cell has exactly one segment when it has at least one matching rule.
    Also fails when a required scheme is missing, when a scheme mixes score and rfm8 rules, or
    when rfm_grid is not a score scheme or rfm8 not a code scheme. Returns one row per problem.
#}

with

rules as (
    select * from {{ ref('segment_rules') }}
),

resolved as (
    select * from {{ ref('int_segment_rules_resolved') }}
),

required_schemes as (
    select distinct scheme
    from (
        select {{ unnest_list(["'rfm_grid'", "'rfm8'", "'" ~ var("segment_scheme") ~ "'"]) }} as scheme
    )
),

scheme_kinds as (
    select
        scheme,
        bool_or(rfm8_code is null) as has_score_rules,
        bool_or(rfm8_code is not null) as has_code_rules
    from rules
    group by scheme
),

required_scheme_kinds as (
    select
        required_schemes.scheme,
        coalesce(scheme_kinds.has_score_rules, false) as has_score_rules,
        coalesce(scheme_kinds.has_code_rules, false) as has_code_rules
    from required_schemes
    left join scheme_kinds
        on required_schemes.scheme = scheme_kinds.scheme
),

scores as (
    select {{ unnest_range(1, 6, cast_to='integer') }} as score
),

new_customer_flags as (
    select {{ unnest_list(['true', 'false']) }} as is_new_customer
),

score_cells as (
    select
        required_scheme_kinds.scheme,
        r_scores.score as r_score,
        fm_scores.score as fm_score,
        new_customer_flags.is_new_customer
    from required_scheme_kinds
    cross join scores as r_scores
    cross join scores as fm_scores
    cross join new_customer_flags
    where required_scheme_kinds.has_score_rules
),

code_cells as (
    select
        required_scheme_kinds.scheme,
        codes.rfm8_code,
        new_customer_flags.is_new_customer
    from required_scheme_kinds
    cross join new_customer_flags
    cross join (
        select {{ unnest_list(["'111'", "'011'", "'101'", "'001'", "'110'", "'010'", "'100'", "'000'"]) }} as rfm8_code
    ) as codes
    where required_scheme_kinds.has_code_rules
),

uncovered_score_cells as (
    select
        score_cells.scheme,
        'no segment for R ' || score_cells.r_score || ', FM ' || score_cells.fm_score
            || case when score_cells.is_new_customer then ' (new customers)' else '' end as problem
    from score_cells
    left join resolved
        on score_cells.scheme = resolved.scheme
        and score_cells.r_score = resolved.r_score
        and score_cells.fm_score = resolved.fm_score
        and score_cells.is_new_customer = resolved.is_new_customer
    group by score_cells.scheme, score_cells.r_score, score_cells.fm_score, score_cells.is_new_customer
    having count(resolved.segment_code) <> 1
),

uncovered_code_cells as (
    select
        code_cells.scheme,
        'no segment for rfm8 code ' || code_cells.rfm8_code
            || case when code_cells.is_new_customer then ' (new customers)' else '' end as problem
    from code_cells
    left join resolved
        on code_cells.scheme = resolved.scheme
        and code_cells.rfm8_code = resolved.rfm8_code
        and code_cells.is_new_customer = resolved.is_new_customer
    group by code_cells.scheme, code_cells.rfm8_code, code_cells.is_new_customer
    having count(resolved.segment_code) <> 1
),

scheme_problems as (
    select
        scheme,
        case
            when not has_score_rules and not has_code_rules then 'scheme has no rules'
            when has_score_rules and has_code_rules then 'scheme mixes score rules and rfm8 rules'
            when scheme = 'rfm_grid' and not has_score_rules then 'rfm_grid must use score rules'
            when scheme = 'rfm8' and not has_code_rules then 'rfm8 must use rfm8_code rules'
        end as problem
    from required_scheme_kinds
),

problems as (
    select scheme, problem from scheme_problems where problem is not null
    union all
    select scheme, problem from uncovered_score_cells
    union all
    select scheme, problem from uncovered_code_cells
)

-- `problem` names the rule table and the cell; the build prints it (stored failures)
select
    scheme,
    'seeds/segment_rules.csv, scheme ' || scheme || ': ' || problem as problem
from problems
