{#
    The monthly KPIs in long form with their month-over-month change, for the report's KPI
    tiles: one row per month and KPI. Whether a rise is good is a property of the KPI (churn
    down is good, revenue down is bad); is_improvement combines it with the direction of the
    change so the report colours a tile without judging anything itself.
    A change is notable when it lies outside the KPI's usual variation: more than
    {{ notable_factor }} x the median absolute month-to-month change of the
    {{ trailing_months }} months before (typical_change_amount), with at least
    {{ min_prior_changes }} earlier changes to judge by. trailing_extreme says when the value is
    the lowest or highest of 13 months (this month and the 12 before).
#}
{%- set notable_factor = 2 %}
{%- set trailing_months = 12 %}
{%- set min_prior_changes = 6 %}

{%- set kpis = [
    {"code": "net_revenue_amount", "kind": "money", "higher_is_better": "true"},
    {"code": "order_count", "kind": "count", "higher_is_better": "true"},
    {"code": "aov_amount", "kind": "money", "higher_is_better": "true"},
    {"code": "active_customer_count", "kind": "count", "higher_is_better": "true"},
    {"code": "new_customer_count", "kind": "count", "higher_is_better": "true"},
    {"code": "returning_customer_count", "kind": "count", "higher_is_better": "true"},
    {"code": "revenue_per_active_customer_amount", "kind": "money", "higher_is_better": "true"},
    {"code": "repeat_rate", "kind": "rate", "higher_is_better": "true"},
    {"code": "churn_rate", "kind": "rate", "higher_is_better": "false"},
    {"code": "activity_rate", "kind": "rate", "higher_is_better": "true"},
    {"code": "median_days_first_to_second_purchase", "kind": "days", "higher_is_better": "false"},
    {"code": "historical_clv_amount", "kind": "money", "higher_is_better": "true"},
    {"code": "seed_formula_clv_amount", "kind": "money", "higher_is_better": "true"},
    {"code": "gross_margin_amount", "kind": "money", "higher_is_better": "true"},
    {"code": "gross_margin_rate", "kind": "rate", "higher_is_better": "true"},
] -%}

with

monthly_kpis as (
    select * from {{ ref('monthly_kpis') }}
),

kpi_definitions as (
    select
        kpi_code,
        kpi_order,
        value_kind,
        higher_is_better
    from (
        values
        {%- for kpi in kpis %}
            ('{{ kpi.code }}', {{ loop.index }}, '{{ kpi.kind }}', {{ kpi.higher_is_better }}){{ "," if not loop.last }}
        {%- endfor %}
    ) as definitions (kpi_code, kpi_order, value_kind, higher_is_better)
),

kpi_values as (
    {%- for kpi in kpis %}
    select
        month_start_on,
        month_end_on,
        '{{ kpi.code }}' as kpi_code,
        cast({{ kpi.code }} as double) as value
    from monthly_kpis
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

kpi_values_compared as (
    select
        kpi_values.month_start_on,
        kpi_values.month_end_on,
        kpi_values.kpi_code,
        kpi_values.value,
        previous_month.value as previous_value,
        year_ago.value as year_ago_value
    from kpi_values
    left join kpi_values as previous_month
        on kpi_values.kpi_code = previous_month.kpi_code
        and previous_month.month_start_on = cast(kpi_values.month_start_on - interval 1 month as date)
    left join kpi_values as year_ago
        on kpi_values.kpi_code = year_ago.kpi_code
        and year_ago.month_start_on = cast(kpi_values.month_start_on - interval 12 month as date)
),

kpi_changes as (
    select
        kpi_values_compared.*,
        kpi_definitions.kpi_order,
        kpi_definitions.value_kind,
        kpi_definitions.higher_is_better,
        value - previous_value as change_amount,
        case
            when kpi_definitions.value_kind <> 'rate' and previous_value <> 0
                then (value - previous_value) / abs(previous_value)
        end as change_rate,
        case
            when kpi_definitions.value_kind <> 'rate' and year_ago_value <> 0
                then (value - year_ago_value) / abs(year_ago_value)
        end as year_over_year_change_rate,
        case
            when value > previous_value then 'up'
            when value < previous_value then 'down'
            when value = previous_value then 'flat'
        end as direction
    from kpi_values_compared
    inner join kpi_definitions
        on kpi_values_compared.kpi_code = kpi_definitions.kpi_code
),

kpi_changes_in_context as (
    -- the usual variation: the changes and values of the 12 months before this one
    select
        *,
        {{ median_of('abs(change_amount)') }} over trailing_months as typical_change_amount,
        count(change_amount) over trailing_months as prior_change_count,
        min(value) over trailing_months as trailing_min_value,
        max(value) over trailing_months as trailing_max_value,
        count(value) over trailing_months as prior_value_count
    from kpi_changes
    window trailing_months as (
        partition by kpi_code
        order by month_start_on
        rows between {{ trailing_months }} preceding and 1 preceding
    )
),

kpi_changes_judged as (
    select
        *,
        case
            when change_amount is null or prior_change_count < {{ min_prior_changes }} then null
            when typical_change_amount = 0 then change_amount <> 0
            else abs(change_amount) > {{ notable_factor }} * typical_change_amount
        end as is_notable,
        case
            when typical_change_amount > 0 then abs(change_amount) / typical_change_amount
        end as change_to_typical_ratio,
        case
            when value is null or prior_value_count < {{ trailing_months }} then null
            when value < trailing_min_value then 'low'
            when value > trailing_max_value then 'high'
        end as trailing_extreme
    from kpi_changes_in_context
),

final as (
    select
        month_start_on,
        month_end_on,
        kpi_code,
        kpi_order,
        value_kind,
        value,
        previous_value,
        change_amount,
        change_rate,
        year_ago_value,
        value - year_ago_value as year_over_year_change_amount,
        year_over_year_change_rate,
        direction,
        higher_is_better,
        case
            when direction in ('up', 'down') then (direction = 'up') = higher_is_better
        end as is_improvement,
        typical_change_amount,
        prior_change_count,
        is_notable,
        change_to_typical_ratio,
        trailing_extreme
    from kpi_changes_judged
)

select * from final
