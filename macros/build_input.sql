{#
    build_input(name, default): what `retail-tiers build` hands over for this build only: the
    files to read (raw_files), whether it appends new monthly files (append_transactions) and
    their digests (input_digests, only recorded), and the as-of date of --as-of (as_of_date;
    macro as_of_date_setting).

    The CLI passes them in the environment (RETAIL_TIERS_BUILD_INPUT, JSON) with the var
    build_input_from_environment, not as --vars: dbt parses the whole project again when the
    --vars differ from the last build's (2-3 s at any size), and these differ with every new
    month's file (and with an analyst's --as-of). They are read only while the models run
    (`execute`), never while dbt parses, so the parsed project is the same from one month to
    the next and dbt reuses it
    (target/partial_parse.msgpack). Without that var they are vars, as a plain
    `dbt build --vars ...`, the Spark build and the unit tests pass them.
#}
{% macro build_input(name, default=none) -%}
    {%- if var('build_input_from_environment', false) -%}
        {{- return(build_inputs_from_environment().get(name, default)) -}}
    {%- endif -%}
    {{- return(var(name, default)) -}}
{%- endmacro %}


{#
    build_inputs_from_environment(): the JSON object of RETAIL_TIERS_BUILD_INPUT while models
    run in a build from the CLI (var build_input_from_environment); {} otherwise.
#}
{% macro build_inputs_from_environment() -%}
    {%- if execute and var('build_input_from_environment', false) -%}
        {{- return(fromjson(env_var('RETAIL_TIERS_BUILD_INPUT', '{}'))) -}}
    {%- endif -%}
    {{- return({}) -}}
{%- endmacro %}


{#
    build_input_pending(): true while dbt parses a build whose inputs come from the
    environment; raw_relation() then stands in a placeholder for the files, which are known
    only when the model runs (and must not make the demo seeds a parent of staging).
#}
{% macro build_input_pending() -%}
    {{- return(not execute and var('build_input_from_environment', false)) -}}
{%- endmacro %}


{#
    full_refresh_unless_appending(): the full_refresh config of the incremental models: they
    replace their table in every build but one that appends new monthly transactions files.
    A plain `dbt build` (and Spark) says so with the var: full_refresh unless var
    append_transactions. In a build from the CLI the var is not known while dbt parses
    (build_input), so the config is left unset and the project's incremental materialization
    (macros/materializations.sql) appends only when build_input('append_transactions') is
    true when the model runs.
#}
{% macro full_refresh_unless_appending() -%}
    {%- if var('build_input_from_environment', false) -%}
        {{- return(none) -}}
    {%- endif -%}
    {{- return(not var('append_transactions', false)) -}}
{%- endmacro %}
