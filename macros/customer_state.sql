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
    trailing_window_ends_on(order_date, days): the first day on which an order of `order_date`
    is no longer in the trailing `days`-day window (in_trailing_window false from this day on).
#}
{% macro trailing_window_ends_on(order_date, days) -%}
    ({{ order_date }} + {{ days }})
{%- endmacro %}


{#
    is_churned(last_purchase_on, as_of): a customer whose latest purchase on or before `as_of`
    is more than var `churn_days` days before it. Null last purchase (no purchase yet) -> null.
#}
{% macro is_churned(last_purchase_on, as_of) -%}
    ({{ as_of }} >= {{ churned_on(last_purchase_on) }})
{%- endmacro %}


{#
    churned_on(last_purchase_on): the first day on which a customer whose latest purchase is
    `last_purchase_on` counts as churned (is_churned is true from this day until the next
    purchase): the purchase day + churn_days + 1. The one statement of the churn rule.
#}
{% macro churned_on(last_purchase_on) -%}
    ({{ last_purchase_on }} + {{ var('churn_days') | int }} + 1)
{%- endmacro %}


{#
    is_past_churn_days(days_since_last_purchase): is_churned, for a count of days since the
    latest purchase.
#}
{% macro is_past_churn_days(days_since_last_purchase) -%}
    ({{ days_since_last_purchase }} > {{ var('churn_days') | int }})
{%- endmacro %}


{# as_of_date(): the run's as-of date as a scalar subquery on int_run_dates. #}
{% macro as_of_date() -%}
    (select as_of_date from {{ ref('int_run_dates') }})
{%- endmacro %}


{#
    as_of_date_setting(): the as-of date the build was given, or none: `--as-of` (a build
    input, macros/build_input.sql: dbt reuses its parse of the project for another date),
    else var as_of_date (a plain `dbt build --vars`, or set in dbt_project.yml).
#}
{% macro as_of_date_setting() -%}
    {{- return(build_input('as_of_date') or var('as_of_date', none)) -}}
{%- endmacro %}


{#
    as_of_date_after(last_order_on): the as-of date of data whose last clean line is dated
    `last_order_on`: as_of_date_setting() when set, else the last day of the latest complete
    month of that date. int_run_dates' rule, for this build's data and for
    the data an appending build appends to.
#}
{% macro as_of_date_after(last_order_on) -%}
    {%- set given_as_of_date = as_of_date_setting() -%}
    {%- if given_as_of_date -%}
        {{ sql_date(given_as_of_date) }}
    {%- else -%}
        case
            when {{ last_order_on }} = last_day({{ last_order_on }}) then {{ last_order_on }}
            else cast(date_trunc('month', {{ last_order_on }}) - interval 1 day as date)
        end
    {%- endif -%}
{%- endmacro %}
