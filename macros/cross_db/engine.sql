{#
    Cross-database macros (issue 19): the few places where DuckDB and Spark SQL differ.
    Each is `adapter.dispatch`ed, with a `duckdb__` version (exactly the SQL the model had
    before) and a `spark__` version. A model calls the macro; an analyst reads plain SQL
    around it. docs/spark.md lists them; tests/test_portable_sql.py keeps DuckDB-only
    constructs out of the models.

    The older macros in macros/ that hold DuckDB SQL (parsing, raw input) stay the DuckDB
    implementation; on another engine their first line hands over to `spark__<name>` here
    (`target is defined` keeps them renderable with plain Jinja for `retail-tiers check`).
#}

{# cte_materialized(): `as materialized` (DuckDB: store the CTE once) or plain `as`. #}
{% macro cte_materialized() -%}
    {{ return(adapter.dispatch('cte_materialized', 'retail_tiers')()) }}
{%- endmacro %}

{% macro duckdb__cte_materialized() -%}
    as materialized
{%- endmacro %}

{% macro spark__cte_materialized() -%}
    as
{%- endmacro %}


{# cte_inlined(): `as not materialized` (DuckDB: inline the CTE into each reader rather than
   store it, as it may for a CTE read twice) or plain `as`. #}
{% macro cte_inlined() -%}
    {{ return(adapter.dispatch('cte_inlined', 'retail_tiers')()) }}
{%- endmacro %}

{% macro duckdb__cte_inlined() -%}
    as not materialized
{%- endmacro %}

{% macro spark__cte_inlined() -%}
    as
{%- endmacro %}


{#
    struct_of(fields): a struct value from {name: sql expression} (ordered as given); structs
    compare field by field, so `min(struct_of(...))` is the earliest by the first field, then
    the next. DuckDB `{'file': f, 'row': r}`, Spark `named_struct('file', f, 'row', r)`.
#}
{% macro struct_of(fields) -%}
    {{ return(adapter.dispatch('struct_of', 'retail_tiers')(fields)) }}
{%- endmacro %}

{% macro duckdb__struct_of(fields) -%}
    { {%- for name, expression in fields.items() %}'{{ name }}': {{ expression }}{{ ", " if not loop.last }}{% endfor -%} }
{%- endmacro %}

{% macro spark__struct_of(fields) -%}
    named_struct({%- for name, expression in fields.items() %}'{{ name }}', {{ expression }}{{ ", " if not loop.last }}{% endfor -%})
{%- endmacro %}


{#
    The macros in macros/ whose body is DuckDB SQL hand over to adapter.dispatch on any other
    engine; an engine without its own version (only `spark__` exists) stops the build here,
    with the macro's name, rather than running DuckDB SQL on it.
#}
{% macro unported_macro(name) -%}
    {{ exceptions.raise_compiler_error("retail-tiers: macro " ~ name ~ " has no version for " ~ target.type ~ " (only duckdb and spark; see macros/cross_db)") }}
{%- endmacro %}

{% macro default__parse_timestamp(value, time_zone) -%}
    {{ unported_macro('parse_timestamp') }}
{%- endmacro %}

{% macro default__parse_integer(value) -%}
    {{ unported_macro('parse_integer') }}
{%- endmacro %}

{% macro default__parse_decimal(value) -%}
    {{ unported_macro('parse_decimal') }}
{%- endmacro %}

{% macro default__is_out_of_range(value, limit) -%}
    {{ unported_macro('is_out_of_range') }}
{%- endmacro %}

{% macro default__numbered_raw_rows(file_name, columns) -%}
    {{ unported_macro('numbered_raw_rows') }}
{%- endmacro %}

{% macro default__raw_record_json(columns, prefix) -%}
    {{ unported_macro('raw_record_json') }}
{%- endmacro %}

{% macro default__record_build_run(results) -%}
    {{ unported_macro('record_build_run') }}
{%- endmacro %}

{% macro default__quantile_cut_points(value, where) -%}
    {{ unported_macro('quantile_cut_points') }}
{%- endmacro %}


{#
    keyed_increment_strategy(): how an appending build replaces the rows it recomputes
    (macros/month_increments.sql). DuckDB deletes the rows of the recomputed keys (the
    model's unique_key: month ends, orders) and inserts them again; a Spark build always
    builds whole tables (it never appends), so there it is dbt-spark's plain `append`, which
    its first build turns into a create.
#}
{% macro keyed_increment_strategy() -%}
    {{ return(adapter.dispatch('keyed_increment_strategy', 'retail_tiers')()) }}
{%- endmacro %}

{% macro duckdb__keyed_increment_strategy() -%}
    {{ return('delete+insert') }}
{%- endmacro %}

{% macro spark__keyed_increment_strategy() -%}
    {{ return('append') }}
{%- endmacro %}
