{#-
    The customers whose state over time (int_customer_state_changes) an appending build
    recomputes (issue 15's monthly increments), one row each; empty in every other build.
    Every other customer's change rows are the same as a full build would write: they depend
    only on the customer's orders and on which order days (entries) and window exit days fall
    on or before the as-of date. So a customer is recomputed when
      - a clean line of an order the build recomputes (int_appended_orders) names them, old
        lines and new alike: the order's customer now and before (int_orders_netted takes the
        least customer id of its lines, so both are among them);
      - one of their orders enters (its day) or leaves a trailing window
        (trailing_window_ends_on, rfm_window_days and 365 days) between the previous build's
        as-of date and this build's (int_run_dates): after the earlier of the two and on or
        before the later. The previous build's as-of date is int_run_dates' rule
        (as_of_date_after) over the clean lines loaded before, which the appending build keeps
        as they were, under the same as-of setting (a build given another --as-of than the
        last one reads everything again: retail_tiers/increments.py); with appended lines
        only, it cannot be later than this build's.
-#}
{%- set appending = build_input('append_transactions', false) %}

with

lines_loaded_before as (
    select max(ordered_on) as last_order_on
    from {{ ref('stg_transactions') }}
    where quarantine_reason is null
        {%- if appending %}
        and raw_file_name not in ({{ appended_transaction_files() }})
        {%- else %}
        and false
        {%- endif %}
),

as_of_dates as (
    select
        run_dates.as_of_date,
        {{ as_of_date_after('lines_loaded_before.last_order_on') }} as previous_as_of_date
    from {{ ref('int_run_dates') }} as run_dates
    cross join lines_loaded_before
),

days_passed as (
    select
        least(as_of_date, previous_as_of_date) as passed_after,
        greatest(as_of_date, previous_as_of_date) as passed_until
    from as_of_dates
),

appended_orders as (
    select order_id
    from {{ ref('int_appended_orders') }}
),

lines as (
    select
        order_id,
        customer_id
    from {{ ref('int_transaction_lines') }}
    where not is_guest
        {%- if not appending %}
        and false
        {%- endif %}
),

customer_orders as (
    select
        customer_id,
        ordered_on,
        {{ trailing_window_ends_on('ordered_on', var('rfm_window_days') | int) }} as window_exit_on,
        {{ trailing_window_ends_on('ordered_on', 365) }} as trailing_year_exit_on
    from {{ ref('int_customer_orders') }}
    {%- if not appending %}
    where false
    {%- endif %}
),

customers_of_appended_orders as (
    select lines.customer_id
    from lines
    where lines.order_id in (select appended_orders.order_id from appended_orders)
),

customers_with_days_passed as (
    -- an entry or a window exit between the two as-of dates
    select customer_orders.customer_id
    from customer_orders
    cross join days_passed
    where (customer_orders.ordered_on > days_passed.passed_after
            and customer_orders.ordered_on <= days_passed.passed_until)
        or (customer_orders.window_exit_on > days_passed.passed_after
            and customer_orders.window_exit_on <= days_passed.passed_until)
        or (customer_orders.trailing_year_exit_on > days_passed.passed_after
            and customer_orders.trailing_year_exit_on <= days_passed.passed_until)
),

final as (
    select customer_id from customers_of_appended_orders
    union
    select customer_id from customers_with_days_passed
)

select customer_id from final
