{#-
    Lean table and view materializations for DuckDB (issue 15: dbt's cost per node).

    dbt-duckdb's own `table` builds the model under a temporary name, renames the old table
    to a backup, renames the new one into place and drops the backup, and on the way asks the
    catalog about indexes and foreign keys (three queries per model) and handles grants,
    DuckLake and partitioning, none of which this project uses. Here a SQL model's old
    relation is dropped and the new table created in one transaction: a model that fails
    leaves the old relation as it was (tests/test_materializations.py), and another reader
    sees the old table or the new one. A Python model writes its table on a connection of its
    own, so it is built under a temporary name and swapped in (drop and rename, one
    transaction). A view is `create or replace view`, after dropping a table of the same name
    in the same transaction. Other engines (dbt-spark) keep their own materializations.
-#}
{% materialization table, adapter='duckdb', supported_languages=['sql', 'python'] %}
  {%- set language = model['language'] -%}
  {%- set existing_relation = load_cached_relation(this) -%}
  {%- set target_relation = this.incorporate(type='table') -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}
  {% if language == 'sql' %}
    {{ drop_in_transaction(existing_relation) }}
    {% call statement('main') -%}
      {{- create_table_as(False, target_relation, compiled_code, language) }}
    {%- endcall %}
  {% else %}
    {%- set intermediate_relation = make_intermediate_relation(target_relation) -%}
    {{ drop_relation_if_exists(load_cached_relation(intermediate_relation)) }}
    {% call statement('main', language=language) -%}
      {{- create_table_as(False, intermediate_relation, compiled_code, language) }}
    {%- endcall %}
    {{ drop_in_transaction(existing_relation) }}
    {{ adapter.rename_relation(intermediate_relation, target_relation) }}
  {% endif %}
  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {% do persist_docs(target_relation, model) %}
  {{ adapter.commit() }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}

  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}


{% materialization view, adapter='duckdb' %}
  {%- set existing_relation = load_cached_relation(this) -%}
  {%- set target_relation = this.incorporate(type='view') -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}
  {% if existing_relation is not none and not existing_relation.is_view %}
    {{ drop_in_transaction(existing_relation) }}
  {% endif %}
  {% call statement('main') -%}
    create or replace view {{ target_relation }} as (
      {{ sql }}
    );
  {%- endcall %}
  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {% do persist_docs(target_relation, model) %}
  {{ adapter.commit() }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}

  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}



{#- An incremental model's full build (no table yet, or a full refresh) as a table above; an
    appending build is dbt-duckdb's own incremental materialization. -#}
{% materialization incremental, adapter='duckdb', supported_languages=['sql'] %}
  {%- set existing_relation = load_cached_relation(this) -%}
  {%- if existing_relation is not none and existing_relation.is_table
        and not should_full_refresh() -%}
    {{ return(dbt.materialization_incremental_duckdb()) }}
  {%- endif -%}
  {%- set target_relation = this.incorporate(type='table') -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}
  {{ drop_in_transaction(existing_relation) }}
  {% call statement('main') -%}
    {{- create_table_as(False, target_relation, compiled_code, 'sql') }}
  {%- endcall %}
  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {% do persist_docs(target_relation, model) %}
  {{ adapter.commit() }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}

  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}

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
