{#
    Helpers of the set-based monthly customer history (int_customer_state_changes).
#}

{#
    month_end_index_on_or_after(day): position (0-based) in the history of the first month end
    on or after `day`, given the columns first_month_start_on, as_of_date and month_end_count
    of the history's bounds. Days before the history map to 0; days after the as-of date map to
    month_end_count (past the last month end). Every month end is the last day of its month
    except possibly the last (the as-of date), hence the as-of test.
#}
{% macro month_end_index_on_or_after(day) -%}
    case
        when {{ day }} > as_of_date then month_end_count
        else greatest(cast({{ month_diff('first_month_start_on', day) }} as integer), 0)
    end
{%- endmacro %}
