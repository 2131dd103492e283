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
    row_rules: every row keeps each rule, a SQL boolean over the model's columns (a rule that
    comes out null is broken, so `days_since_last_order >= 0` also says "not null"). One test
    node per model instead of one per column rule: the model is read once, and each broken
    rule comes back as one row naming the rule and how many rows break it. A rule may be
    {expression: ..., where: ...} to apply only to the rows where `where` is true.
        data_tests:
          - row_rules:
              arguments:
                rules:
                  - "customer_id is not null"
                  - "fm_score between 1 and 5"
                  - {expression: "nps_group is not null", where: "latest_nps_score is not null"}
#}
{% test row_rules(model, rules) %}
with

counted as (
    select
        {%- for rule in rules %}
        {%- set expression = rule['expression'] if rule is mapping else rule %}
        {%- set where = rule.get('where') if rule is mapping else none %}
        count(*) filter (
            where not coalesce(({{ expression }}), false)
            {%- if where %} and coalesce(({{ where }}), false){% endif %}
        ) as broken_{{ loop.index }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ model }}
),

broken as (
    {%- for rule in rules %}
    {%- set expression = rule['expression'] if rule is mapping else rule %}
    {%- set where = rule.get('where') if rule is mapping else none %}
    select
        '{{ (expression ~ (" (where " ~ where ~ ")" if where else "")) | replace("'", "''") }}' as rule,
        broken_{{ loop.index }} as broken_rows
    from counted
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select rule, broken_rows
from broken
where broken_rows > 0
{% endtest %}
