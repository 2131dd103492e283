{#
    raw_relation(file_name, columns=none): the rows of one raw file, every column as text.

    Without input (build_input `raw_files` empty) this is the demo seed `raw_<file_name>` under
    seeds/demo; with `columns`, contract columns the seed lacks (transactions' line_amount,
    say) are added as nulls, as for a user's file, and a file the demo has no seed for
    (customer_identities) is an empty table of `columns`. With `retail-tiers build --input DIR`
    the CLI passes, per contract file (build_input, macros/build_input.sql),
        {"path": "/abs/file.csv" | null, "format": "csv" | "parquet", "columns": [...]}
    A file that is absent (path null) is an empty table with the contract's columns; a file
    that lacks optional columns gets them as nulls (`union all by name`); extra columns are
    carried but never selected by staging.
#}
{% macro raw_relation(file_name, columns=none) -%}
    {%- set raw_files = build_input('raw_files', {}) -%}
    {#- an empty table also while dbt parses a build from the CLI (build_input_pending): its
        files are known when the model runs -#}
    {%- if build_input_pending()
            or (raw_files | length == 0 and file_name not in demo_seed_files()) -%}
        ({{ empty_text_table(columns or ['no_rows']) }})
    {%- elif raw_files | length == 0 and columns is none -%}
        {{ ref('raw_' ~ file_name) }}
    {%- elif raw_files | length == 0 -%}
        (
            {{ empty_text_table(columns) }}
            union all by name
            select * from {{ ref('raw_' ~ file_name) }}
        )
    {%- else -%}
        {%- set spec = raw_files.get(file_name) -%}
        {%- if spec is none -%}
            {{ exceptions.raise_compiler_error("raw_files has no entry for '" ~ file_name ~ "'") }}
        {%- endif -%}
        (
            {{ empty_text_table(spec['columns']) }}
            {%- if spec.get('path') %}
            union all by name
            select * from {{ raw_file_scan(spec.get('paths') or spec['path'], spec.get('format', 'csv'), spec['present'], spec.get('header', spec['present']), spec.get('file_names')) }}
            {%- endif %}
        )
    {%- endif -%}
{%- endmacro %}


{#
    empty_text_table(columns): a query of no rows with the given columns, all text; the shape
    raw_relation unions a file onto (`union all by name`), so a column the file lacks is null.
#}
{% macro empty_text_table(columns) -%}
    select
        {%- for column in columns %}
        cast(null as varchar) as {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    where false
{%- endmacro %}


{#
    raw_file_scan(path, format, columns, header, file_names=none): a subquery reading one
    file, the given columns as text. CSV: read with the exact dialect `retail-tiers check`
    validated (comma, double quotes, header row, every column text; no sniffing, so a
    malformed line is an error rather than a silently different reading). Parquet: typed
    columns are cast to text so staging treats both formats the same.
    A file split in parts (transactions/2026-11.csv, ...) is a list of paths, read in order,
    with `file_names`: each row then carries the name of its part as `raw_file_name`.
#}
{% macro raw_file_scan(path, format, columns, header, file_names=none) -%}
    {%- set paths = path if path is not string else [path] -%}
    {%- set quoted_paths = [] -%}
    {%- for one_path in paths -%}
        {%- do quoted_paths.append("'" ~ (one_path | replace("'", "''")) ~ "'") -%}
    {%- endfor -%}
    {%- set quoted_path = quoted_paths[0] if path is string else '[' ~ (quoted_paths | join(', ')) ~ ']' -%}
    (
        select
            {%- if file_names %}
            case filename
                {%- for one_path in paths %}
                when {{ quoted_paths[loop.index0] }} then '{{ file_names[loop.index0] | replace("'", "''") }}'
                {%- endfor %}
            end as raw_file_name,
            {%- endif %}
            {%- for column in columns %}
            cast("{{ column }}" as varchar) as {{ column }}{{ "," if not loop.last }}
            {%- endfor %}
        {%- if format == 'parquet' %}
        from read_parquet({{ quoted_path }}{% if file_names %}, filename = true{% endif %})
        {%- else %}
        from read_csv(
            {{ quoted_path }},{% if file_names %} filename = true,{% endif %}
            header = true, auto_detect = false, delim = ',', quote = '"', escape = '"',
            columns = {
                {%- for name in header %}
                '{{ name | replace("'", "''") }}': 'VARCHAR'{{ "," if not loop.last }}
                {%- endfor %}
            }
        )
        {%- endif %}
    )
{%- endmacro %}


{# load_date(): the date a timestamp must not be after; var `load_date`, else today. #}
{% macro load_date() -%}
    {%- if var('load_date', none) -%}
        cast('{{ var("load_date") }}' as date)
    {%- else -%}
        current_date
    {%- endif -%}
{%- endmacro %}


{#
    raw_file_names(): the contract's raw files in contract order (retail_tiers/contract.py
    RAW_FILES; a test keeps the two equal). Each has a staging model `stg_<name>`.
#}
{% macro raw_file_names() -%}
    {{ return(['transactions', 'customers', 'campaigns', 'campaign_contacts', 'feedback',
               'customer_identities']) }}
{%- endmacro %}


{# demo_seed_files(): the raw files the demo data has a seed for (seeds/demo/raw_<name>.csv). #}
{% macro demo_seed_files() -%}
    {{ return(['transactions', 'customers', 'campaigns', 'campaign_contacts', 'feedback']) }}
{%- endmacro %}
