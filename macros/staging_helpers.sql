{#
    Helpers shared by the staging models (dbt-side only; `check` does not render them).
#}

{#
    raw_columns(columns, prefix='raw_'): the raw columns renamed `raw_<column>`, so a staging
    model can keep the text as read beside the parsed values of the same name.
#}
{% macro raw_columns(columns, prefix='raw_') -%}
    {%- for column in columns %}
        {{ column }} as {{ prefix ~ column }}{{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}


{#
    raw_record_json(columns, prefix='raw_'): the raw text values of one row as json text,
    `{"transaction_id": "T1", "quantity": "two", ...}`: keys are the contract's column names in
    contract order, values exactly as read, a missing value as json null. Staging stores it only
    for quarantined rows (inside a `case`, so it is only built for them).
#}
{% macro raw_record_json(columns, prefix='raw_') -%}
    {%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('raw_record_json', 'retail_tiers')(columns, prefix)) }}{% endif %}
    cast(json_object(
        {%- for column in columns %}
        '{{ column }}', {{ prefix ~ column }}{{ "," if not loop.last }}
        {%- endfor %}
    ) as varchar)
{%- endmacro %}



{#
    numbered_raw_rows(file_name, columns): the body of a staging model's `numbered_lines` CTE:
    the rows of raw file `file_name` (raw_relation) numbered in file order,
    `source_row_number` 1, 2, ..., with what varies from row to row and nothing else: the
    contract columns the file has, renamed `raw_<column>`; `raw_file_name` for a file split in
    parts (transactions/2026-11.csv ..., numbered part by part); `has_invalid_text` for a file
    with lines that were not valid in its encoding (`retail-tiers check` found them and read
    the file through a copy with U+FFFD in place of the bad bytes; raw_files entry
    `invalid_text`). numbered_raw_columns adds the rest as constants; which columns are which
    is numbered_raw_shape's answer, shared by the two.
    row_number() over () follows file order (preserve_insertion_order) and keeps its pipeline
    on one thread; a large file's model writes the CTE `as materialized`, so the numbered
    rows are stored right away and the parsing, the duplicate check and the table write after
    it use every core. Stored rows take memory: a constant or an absent column costs 16 bytes
    a row there like any text. Keeping them out of the stored rows took the transactions'
    numbered lines at 10M lines from 3.0 GB spilled to disk to 0.6 GB, and
    stg_transactions from 41 to 35 CPU-seconds (2026-12-07).
#}
{% macro numbered_raw_rows(file_name, columns) -%}
    {%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('numbered_raw_rows', 'retail_tiers')(file_name, columns)) }}{% endif %}
    {%- set shape = numbered_raw_shape(file_name, columns) %}
    {%- set varying_columns -%}
        {%- if shape['stores_file_name'] and not shape['parts'] %},
        {{ sql_text(shape['file_name']) }} as raw_file_name
        {%- endif %}
        {%- if shape['columns'] %},
        {{- raw_columns(shape['columns']) }}
        {%- endif %}
        {%- if shape['stores_invalid_text'] %},
        {% if shape['invalid_text'] -%}
        coalesce(contains(concat_ws('|', {{ shape['columns'] | join(', ') }}), chr(65533)), false)
        {%- else -%}
        false
        {%- endif %} as has_invalid_text
        {%- endif %}
    {%- endset %}
    {%- if shape['parts'] %}
    select
        row_number() over (partition by raw_file_name order by read_order) as source_row_number,
        raw_file_name
        {{- varying_columns }}
    from (
        select
            row_number() over () as read_order,
            *
        from {{ raw_relation(file_name, columns) }}
    )
    {%- else %}
    select
        row_number() over () as source_row_number
        {{- varying_columns }}
    from {{ raw_relation(file_name, columns) }}
    {%- endif %}
{%- endmacro %}


{#
    numbered_raw_columns(file_name, columns, numbered_lines): the body of a staging model's
    `numbered` CTE, read from its `numbered_lines` CTE (numbered_raw_rows): every row with
    `source_row_number`, `raw_file_name`, each contract column as `raw_<column>` (null where
    the file lacks it) and `has_invalid_text` (false for a file without bad lines). An inlined
    CTE, so the constants are never stored.
#}
{% macro numbered_raw_columns(file_name, columns, numbered_lines) -%}
    {%- set shape = numbered_raw_shape(file_name, columns) %}
    select
        source_row_number,
        {% if shape['stores_file_name'] -%}
        raw_file_name,
        {%- else -%}
        {{ sql_text(shape['file_name']) }} as raw_file_name,
        {%- endif %}
        {%- for column in columns %}
        {% if column in shape['columns'] -%}
        raw_{{ column }},
        {%- else -%}
        cast(null as string) as raw_{{ column }},
        {%- endif %}
        {%- endfor %}
        {% if shape['stores_invalid_text'] -%}
        has_invalid_text
        {%- else -%}
        false as has_invalid_text
        {%- endif %}
    from {{ numbered_lines }}
{%- endmacro %}


{#
    numbered_raw_shape(file_name, columns): what numbered_raw_rows stores of a raw file, as a
    dict: `columns` (the contract columns it reads); `stores_file_name` and
    `stores_invalid_text` (whether `raw_file_name` and `has_invalid_text` are stored, or
    added by numbered_raw_columns as constants); `parts` (a file split in parts);
    `invalid_text` (the file has lines with bad bytes); `file_name` (the name of an unsplit
    file). A file from `retail-tiers build` stores only what varies (its columns: raw_files
    entry `present`); the demo seeds, dbt's parse and Spark (spark__numbered_raw_rows) store
    every column and both flags, as they are small or not DuckDB.
#}
{% macro numbered_raw_shape(file_name, columns) -%}
    {%- set spec = build_input('raw_files', {}).get(file_name) or {} -%}
    {%- set shape = {
        'columns': columns, 'stores_file_name': true, 'stores_invalid_text': true,
        'parts': (spec.get('file_names') or []) | length > 0,
        'invalid_text': spec.get('invalid_text', false),
        'file_name': spec.get('file_name') or ('seeds/demo/raw_' ~ file_name ~ '.csv'),
    } -%}
    {%- if (target is not defined or target.type == 'duckdb') and 'present' in spec -%}
        {%- set present = [] -%}
        {%- for column in columns if spec.get('path') and column in spec['present'] -%}
            {%- do present.append(column) -%}
        {%- endfor -%}
        {%- do shape.update({'columns': present, 'stores_file_name': shape['parts'],
                             'stores_invalid_text': shape['invalid_text']}) -%}
    {%- endif -%}
    {{- return(shape) -}}
{%- endmacro %}


{#
    excluded_statuses(file_name, reason): the order statuses that an import preset excludes
    under `reason` (retail_tiers/presets.py puts them in the raw_files entry of the file,
    `excluded_statuses: {status: reason}`), as a list of SQL literals for `in (...)`; `null`
    when there are none (nothing is `in (null)`).
#}
{% macro excluded_statuses(file_name, reason) -%}
    {%- set spec = build_input('raw_files', {}).get(file_name) or {} -%}
    {%- set found = [] -%}
    {%- for status, status_reason in (spec.get('excluded_statuses') or {}).items() -%}
        {%- if status_reason == reason -%}
            {%- do found.append("'" ~ (status | string | replace("'", "''")) ~ "'") -%}
        {%- endif -%}
    {%- endfor -%}
    {{- found | join(', ') if found else 'null' -}}
{%- endmacro %}
