{#
    Small generic data tests (the project cannot download dbt_utils). Each returns the rows
    that break the rule; dbt fails the test when any come back.
#}

{#
    expression_is_true: every row satisfies a SQL boolean expression.
        data_tests:
          - expression_is_true:
              arguments:
                expression: "clean_rows + quarantined_rows = raw_rows"
#}
{% test expression_is_true(model, expression, where=none) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{%- if where %}
    and ({{ where }})
{%- endif %}
{% endtest %}


{#
    accepted_range: a column's non-null values lie within [min_value, max_value]
    (either bound optional; `inclusive: false` makes both bounds strict).
#}
{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}
{%- set lower = ">=" if inclusive else ">" -%}
{%- set upper = "<=" if inclusive else "<" -%}
select *
from {{ model }}
where {{ column_name }} is not null
    and not (
        true
        {%- if min_value is not none %}
        and {{ column_name }} {{ lower }} {{ min_value }}
        {%- endif %}
        {%- if max_value is not none %}
        and {{ column_name }} {{ upper }} {{ max_value }}
        {%- endif %}
    )
{% endtest %}


{# unique_combination_of_columns: no two rows share the same values in these columns. #}
{% test unique_combination_of_columns(model, combination_of_columns) %}
select
    {{ combination_of_columns | join(", ") }},
    count(*) as rows_with_these_values
from {{ model }}
group by {{ combination_of_columns | join(", ") }}
having count(*) > 1
{% endtest %}


{#
    unique_values(column_name, where='true', appended_rows=none): no two rows where `where`
    holds share a value of the column (nulls aside, as dbt's `unique`). One row naming the
    column and the rows beyond the first of each repeated value, as row_rules does. In an
    appending build (appended_rows: raw_file, order, month_end or customer; macro
    rows_written_by_append) only the values of the rows it wrote are counted, among all rows:
    a written row may repeat a kept one, and the kept rows were tested by the build that
    wrote them. Counted as count - count(distinct), not dbt's group by ... having: at 10M
    transaction lines 1.8 CPU-s against 2.8, and 1.0 in next month's build.
#}
{% test unique_values(model, column_name, where='true', appended_rows=none) %}
{%- set written = rows_written_by_append(appended_rows, model) if appended_rows is not none else 'true' %}
with

counted as (
    select count({{ column_name }}) - count(distinct {{ column_name }}) as repeated_rows
    from {{ model }}
    where ({{ where }})
    {%- if written | trim != 'true' %}
        and {{ column_name }} in (
            select {{ column_name }}
            from {{ model }}
            where ({{ where }}) and {{ written }}
        )
    {%- endif %}
)

select 'unique value ({{ column_name }})' as rule, repeated_rows as broken_rows
from counted
where repeated_rows > 0
{% endtest %}


{#
    row_rules: every row keeps each rule, a SQL boolean over the model's columns (a rule that
    comes out null is broken, so `days_since_last_order >= 0` also says "not null"), and no
    two rows share a unique key. One test node per model instead of one per column rule or
    key: the model is read once, and each broken rule or key comes back as one row naming it
    and how many rows break it (for a key: the rows beyond the first of each repeated value;
    a single-column key ignores nulls, as dbt's `unique` does; a key of several columns treats
    nulls as equal, as a group by does). A rule may be {expression: ..., where: ...} to apply
    only to the rows where `where` is true. appended_rows (raw_file, order, month_end or
    customer): in an appending build, only the rows it wrote are tested (macro
    rows_written_by_append). On a view, only with a filter that reaches the scan of its
    table: int_transaction_lines' raw_file filter, a constant on a column passed through
    unchanged, reads 0.1 CPU-s at 1M customers against 1.3-1.5 for every line; its order
    filter, a subquery DuckDB applied after the view's joins, read more than every line
    (1.7).
        data_tests:
          - row_rules:
              arguments:
                unique_keys: [[customer_id], [customer_id, month_end_on]]
                rules:
                  - "customer_id is not null"
                  - "fm_score between 1 and 5"
                  - {expression: "nps_group is not null", where: "latest_nps_score is not null"}
#}
{% test row_rules(model, rules=[], unique_keys=[], appended_rows=none) %}
with

counted as (
    select
        count(*) as row_count
        {%- for rule in rules %}
        {%- set expression = rule['expression'] if rule is mapping else rule %}
        {%- set where = rule.get('where') if rule is mapping else none %},
        count(*) filter (
            where not coalesce(({{ expression }}), false)
            {%- if where %} and coalesce(({{ where }}), false){% endif %}
        ) as broken_{{ loop.index }}
        {%- endfor %}
        {%- for key in unique_keys %},
        {%- if key | length == 1 %}
        count({{ key[0] }}) - count(distinct {{ key[0] }}) as repeated_{{ loop.index }}
        {%- else %}
        count(*) - count(distinct ({{ key | join(', ') }})) as repeated_{{ loop.index }}
        {%- endif %}
        {%- endfor %}
    from {{ model }}
    {%- if appended_rows is not none %}
    where {{ rows_written_by_append(appended_rows, model) }}
    {%- endif %}
),

broken as (
    select cast(null as string) as rule, cast(0 as bigint) as broken_rows
    where false
    {%- for rule in rules %}
    {%- set expression = rule['expression'] if rule is mapping else rule %}
    {%- set where = rule.get('where') if rule is mapping else none %}
    union all
    select
        '{{ (expression ~ (" (where " ~ where ~ ")" if where else "")) | replace("'", "''") }}',
        broken_{{ loop.index }}
    from counted
    {%- endfor %}
    {%- for key in unique_keys %}
    union all
    select 'unique key ({{ key | join(", ") }})', repeated_{{ loop.index }}
    from counted
    {%- endfor %}
)

select rule, broken_rows
from broken
where broken_rows > 0
{% endtest %}
