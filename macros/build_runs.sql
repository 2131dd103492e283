{#
    record_build_run(results): the `on-run-end` hook of `dbt build`. Appends one row to
    main.build_runs and replaces main.build_results with one row per node of this run, so a
    plain `dbt build` and `retail-tiers build` leave the same record in the warehouse they
    built, and the report's build details always describe the tables beside them.
    Other commands (`dbt run`, `dbt test`, `dbt seed`) record nothing.
#}
{% macro record_build_run(results) -%}
    {%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('record_build_run', 'retail_tiers')(results)) }}{% endif %}
    {%- if execute and flags.WHICH == 'build' -%}
        {%- set failed_statuses = ['error', 'fail', 'runtime error'] -%}
        {%- set counts = {'model': 0, 'seed': 0, 'test': 0, 'test_failed': 0, 'test_warned': 0,
                          'unit_test': 0, 'unit_test_failed': 0} -%}
        {%- set failures = [] -%}
        {%- for result in results -%}
            {%- set kind = result.node.resource_type | string | replace('NodeType.', '') | lower -%}
            {%- set status = result.status | string | lower -%}
            {%- if kind in ('model', 'seed') and status == 'success' -%}
                {%- do counts.update({kind: counts[kind] + 1}) -%}
            {%- elif kind in ('test', 'unit_test') and status == 'pass' -%}
                {%- do counts.update({kind: counts[kind] + 1}) -%}
            {%- elif kind == 'test' and status == 'warn' -%}
                {%- do counts.update({'test_warned': counts['test_warned'] + 1}) -%}
            {%- endif -%}
            {%- if kind in ('test', 'unit_test') and status in failed_statuses -%}
                {%- do counts.update({kind ~ '_failed': counts[kind ~ '_failed'] + 1}) -%}
            {%- endif -%}
            {%- if status in failed_statuses -%}
                {%- do failures.append(build_failure_line(kind, result)) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set invocation_vars = invocation_args_dict.get('vars') or {} -%}
        {%- if invocation_vars is string -%}
            {%- set invocation_vars = fromyaml(invocation_vars) or {} -%}
        {%- endif -%}
        {%- set failure = none -%}
        {%- if failures -%}
            {%- set failure = failures[0] ~ ((' (and ' ~ (failures | length - 1) ~ ' more failed)')
                                              if failures | length > 1 else '') -%}
        {%- endif -%}
        {%- set accounting = adapter.get_relation(database=target.database, schema='main',
                                                  identifier='row_accounting') -%}
        {%- set quarantine = adapter.get_relation(database=target.database, schema='main',
                                                  identifier='quarantined_rows') -%}
        {%- set run_id = invocation_id -%}
            begin;
            create table if not exists main.build_runs (
                run_id varchar,
                started_at timestamp,
                finished_at timestamp,
                success boolean,
                input_description varchar,
                as_of_date date,
                vars_json varchar,
                models_built integer,
                seeds_loaded integer,
                tests_passed integer,
                tests_failed integer,
                tests_warned integer,
                unit_tests_passed integer,
                unit_tests_failed integer,
                rows_in bigint,
                rows_quarantined bigint,
                failure varchar
            );
            create table if not exists main.build_results (
                run_id varchar,
                unique_id varchar,
                resource_type varchar,
                name varchar,
                status varchar,
                failures integer,
                execution_seconds double,
                message varchar
            );
            insert into main.build_runs values (
                {{ sql_text(run_id) }},
                cast({{ sql_text(run_started_at.astimezone().strftime('%Y-%m-%d %H:%M:%S.%f')) }} as timestamp),
                cast(current_localtimestamp() as timestamp),
                {{ 'false' if failures else 'true' }},
                {{ sql_text(build_input_description()) }},
                {{ sql_date(as_of_date_setting()) }},
                {{ sql_text(tojson(recorded_vars(invocation_vars), sort_keys=true)) }},
                {{ counts['model'] }},
                {{ counts['seed'] }},
                {{ counts['test'] }},
                {{ counts['test_failed'] }},
                {{ counts['test_warned'] }},
                {{ counts['unit_test'] }},
                {{ counts['unit_test_failed'] }},
                {{ '(select sum(raw_rows) from main.row_accounting)' if accounting is not none else 'null' }},
                {{ '(select count(*) from main.quarantined_rows)' if quarantine is not none else 'null' }},
                {{ sql_text(failure) }}
            );
            delete from main.build_results;
            {%- for result in results %}
            insert into main.build_results values (
                {{ sql_text(run_id) }},
                {{ sql_text(result.node.unique_id) }},
                {{ sql_text(result.node.resource_type | string | replace('NodeType.', '') | lower) }},
                {{ sql_text(result.node.name) }},
                {{ sql_text(result.status | string | lower) }},
                {{ (result.failures | int) if result.failures is not none else 'null' }},
                {{ (result.execution_time or 0) | float }},
                {{ sql_text(result.message) }}
            );
            {%- endfor %}
            commit;
    {%- endif -%}
{%- endmacro %}


