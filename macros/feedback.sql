{#
    Shared definitions of customer feedback (NPS survey). Every model that groups scores or
    computes an NPS uses these, so the customer mart and the monthly feedback marts agree.
#}

{#
    nps_group(nps_score): 'promoter' (9-10), 'passive' (7-8), 'detractor' (0-6); null for a
    null score.
#}
{% macro nps_group(nps_score) -%}
    case
        when {{ nps_score }} >= 9 then 'promoter'
        when {{ nps_score }} >= 7 then 'passive'
        when {{ nps_score }} >= 0 then 'detractor'
    end
{%- endmacro %}


{#
    net_promoter_score(promoters, detractors, responses): the NPS in points, -100 to 100:
    100 x (promoters - detractors) / responses, a double; null when there are no responses.
#}
{% macro net_promoter_score(promoters, detractors, responses) -%}
    100.0 * cast({{ promoters }} - {{ detractors }} as double) / nullif({{ responses }}, 0)
{%- endmacro %}


{#
    breakdown_schemes(): the segment schemes the per-segment feedback and category marts break
    customers down by, each with its customer_monthly_history column.
#}
{% macro breakdown_schemes() -%}
    {{ return({'rfm_grid': 'rfm_grid_segment_code', 'rfm8': 'rfm8_segment_code'}) }}
{%- endmacro %}


{#
    feedback_counts(): the select-list of a group of feedback responses (rows with customer_id,
    nps_group and satisfaction_score): responses, respondents, promoters, passives, detractors
    and mean_satisfaction (a double; null when no response gave one).
#}
{% macro feedback_counts() -%}
    count(*) as responses,
    count(distinct customer_id) as respondents,
    count(*) filter (where nps_group = 'promoter') as promoters,
    count(*) filter (where nps_group = 'passive') as passives,
    count(*) filter (where nps_group = 'detractor') as detractors,
    avg(cast(satisfaction_score as double)) as mean_satisfaction
{%- endmacro %}
