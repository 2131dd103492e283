{#
    Shared definitions of customer state (DESIGN sections 4, 6 and 8). Every model that asks
    "is this order in the trailing window?" or "is this customer churned?" uses these, so the
    customer marts, the lifecycle stage and the monthly KPIs can never disagree.
#}

{#
    in_trailing_window(order_date, as_of, days): the order falls in the `days` days up to and
    including `as_of` (365 days = `as_of` and the 364 days before it).
#}
{% macro in_trailing_window(order_date, as_of, days) -%}
    ({{ order_date }} <= {{ as_of }} and {{ order_date }} > {{ as_of }} - {{ days }})
{%- endmacro %}


{#
    is_churned(last_purchase_on, as_of): a customer whose latest purchase on or before `as_of`
    is more than var `churn_days` days before it. Null last purchase (no purchase yet) -> null.
#}
{% macro is_churned(last_purchase_on, as_of) -%}
    (({{ as_of }} - {{ last_purchase_on }}) > {{ var('churn_days') }})
{%- endmacro %}


{# as_of_date(): the run's as-of date as a scalar subquery on int_run_dates. #}
{% macro as_of_date() -%}
    (select as_of_date from {{ ref('int_run_dates') }})
{%- endmacro %}
