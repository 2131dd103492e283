{#
    spark__record_build_run: on Spark the build's record is dbt's own run_results.json
    (target/); main.build_runs and main.build_results are written on DuckDB only
    (macros/build_runs.sql), where the report's build details read them.
#}
{% macro spark__record_build_run(results) -%}
    {{ return('') }}
{%- endmacro %}
