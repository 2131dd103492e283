{#-
    Lean table, view and incremental materializations for DuckDB (issue 15: dbt's cost per
    node).

    dbt-duckdb's own `table` builds the model under a temporary name, renames the old table
    to a backup, renames the new one into place and drops the backup, and on the way asks the
    catalog about indexes and foreign keys (three queries per model) and handles grants,
    DuckLake and partitioning, none of which this project uses. Here a SQL model's old
    relation is dropped and the new table created in one transaction: a model that fails
    leaves the old relation as it was (tests/test_materializations.py), and another reader
    sees the old table or the new one. A Python model writes its table on a connection of its
    own, so it is built under a temporary name and swapped in (drop and rename, one
    transaction). A view is `create or replace view`, after dropping a table of the same name
    in the same transaction. An incremental model's full build (no table yet, a full
    refresh, or a build that does not append new monthly files: build_input
    append_transactions) is a table build; an appending build is dbt-duckdb's own incremental
    materialization. Other engines (dbt-spark) keep their own materializations.
-#}
{% materialization table, adapter='duckdb', supported_languages=['sql', 'python'] %}
  {%- set existing_relation = load_cached_relation(this) -%}
  {%- if model['language'] == 'python' -%}
    {#- here, not in replace_relation: dbt runs Python only from the materialization itself -#}
    {%- set target_relation = this.incorporate(type='table') -%}
    {%- set intermediate_relation = make_intermediate_relation(target_relation) -%}
    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}
    {{ drop_relation_if_exists(load_cached_relation(intermediate_relation)) }}
    {% call statement('main', language='python') -%}
      {{- create_table_as(False, intermediate_relation, compiled_code, 'python') }}
    {%- endcall %}
    {{ drop_in_transaction(existing_relation) }}
    {{ adapter.rename_relation(intermediate_relation, target_relation) }}
    {{ return(finish_relation(target_relation)) }}
  {%- endif -%}
  {{ return(replace_relation(existing_relation, 'table', compiled_code)) }}
{% endmaterialization %}


{% materialization view, adapter='duckdb' %}
  {{ return(replace_relation(load_cached_relation(this), 'view', sql)) }}
{% endmaterialization %}


{% materialization incremental, adapter='duckdb', supported_languages=['sql'] %}
  {%- set existing_relation = load_cached_relation(this) -%}
  {#- appends only in a build that appends new monthly files (build_input: a build from the
      CLI leaves the models' full_refresh config unset, macros/build_input.sql) -#}
  {%- if existing_relation is not none and existing_relation.is_table
        and not should_full_refresh() and build_input('append_transactions', false) -%}
    {{ return(dbt.materialization_incremental_duckdb()) }}
  {%- endif -%}
  {{ return(replace_relation(existing_relation, 'table', compiled_code)) }}
{% endmaterialization %}


{#- The SQL model's relation, `kind` 'table' or 'view', made from `code` in place of
    `existing_relation` (none: there is none yet), with the model's hooks. -#}
{% macro replace_relation(existing_relation, kind, code) %}
  {%- set target_relation = this.incorporate(type=kind) -%}
  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}
  {% if existing_relation is not none and (kind == 'table' or not existing_relation.is_view) %}
    {{ drop_in_transaction(existing_relation) }}
  {% endif %}
  {% call statement('main') -%}
    {% if kind == 'view' -%}
      create or replace view {{ target_relation }} as (
        {{ code }}
      );
    {%- else -%}
      {{ create_table_as(False, target_relation, code, 'sql') }}
    {%- endif %}
  {%- endcall %}
  {{ return(finish_relation(target_relation)) }}
{% endmacro %}


{#- The end of every materialization here: post-hooks, docs, commit. -#}
{% macro finish_relation(target_relation) %}
  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {% do persist_docs(target_relation, model) %}
  {{ adapter.commit() }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}
  {{ return({'relations': [target_relation]}) }}
{% endmacro %}


{#- Drop `relation` (if any) inside the model's transaction, opening it if need be: dbt's
    drop_relation runs outside any transaction (auto_begin=False), so a model that then
    failed would have lost its old relation. -#}
{% macro drop_in_transaction(relation) %}
  {%- if relation is not none -%}
    {%- do adapter.cache_dropped(relation) -%}
    {% call statement('drop_previous_relation') -%}
      drop {{ relation.type }} if exists {{ relation }} cascade
    {%- endcall %}
  {%- endif -%}
{% endmacro %}
