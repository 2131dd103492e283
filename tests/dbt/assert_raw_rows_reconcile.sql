{#-
    Row accounting proof (DESIGN sec. 2), per contract file. Raw rows are counted apart from
    staging: a user's file by `retail-tiers check`'s own full read of it, which every build
    runs first (raw_files entry `rows`; counting the file here again would read 10M lines a
    second time), the demo's seeds and a raw_files entry without `rows` (a hand-made --vars)
    directly from `raw_relation(file)`. The test
    returns one row per file that breaks any of:
    - row_accounting has the file, and its raw_rows equal the direct count;
    - raw_rows = clean_rows + quarantined_rows;
    - staging holds one row per raw row, numbered exactly 1..raw_rows (as many distinct
      source_row_numbers as rows, the smallest 1 and the largest raw_rows), and its clean and
      quarantined counts are the ones row_accounting reports;
    - transactions given in several files (transactions/2026-11.csv, ...): each file's lines
      are numbered 1..its rows; a build that appended new files (append_transactions)
      compares the raw count with the staged lines of those files only, and checks the
      numbering of those files only;
    - the quarantined_rows mart lists exactly the quarantined rows of the file;
    - transactions: every clean line, and nothing else, reaches int_transaction_lines and
      the orders of int_orders_netted (sum of line_count).
-#}
{%- set staging_models = {} -%}
{%- for file_name in raw_file_names() -%}
    {%- do staging_models.update({file_name: 'stg_' ~ file_name}) -%}
{%- endfor -%}

with

raw_counts as (
    {%- for file_name, model_name in staging_models.items() %}
    {%- set counted_rows = (build_input('raw_files', {}).get(file_name) or {}).get('rows') %}
    select
        '{{ file_name }}' as source_file,
        {%- if counted_rows is number %}
        cast({{ counted_rows }} as bigint) as raw_rows
        {%- else %}
        count(*) as raw_rows
    from {{ raw_file_rows(file_name) }} as raw_file
        {%- endif %}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

-- the transactions lines of this build's files: all of them, or the appended files' only
transactions_read as (
    select *
    from {{ ref('stg_transactions') }}
    {%- if build_input('append_transactions', false) %}
    where raw_file_name in ({{ appended_transaction_files() }})
    {%- endif %}
),

-- each transactions file of this build numbered 1..its lines (an appending build only adds
-- the new files' lines: the files before were checked by the build that read them)
transactions_files as (
    select
        raw_file_name,
        count(*) as staged_rows,
        count(distinct source_row_number) as distinct_row_numbers,
        min(source_row_number) as first_row_number,
        max(source_row_number) as last_row_number
    from transactions_read
    group by raw_file_name
),

staged_counts as (
    {%- for file_name, model_name in staging_models.items() %}
    {%- if file_name == 'transactions' %}
    select
        'transactions' as source_file,
        (select count(*) from transactions_read) as staged_rows,
        count(*) as all_staged_rows,
        count(*) filter (where quarantine_reason is null) as staged_clean_rows,
        count(*) filter (where quarantine_reason is not null) as staged_quarantined_rows,
        (
            select coalesce(bool_and(
                distinct_row_numbers = staged_rows and first_row_number = 1
                and last_row_number = staged_rows), true)
            from transactions_files
        ) as is_numbered_in_file_order
    from {{ ref(model_name) }}
    {%- else %}
    select
        '{{ file_name }}' as source_file,
        count(*) as staged_rows,
        count(*) as all_staged_rows,
        count(*) filter (where quarantine_reason is null) as staged_clean_rows,
        count(*) filter (where quarantine_reason is not null) as staged_quarantined_rows,
        count(distinct source_row_number) = count(*)
            and coalesce(min(source_row_number), 1) = 1
            and coalesce(max(source_row_number), 0) = count(*) as is_numbered_in_file_order
    from {{ ref(model_name) }}
    {%- endif %}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

accounting as (
    select * from {{ ref('row_accounting') }}
),

listed_quarantined as (
    select
        source_file,
        count(*) as listed_rows
    from {{ ref('quarantined_rows') }}
    group by source_file
),

downstream_transactions as (
    select
        'transactions' as source_file,
        -- count(source_row_number), never null (staging numbers every row): count(*) of
        -- the view computed every column of every line (1.7 against 0.2 CPU-s at 10M lines)
        (select count(source_row_number) from {{ ref('int_transaction_lines') }}) as line_rows,
        (select coalesce(sum(line_count), 0) from {{ ref('int_orders_netted') }})
            as order_line_rows
),

compared as (
    select
        coalesce(raw_counts.source_file, accounting.source_file) as source_file,
        raw_counts.raw_rows,
        accounting.raw_rows as accounted_raw_rows,
        accounting.clean_rows as accounted_clean_rows,
        accounting.quarantined_rows as accounted_quarantined_rows,
        staged_counts.staged_rows,
        staged_counts.all_staged_rows,
        staged_counts.staged_clean_rows,
        staged_counts.staged_quarantined_rows,
        staged_counts.is_numbered_in_file_order,
        coalesce(listed_quarantined.listed_rows, 0) as listed_quarantined_rows,
        downstream_transactions.line_rows,
        downstream_transactions.order_line_rows
    from raw_counts
    full outer join accounting
        on raw_counts.source_file = accounting.source_file
    left join staged_counts
        on raw_counts.source_file = staged_counts.source_file
    left join listed_quarantined
        on raw_counts.source_file = listed_quarantined.source_file
    left join downstream_transactions
        on raw_counts.source_file = downstream_transactions.source_file
),

broken as (
    select *
    from compared
    where not coalesce(
        raw_rows = staged_rows
        and accounted_raw_rows = all_staged_rows
        and accounted_raw_rows = accounted_clean_rows + accounted_quarantined_rows
        and staged_clean_rows = accounted_clean_rows
        and staged_quarantined_rows = accounted_quarantined_rows
        and is_numbered_in_file_order
        and listed_quarantined_rows = accounted_quarantined_rows
        and (
            source_file <> 'transactions'
            or (line_rows = accounted_clean_rows and order_line_rows = accounted_clean_rows)
        ),
        false
    )
)

select * from broken
