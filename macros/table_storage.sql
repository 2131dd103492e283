{#-
    DuckDB: a table model whose meta lists `uncompressed_column_types` (e.g. ['double']) or
    `uncompressed_columns` (names) is created with those columns stored uncompressed (`using
    compression uncompressed` in the column's definition), every other column as DuckDB
    chooses; any other table goes to dbt-duckdb's own create_table_as. Scoped to the model's
    own table (DuckDB's `force_compression` and `disabled_compression_methods` are settings
    of the whole database, so they would reach every table another dbt thread writes
    meanwhile).
    Why: choosing and applying a compression for a column of model outputs (doubles with full
    mantissas) costs more than writing it, for about a tenth of its size (ALPRD, the method
    DuckDB picks for them); see docs/engineering.md. Other engines use their own macro.
-#}
{% macro duckdb__create_table_as(temporary, relation, compiled_code, language='sql', partitioned_by=none, sorted_by=none) -%}
  {%- set meta = config.get('meta') or {} -%}
  {%- set uncompressed_types = (meta.get('uncompressed_column_types') or []) | map('lower') | list -%}
  {%- set uncompressed_names = meta.get('uncompressed_columns') or [] -%}
  {%- set contract = config.get('contract') -%}
  {%- if temporary or not (uncompressed_types or uncompressed_names) or partitioned_by or sorted_by
        or (contract and contract.enforced) -%}
    {{ return(dbt.duckdb__create_table_as(temporary, relation, compiled_code, language,
                                                 partitioned_by=partitioned_by, sorted_by=sorted_by)) }}
  {%- endif -%}
  {%- if language == 'sql' -%}
    {#- the query's columns and types as DuckDB names them -#}
    {%- set columns = run_query('select column_name, column_type from (describe select * from ('
                                ~ compiled_code ~ ') as model_subq)') -%}
    create table {{ relation }} (
      {%- for column_name, column_type in columns.rows %}
      {{ adapter.quote(column_name) }} {{ column_type }}
      {%- if column_type | lower in uncompressed_types or column_name in uncompressed_names %} using compression uncompressed{% endif %}
      {{- "," if not loop.last }}
      {%- endfor %}
    );
    insert into {{ relation }}
    select * from (
      {{ compiled_code }}
    ) as model_subq;
  {%- else -%}
{{ compiled_code }}


def materialize(df, con):
    name = '__dbt_python_model_df_' + '{{ relation.identifier }}'
    con.register(name, df)
    columns = con.execute(
        'select column_name, column_type from (describe select * from ' + name + ')').fetchall()
    definitions = ', '.join(
        '"' + column_name.replace('"', '""') + '" ' + column_type
        + (' using compression uncompressed' if column_type.lower() in {{ uncompressed_types | tojson }}
           or column_name in {{ uncompressed_names | list | tojson }} else '')
        for column_name, column_type in columns)
    con.execute('create table {{ relation }} (' + definitions + ')')
    con.execute('insert into {{ relation }} select * from ' + name)
    con.unregister(name)
  {%- endif -%}
{%- endmacro %}
