{#
    Cross-database SQL functions (see engine.sql): lists, series, months, percentiles.
    Each `duckdb__` version renders exactly the DuckDB SQL the models held before.
#}

{# unnest_list(items): one row per item of a literal list (a select-list generator). #}
{% macro unnest_list(items) -%}
    {{ return(adapter.dispatch('unnest_list', 'retail_tiers')(items)) }}
{%- endmacro %}
{% macro duckdb__unnest_list(items) -%}
    unnest([{{ items | join(', ') }}])
{%- endmacro %}
{% macro spark__unnest_list(items) -%}
    explode(array({{ items | join(', ') }}))
{%- endmacro %}


{#
    unnest_range(start, stop, cast_to=none): one row per integer start, start + 1, ..., stop - 1
    (none when stop <= start), as a select-list generator; `cast_to` casts each value.
#}
{% macro unnest_range(start, stop, cast_to=none) -%}
    {{ return(adapter.dispatch('unnest_range', 'retail_tiers')(start, stop, cast_to)) }}
{%- endmacro %}
{% macro duckdb__unnest_range(start, stop, cast_to=none) -%}
    {%- if cast_to %}cast(unnest(range({{ start }}, {{ stop }})) as {{ cast_to }}){% else %}unnest(range({{ start }}, {{ stop }})){% endif -%}
{%- endmacro %}
{% macro spark__unnest_range(start, stop, cast_to=none) -%}
    {%- set values = "sequence(" ~ start ~ ", greatest(" ~ start ~ ", " ~ stop ~ " - 1))" -%}
    explode(filter({% if cast_to %}transform({{ values }}, value -> cast(value as {{ cast_to }})){% else %}{{ values }}{% endif %}, value -> value < {{ stop }}))
{%- endmacro %}


{#
    unnest_zipped(lists): several literal lists unnested side by side, one row per position:
    {alias: [items]} (an ordered dict) -> the select-list items `alias` for each list.
#}
{% macro unnest_zipped(lists) -%}
    {{ return(adapter.dispatch('unnest_zipped', 'retail_tiers')(lists)) }}
{%- endmacro %}
{% macro duckdb__unnest_zipped(lists) -%}
    {%- for alias, items in lists.items() %}
        unnest([{{ items | join(', ') }}]) as {{ alias }}{{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}
{% macro spark__unnest_zipped(lists) -%}
    inline(arrays_zip(
        {%- for alias, items in lists.items() %}array({{ items | join(', ') }}){{ ", " if not loop.last }}{% endfor -%}
    )) as ({{ lists.keys() | join(', ') }})
{%- endmacro %}


{# unnest_month_series(start, stop): one row per first-of-month date from start to stop. #}
{% macro unnest_month_series(start, stop) -%}
    {{ return(adapter.dispatch('unnest_month_series', 'retail_tiers')(start, stop)) }}
{%- endmacro %}
{% macro duckdb__unnest_month_series(start, stop) -%}
    unnest(
            generate_series(
                {{ start }},
                {{ stop }},
                interval 1 month
            )
        )
{%- endmacro %}
{% macro spark__unnest_month_series(start, stop) -%}
    explode(sequence({{ start }}, {{ stop }}, interval 1 month))
{%- endmacro %}


{# month_diff(start, end): month boundaries crossed from start to end (DuckDB datediff month). #}
{% macro month_diff(start, end) -%}
    {{ return(adapter.dispatch('month_diff', 'retail_tiers')(start, end)) }}
{%- endmacro %}
{% macro duckdb__month_diff(start, end) -%}
    datediff('month', {{ start }}, {{ end }})
{%- endmacro %}
{% macro spark__month_diff(start, end) -%}
    ((year({{ end }}) * 12 + month({{ end }})) - (year({{ start }}) * 12 + month({{ start }})))
{%- endmacro %}


{# list_item(list, index): item `index` of a list, counted from 1. #}
{% macro list_item(list, index) -%}
    {{ return(adapter.dispatch('list_item', 'retail_tiers')(list, index)) }}
{%- endmacro %}
{% macro duckdb__list_item(list, index) -%}
    {{ list }}[{{ index }}]
{%- endmacro %}
{% macro spark__list_item(list, index) -%}
    element_at({{ list }}, {{ index }})
{%- endmacro %}


{#
    star_replace(relation, replacements): every column of `relation`, with the columns named
    in {column: sql expression} computed by the expression instead (DuckDB keeps their
    position; Spark puts them last).
#}
{% macro star_replace(relation, replacements) -%}
    {{ return(adapter.dispatch('star_replace', 'retail_tiers')(relation, replacements)) }}
{%- endmacro %}
{% macro duckdb__star_replace(relation, replacements) -%}
    {{ relation }}.* replace (
            {%- for column, expression in replacements.items() %}
            {{ expression }} as {{ column }}{{ "," if not loop.last }}
            {%- endfor %}
        )
{%- endmacro %}
{% macro spark__star_replace(relation, replacements) -%}
    {{ relation }}.* except ({{ replacements.keys() | join(', ') }}),
        {%- for column, expression in replacements.items() %}
        {{ expression }} as {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
{%- endmacro %}


{# quantile_cont_of(value, fraction): the interpolated quantile (an aggregate). #}
{% macro quantile_cont_of(value, fraction) -%}
    {{ return(adapter.dispatch('quantile_cont_of', 'retail_tiers')(value, fraction)) }}
{%- endmacro %}
{% macro duckdb__quantile_cont_of(value, fraction) -%}
    quantile_cont({{ value }}, {{ fraction }})
{%- endmacro %}
{% macro spark__quantile_cont_of(value, fraction) -%}
    percentile({{ value }}, {{ fraction }})
{%- endmacro %}


{#
    spark__quantile_cut_points(value, where): quantile_cut_points (macros/scoring.sql) on
    Spark: the four nearest-rank percentiles, each over the rows where `where` holds.
#}
{% macro spark__quantile_cut_points(value, where=none) -%}
    array(
        {%- for fraction in [0.2, 0.4, 0.6, 0.8] %}
        percentile_disc({{ fraction }}) within group (order by {{ value }}){% if where %} filter (where {{ where }}){% endif %}{{ "," if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}


{# list_of(items): a list (array) value of the given SQL expressions. #}
{% macro list_of(items) -%}
    {{ return(adapter.dispatch('list_of', 'retail_tiers')(items)) }}
{%- endmacro %}
{% macro duckdb__list_of(items) -%}
    [
            {{ items | join(', ') }}
        ]
{%- endmacro %}
{% macro spark__list_of(items) -%}
    array({{ items | join(', ') }})
{%- endmacro %}


{# days_between(start, end): whole days from date `start` to date `end` (an integer). #}
{% macro days_between(start, end) -%}
    {{ return(adapter.dispatch('days_between', 'retail_tiers')(start, end)) }}
{%- endmacro %}
{% macro duckdb__days_between(start, end) -%}
    {{ end }} - {{ start }}
{%- endmacro %}
{% macro spark__days_between(start, end) -%}
    datediff({{ end }}, {{ start }})
{%- endmacro %}


{# int_div(dividend, divisor): integer division, rounding towards minus infinity for >= 0. #}
{% macro int_div(dividend, divisor) -%}
    {{ return(adapter.dispatch('int_div', 'retail_tiers')(dividend, divisor)) }}
{%- endmacro %}
{% macro duckdb__int_div(dividend, divisor) -%}
    {{ dividend }} // {{ divisor }}
{%- endmacro %}
{% macro spark__int_div(dividend, divisor) -%}
    {{ dividend }} div {{ divisor }}
{%- endmacro %}


{# months_interval(months): an interval of `months` months, to add to or take from a date. #}
{% macro months_interval(months) -%}
    {{ return(adapter.dispatch('months_interval', 'retail_tiers')(months)) }}
{%- endmacro %}
{% macro duckdb__months_interval(months) -%}
    to_months({{ months }})
{%- endmacro %}
{% macro spark__months_interval(months) -%}
    make_ym_interval(0, {{ months }})
{%- endmacro %}


{#
    median_of(value): the median (interpolated), also as a window function over a frame
    (Spark's `median` takes no window frame; `percentile` does).
#}
{% macro median_of(value) -%}
    {{ return(adapter.dispatch('median_of', 'retail_tiers')(value)) }}
{%- endmacro %}
{% macro duckdb__median_of(value) -%}
    median({{ value }})
{%- endmacro %}
{% macro spark__median_of(value) -%}
    percentile({{ value }}, 0.5)
{%- endmacro %}


{# is_finite(value): the number is neither infinite nor NaN (null stays null). #}
{% macro is_finite(value) -%}
    {{ return(adapter.dispatch('is_finite', 'retail_tiers')(value)) }}
{%- endmacro %}
{% macro duckdb__is_finite(value) -%}
    isfinite({{ value }})
{%- endmacro %}
{% macro spark__is_finite(value) -%}
    (not isnan(cast({{ value }} as double)) and abs(cast({{ value }} as double)) < cast('Infinity' as double))
{%- endmacro %}
