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
    numbered_raw_rows(file_name, columns): the body of a staging model's `numbered` CTE: the
    rows of raw file `file_name` (raw_relation; a contract column the file lacks is null)
    numbered in file order, `source_row_number` 1, 2, ..., with the name of the file they
    came from (`raw_file_name`; a file split in parts, transactions/2026-11.csv ..., is
    numbered part by part), the contract's `columns` renamed `raw_<column>`, and
    `has_invalid_text`:
    true on a line that was not valid in the file's encoding (`retail-tiers check` found it
    and read the file through a copy with U+FFFD in place of the bad bytes; raw_files entry
    `invalid_text`). Each staging model quarantines such a row first, as `invalid_encoding`;
    files without bad lines get a constant false, so the check costs nothing.
    row_number() over () follows file order (preserve_insertion_order) and keeps its pipeline
    on one thread; a large file's model writes the CTE `as materialized`, so the numbered
    rows are stored right away and the parsing, the duplicate check and the table write after
    it use every core.
#}
{% macro numbered_raw_rows(file_name, columns) -%}
    {%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('numbered_raw_rows', 'retail_tiers')(file_name, columns)) }}{% endif %}
    {%- set spec = build_input('raw_files', {}).get(file_name) or {} %}
    {%- set invalid_text -%}
        {% if spec.get('invalid_text') -%}
        coalesce(contains(concat_ws('|', {{ columns | join(', ') }}), chr(65533)), false)
        {%- else -%}
        false
        {%- endif %}
    {%- endset %}
    {%- if spec.get('file_names') %}
    select
        row_number() over (partition by raw_file_name order by read_order) as source_row_number,
        raw_file_name,
        {{ raw_columns(columns) }},
        {{ invalid_text }} as has_invalid_text
    from (
        select
            row_number() over () as read_order,
            *
        from {{ raw_relation(file_name, columns) }}
    )
    {%- else %}
    select
        row_number() over () as source_row_number,
        '{{ (spec.get('file_name') or ('seeds/demo/raw_' ~ file_name ~ '.csv')) | replace("'", "''") }}' as raw_file_name,
        {{ raw_columns(columns) }},
        {{ invalid_text }} as has_invalid_text
    from {{ raw_relation(file_name, columns) }}
    {%- endif %}
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
