{#
    Use a model's custom schema name as is (`staging`, `intermediate`, `raw`) instead of
    dbt's default `<target schema>_<custom schema>`. Marts have no custom schema and land
    in the target schema (`main`), where the report and the CLI read them.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