{# build_failure_line(kind, result): `test x failed: 2 failing rows`, `model y failed: <cause>`. #}
{% macro build_failure_line(kind, result) -%}
    {%- set label = 'unit test' if kind == 'unit_test' else kind -%}
    {%- if kind == 'test' and result.failures -%}
        {%- set cause = (result.failures | string) ~ ' failing row' ~ ('s' if result.failures != 1 else '') -%}
    {%- else -%}
        {%- set lines = [] -%}
        {%- for line in ((result.message or '') | string).split('\n') if line | trim -%}
            {%- do lines.append(line | trim) -%}
        {%- endfor -%}
        {%- if lines | length > 1 and modules.re.match('^\\w+ Error in \\w+ ', lines[0]) -%}
            {%- set lines = lines[1:] -%}
        {%- endif -%}
        {%- set cause = lines[0] if lines else 'no message' -%}
    {%- endif -%}
    {{- return(label ~ ' ' ~ result.node.name ~ ' failed: ' ~ cause) -}}
{%- endmacro %}


{#
    build_input_description(): where the raw rows came from: the demo seeds, or the folder of
    the transactions file `retail-tiers build --input` passed in `raw_files` (its entry
    `input_description` when the CLI gave one, e.g. with the file's encoding).
#}
{% macro build_input_description() -%}
    {%- set raw_files = build_input('raw_files', {}) -%}
    {%- if raw_files | length == 0 -%}
        {{- return('demo data (seeds/demo)') -}}
    {%- endif -%}
    {%- set spec = raw_files.get('transactions') or {} -%}
    {{- return(spec.get('input_description') or spec.get('path') or 'raw_files') -}}
{%- endmacro %}


{# sql_text(value): a varchar literal (quotes doubled), or null. #}
{% macro sql_text(value) -%}
    {%- if value is none -%}
        null
    {%- else -%}
        '{{ value | string | replace("'", "''") }}'
    {%- endif -%}
{%- endmacro %}


{# sql_date(value): a date literal from an ISO date text, or null. #}
{% macro sql_date(value) -%}
    {%- if value is none or value == '' -%}
        cast(null as date)
    {%- else -%}
        cast({{ sql_text(value) }} as date)
    {%- endif -%}
{%- endmacro %}


{#
    guard_var_values(): the `on-run-start` hook. Every var given on the command line (`--vars`)
    must be null, true/false, a number, or a plain word such as a date, a method or a time
    zone (letters, digits and _ . / + : -); anything else (quotes, spaces, brackets, a Jinja
    template) could end up pasted into SQL, so the run stops before any model. Types and
    ranges are checked by `retail-tiers build` (retail_tiers/settings.py); this guard also
    covers a plain `dbt build --vars ...`. raw_files, set by the CLI, is checked where it is
    used (macros/raw_input.sql); input_digests (set by the CLI) is only recorded. The error
    names every var that is not plain, on one line.
#}
{% macro guard_var_values() -%}
    {%- set given = invocation_args_dict.get('vars') or {} -%}
    {%- if given is string -%}
        {%- set given = fromyaml(given) or {} -%}
    {%- endif -%}
    {%- set refused = [] -%}
    {%- for name, value in given.items() if name not in ('raw_files', 'input_digests') -%}
        {%- if not (value is none or value is boolean or value is number
                    or (value is string and modules.re.fullmatch('[A-Za-z0-9_./+:-]{0,64}', value))) -%}
            {%- do refused.append("var " ~ name ~ ": not a plain value (a number, true/false, a date or a word): " ~ ((value | string)[:60] | replace('\n', ' '))) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if refused -%}
        {{ exceptions.raise_compiler_error(refused | join('; ')) }}
    {%- endif -%}
{%- endmacro %}


{#
    recorded_vars(given): the vars of this build as build_runs.vars_json keeps them: the
    --vars (`given`), with the CLI's build inputs (macros/build_input.sql) in place of the var
    that says where they came from, as if they had been vars (the CLI's build planner reads
    input_digests back, the report its settings).
#}
{% macro recorded_vars(given) -%}
    {%- set recorded = {} -%}
    {%- do recorded.update(given) -%}
    {%- do recorded.update(build_inputs_from_environment()) -%}
    {%- do recorded.pop('build_input_from_environment', none) -%}
    {{- return(recorded) -}}
{%- endmacro %}
