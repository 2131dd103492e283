{#
    Seed segment_rules resolved to one segment per score cell: for a score scheme (rules with
    R / FM score ranges, e.g. rfm_grid) every (R score, FM score, is new customer) cell
    1..5 x 1..5 x (true, false), for a code scheme (rules with an rfm8_code, e.g. rfm8) every
    (rfm8 code, is new customer) cell of the 8 codes. A cell takes the first matching rule by
    priority; an empty bound (or an empty is_new_customer) is open. Customers are joined to these
    cells, so rules stay data: edit the seed, rebuild, customers move.
#}

with

rules as (
    select
        scheme,
        priority,
        segment_code,
        r_score_min,
        r_score_max,
        fm_score_min,
        fm_score_max,
        rfm8_code,
        is_new_customer
    from {{ ref('segment_rules') }}
),

scores as (
    select {{ unnest_range(1, 6) }} as score
),

score_cells as (
    select
        cast(r_scores.score as integer) as r_score,
        cast(fm_scores.score as integer) as fm_score
    from scores as r_scores
    cross join scores as fm_scores
),

rfm8_codes as (
    select {{ unnest_list(["'111'", "'011'", "'101'", "'001'", "'110'", "'010'", "'100'", "'000'"]) }} as rfm8_code
),

new_customer_flags as (
    select {{ unnest_list(['true', 'false']) }} as is_new_customer
),

score_rule_matches as (
    select
        rules.scheme,
        score_cells.r_score,
        score_cells.fm_score,
        cast(null as string) as rfm8_code,
        new_customer_flags.is_new_customer,
        rules.segment_code,
        rules.priority
    from rules
    cross join new_customer_flags
    inner join score_cells
        on (rules.is_new_customer is null or rules.is_new_customer = new_customer_flags.is_new_customer)
        and (rules.r_score_min is null or score_cells.r_score >= rules.r_score_min)
        and (rules.r_score_max is null or score_cells.r_score <= rules.r_score_max)
        and (rules.fm_score_min is null or score_cells.fm_score >= rules.fm_score_min)
        and (rules.fm_score_max is null or score_cells.fm_score <= rules.fm_score_max)
    where rules.rfm8_code is null
),

code_rule_matches as (
    select
        rules.scheme,
        cast(null as integer) as r_score,
        cast(null as integer) as fm_score,
        rfm8_codes.rfm8_code,
        new_customer_flags.is_new_customer,
        rules.segment_code,
        rules.priority
    from rules
    cross join new_customer_flags
    inner join rfm8_codes
        on rules.rfm8_code = rfm8_codes.rfm8_code
        and (rules.is_new_customer is null or rules.is_new_customer = new_customer_flags.is_new_customer)
),

rule_matches as (
    select * from score_rule_matches
    union all
    select * from code_rule_matches
),

first_matches as (
    select
        scheme,
        r_score,
        fm_score,
        rfm8_code,
        is_new_customer,
        segment_code,
        priority as rule_priority
    from rule_matches
    qualify row_number() over (
        partition by scheme, r_score, fm_score, rfm8_code, is_new_customer
        order by priority, segment_code
    ) = 1
)

select * from first_matches
