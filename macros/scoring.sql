{#
    RFM scoring and segment rules (DESIGN sections 4 and 5). The customer models call these so
    that the current customers, every history month end and the tests score the same way.
#}

{#
    score_method(dimension): the validated scoring method of dimension 'r', 'f' or 'm'
    (vars r_score_method, f_score_method, m_score_method): 'quantile' or 'thresholds'.
#}
{% macro score_method(dimension) -%}
    {%- set method = var(dimension ~ '_score_method') -%}
    {%- if method not in ['quantile', 'thresholds'] -%}
        {{ exceptions.raise_compiler_error(
            "var " ~ dimension ~ "_score_method: must be quantile or thresholds, not '" ~ method ~ "'"
        ) }}
    {%- endif -%}
    {{ return(method) }}
{%- endmacro %}


{#
    quantile_cut_points(value): the 20th, 40th, 60th and 80th percentiles of `value` over the
    group, as a list of 4 values of the group (nearest rank: with the n values sorted
    ascending, cut point k is the value at position ceil(k * n / 5); DuckDB's quantile_disc).
    A percentile that falls inside a run of equal values is that value, so cut points can
    repeat (e.g. F: when 60% of customers have 1 order, the first three cut points are all 1).
#}
{% macro quantile_cut_points(value, where=none) -%}
    {%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('quantile_cut_points', 'retail_tiers')(value, where)) }}{% endif %}
    quantile_disc({{ value }}, [0.2, 0.4, 0.6, 0.8]){% if where %} filter (where {{ where }}){% endif %}
{%- endmacro %}


{#
    score_by_cut_points(value, prefix, higher_is_better): the quantile score 1-5 of `value`
    against the columns <prefix>_1 .. <prefix>_4 (ascending cut points).
    Score = 1 + the number of cut points strictly below the value, so a value equal to a cut
    point falls in the lower bin, bins are (cut k-1, cut k], and EQUAL VALUES ALWAYS GET
    EQUAL SCORES. Repeated cut points leave the scores between them empty. For recency
    (higher_is_better = false: fewer days since the last order is better) the score is reversed:
    5 - the number of cut points strictly below the value.
#}
{% macro score_by_cut_points(value, prefix, higher_is_better=true) -%}
    {%- set cut_points_below -%}
        ({% for k in range(1, 5) %}cast({{ value }} > {{ prefix }}_{{ k }} as integer){{ " + " if not loop.last }}{% endfor %})
    {%- endset -%}
    {%- if higher_is_better -%}
        (1 + {{ cut_points_below }})
    {%- else -%}
        (5 - {{ cut_points_below }})
    {%- endif -%}
{%- endmacro %}


{#
    threshold_bounds_columns(dimension): select-list items that pivot seed rfm_thresholds into
    one row: <dimension>_score_<s>_min_value, _max_value and _is_defined for scores 1-5.
#}
{% macro threshold_bounds_columns(dimension) -%}
    {%- for score in range(1, 6) %}
        max(min_value) filter (where dimension = '{{ dimension }}' and score = {{ score }})
            as {{ dimension }}_score_{{ score }}_min_value,
        max(max_value) filter (where dimension = '{{ dimension }}' and score = {{ score }})
            as {{ dimension }}_score_{{ score }}_max_value,
        count(*) filter (where dimension = '{{ dimension }}' and score = {{ score }}) = 1
            as {{ dimension }}_score_{{ score }}_is_defined{{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}


{#
    score_by_thresholds(value, dimension): the score whose seed row (rfm_thresholds) holds the
    value: min_value <= value < max_value, an empty bound being open. Null when no row holds it
    (a singular test proves the seed leaves no gaps and no overlaps).
#}
{% macro score_by_thresholds(value, dimension) -%}
    case
        {%- for score in range(5, 0, -1) %}
        {%- set column = dimension ~ '_score_' ~ score %}
        when {{ column }}_is_defined
            and ({{ column }}_min_value is null or {{ value }} >= {{ column }}_min_value)
            and ({{ column }}_max_value is null or {{ value }} < {{ column }}_max_value)
            then {{ score }}
        {%- endfor %}
    end
{%- endmacro %}


{#
    fm_score(f_score, m_score): round half up of (F + M) / 2, in integer arithmetic so no
    floating-point or banker's rounding can creep in: (F + M + 1) // 2 (2.5 -> 3, 3.5 -> 4).
#}
{% macro fm_score(f_score, m_score) -%}
    cast({{ int_div('(' ~ f_score ~ ' + ' ~ m_score ~ ' + 1)', 2) }} as integer)
{%- endmacro %}


{#
    rfm8_threshold(var_name, population_default): the fixed threshold of var `var_name` when
    set, else `population_default`, an expression over the month end's population (for R the
    mean days capped at churn_days, for F the window buyers' mean but at least 2, for M the mean
    window revenue of the buyers with positive revenue: int_month_ends_cut_points).
#}
{% macro rfm8_threshold(var_name, population_default) -%}
    {%- if var(var_name) is not none -%}
        cast({{ var(var_name) }} as double)
    {%- else -%}
        {{ population_default }}
    {%- endif -%}
{%- endmacro %}


{#
    segment_schemes(): the schemes customer_monthly_history carries, and so segment_migration
    and the month-end summaries: the active scheme (var segment_scheme) and rfm8.
#}
{% macro segment_schemes() -%}
    {%- set schemes = [var('segment_scheme')] -%}
    {%- if 'rfm8' not in schemes -%}
        {%- do schemes.append('rfm8') -%}
    {%- endif -%}
    {{ return(schemes) }}
{%- endmacro %}


{#
    segment_code_column(scheme): the column of customer_monthly_history (and customers) holding
    a scheme's segment code: rfm8_segment_code for rfm8, segment_code for the active scheme.
#}
{% macro segment_code_column(scheme) -%}
    {%- if scheme == 'rfm8' -%}
        rfm8_segment_code
    {%- else -%}
        segment_code
    {%- endif -%}
{%- endmacro %}


{#
    score_columns(days, frequency, monetary, cut_points, prefix): select-list items scoring one
    state: <prefix>r_score, f_score, m_score (by the vars' methods: quantile against the cut point
    columns of relation alias `cut_points`, thresholds against the pivoted rfm_thresholds
    columns of threshold_bounds_columns()) and the rfm8 flags <prefix>is_recency_high,
    is_frequency_high, is_monetary_high (R high = RECENT: days <= the R threshold).
    Scores by rule, whatever the method: no purchase in the window scores F 1 and M 1, and no
    positive net revenue in the window scores M 1 (the quantiles are cut over the others only,
    int_month_ends_cut_points); a customer past churn_days scores at most R 2 and is never R
    high in rfm8, so no setting of churn_days puts a churned customer in a segment that
    promises activity (R 3-5 feed those).
#}
{% macro score_columns(days, frequency, monetary, cut_points, prefix='') -%}
    {%- set values = {'r': days, 'f': frequency, 'm': monetary} -%}
    {%- set scored_by_rule = {
        'r': none,
        'f': frequency ~ ' = 0',
        'm': '(' ~ frequency ~ ' = 0 or ' ~ monetary ~ ' <= 0)'} -%}
    {%- for dimension in ['r', 'f', 'm'] %}
        {%- set score -%}
        {% if scored_by_rule[dimension] %}case when {{ scored_by_rule[dimension] }} then 1 else {% endif -%}
        {% if score_method(dimension) == 'quantile' -%}
        {{ score_by_cut_points(values[dimension], cut_points ~ '.' ~ dimension ~ '_cut_point', higher_is_better=(dimension != 'r')) }}
        {%- else -%}
        {{ score_by_thresholds(values[dimension], dimension) }}
        {%- endif %}{% if scored_by_rule[dimension] %} end{% endif -%}
        {%- endset %}
        {% if dimension == 'r' -%}
        case
            when {{ is_past_churn_days(days) }} then least({{ score }}, 2)
            else {{ score }}
        end
        {%- else -%}
        {{ score }}
        {%- endif %} as {{ prefix }}{{ dimension }}_score,
    {%- endfor %}
        ({{ days }} <= {{ cut_points }}.rfm8_recency_days_threshold
            and not {{ is_past_churn_days(days) }}) as {{ prefix }}is_recency_high,
        {{ frequency }} >= {{ cut_points }}.rfm8_frequency_threshold as {{ prefix }}is_frequency_high,
        {{ monetary }} >= {{ cut_points }}.rfm8_monetary_threshold as {{ prefix }}is_monetary_high
{%- endmacro %}


{#
    rfm8_code(is_recency_high, is_frequency_high, is_monetary_high): the flags as three digits
    in R, F, M order ('101' = recent, infrequent, high spend); a null flag reads as low.
#}
{% macro rfm8_code(is_recency_high, is_frequency_high, is_monetary_high) -%}
    ((case when {{ is_recency_high }} then '1' else '0' end)
        || (case when {{ is_frequency_high }} then '1' else '0' end)
        || (case when {{ is_monetary_high }} then '1' else '0' end))
{%- endmacro %}
