{#
    Reading raw files on Spark: the `spark__` side of numbered_raw_rows and raw_record_json
    (macros/staging_helpers.sql holds the DuckDB side, unchanged).

    spark__raw_relation(file_name, columns): the rows of one raw file, every contract column as
    text (a column the file lacks is null), with `raw_file_name` and `read_order` (file
    order). Each file (each part of a file split by month) is registered as a temporary view
    over the file itself, CSV or Parquet, read as Spark reads it on a cluster:
      - CSV: header row, comma, double quotes (a quote inside a value doubled), every column
        text (no schema inference), quoted values may span lines (multiLine);
      - Parquet: the columns cast to text.
    Without input (`raw_files` empty) the demo's CSV files under seeds/demo are read
    directly (the demo seeds are not loaded on Spark). File order is Spark's
    monotonically_increasing_id(), which follows the file's bytes for one file.
#}
{% macro spark__raw_relation(file_name, columns) -%}
    {%- set raw_files = build_input('raw_files', {}) -%}
    {%- set parts = [] -%}
    {%- if raw_files | length == 0 -%}
        {%- if file_name in demo_seed_files() -%}
            {%- set demo_path = (flags.PROJECT_DIR or '.') ~ '/seeds/demo/raw_' ~ file_name ~ '.csv' -%}
            {%- do parts.append({'path': demo_path, 'format': 'csv', 'present': none,
                                 'file_name': 'seeds/demo/raw_' ~ file_name ~ '.csv'}) -%}
        {%- endif -%}
    {%- else -%}
        {%- set spec = raw_files.get(file_name) -%}
        {%- if spec is none -%}
            {{ exceptions.raise_compiler_error("raw_files has no entry for '" ~ file_name ~ "'") }}
        {%- endif -%}
        {%- if spec.get('paths') and spec.get('file_names') -%}
            {%- for one_path in spec['paths'] -%}
                {%- do parts.append({'path': one_path, 'format': spec.get('format', 'csv'),
                                     'present': spec['present'], 'file_name': spec['file_names'][loop.index0]}) -%}
            {%- endfor -%}
        {%- elif spec.get('path') -%}
            {%- do parts.append({'path': spec['path'], 'format': spec.get('format', 'csv'),
                                 'present': spec['present'], 'file_name': spec.get('file_name') or spec['path']}) -%}
        {%- endif -%}
    {%- endif -%}
    (
        select
            cast(null as string) as raw_file_name,
            cast(null as bigint) as read_order,
            {%- for column in columns %}
            cast(null as string) as {{ column }}{{ "," if not loop.last }}
            {%- endfor %}
        where false
        {%- for part in parts %}
        {%- set view = 'raw__' ~ file_name ~ '__' ~ loop.index %}
        {%- set present = spark__register_raw_file(view, part['path'], part['format'], part['present']) %}
        union all
        select
            '{{ part["file_name"] | replace("'", "''") }}' as raw_file_name,
            read_order,
            {%- for column in columns %}
            {%- if column in present %}
            cast(`{{ column }}` as string) as {{ column }}{{ "," if not loop.last }}
            {%- else %}
            cast(null as string) as {{ column }}{{ "," if not loop.last }}
            {%- endif %}
            {%- endfor %}
        from (select *, monotonically_increasing_id() as read_order from {{ view }})
        {%- endfor %}
    )
{%- endmacro %}


{#
    spark__register_raw_file(view, path, format, present): (re)creates temporary view `view`
    over one file and returns the contract columns it has (`present`, or when none is given
    the view's own column names). Runs only when dbt executes (a temporary view lives in the
    Spark session that builds the model).
#}
{% macro spark__register_raw_file(view, path, format, present) -%}
    {%- set quoted = "'" ~ (path | replace("\\", "\\\\") | replace("'", "\\'")) ~ "'" -%}
    {%- if not execute -%}
        {{ return(present or []) }}
    {%- endif -%}
    {%- if format == 'parquet' -%}
        {%- do run_query("create or replace temporary view " ~ view ~ " using parquet options (path " ~ quoted ~ ")") -%}
    {%- else -%}
        {%- do run_query("create or replace temporary view " ~ view ~ " using csv options (path " ~ quoted
            ~ ", header 'true', inferSchema 'false', sep ',', quote '\"', escape '\"', multiLine 'true',"
            ~ " mode 'PERMISSIVE', encoding 'UTF-8')") -%}
    {%- endif -%}
    {%- if present is none -%}
        {%- set probe = run_query("select * from " ~ view ~ " limit 0") -%}
        {{ return(probe.column_names | list) }}
    {%- endif -%}
    {{ return(present) }}
{%- endmacro %}


{# spark__numbered_raw_rows: as numbered_raw_rows (macros/staging_helpers.sql), on Spark. #}
{% macro spark__numbered_raw_rows(file_name, columns) -%}
    {%- set spec = build_input('raw_files', {}).get(file_name) or {} %}
    select
        row_number() over (partition by raw_file_name order by read_order) as source_row_number,
        raw_file_name,
        {{ raw_columns(columns) }},
        {% if spec.get('invalid_text') -%}
        coalesce(contains(concat_ws('|', {{ columns | join(', ') }}), '\uFFFD'), false)
        {%- else -%}
        false
        {%- endif %} as has_invalid_text
    from {{ spark__raw_relation(file_name, columns) }}
{%- endmacro %}


{#
    spark__raw_record_json: as raw_record_json, on Spark: the same json text (keys in contract
    order, a missing value as json null, no spaces).
#}
{% macro spark__raw_record_json(columns, prefix='raw_') -%}
    to_json(named_struct(
        {%- for column in columns %}
        '{{ column }}', {{ prefix ~ column }}{{ "," if not loop.last }}
        {%- endfor %}
    ), map('ignoreNullFields', 'false'))
{%- endmacro %}


{# raw_file_rows(file_name): the raw rows of one file, to count (tests/dbt/assert_raw_rows_reconcile). #}
{% macro raw_file_rows(file_name) -%}
    {{ return(adapter.dispatch('raw_file_rows', 'retail_tiers')(file_name)) }}
{%- endmacro %}
{% macro duckdb__raw_file_rows(file_name) -%}
    {{ raw_relation(file_name) }}
{%- endmacro %}
{% macro spark__raw_file_rows(file_name) -%}
    {{ spark__raw_relation(file_name, ['row_marker']) }}
{%- endmacro %}
