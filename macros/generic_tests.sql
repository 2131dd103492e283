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
