{#
    Month ends recomputed by an appending build (issue 15's monthly increments, after staging).

    When `retail-tiers build` appends new transactions files (build_input
    append_transactions, macros/build_input.sql), a model by month end
    (int_month_ends_cut_points, int_customer_months_classified: config incremental, unique_key
    month_end_on, full_refresh unless appending, post-hook drop_month_ends_left_behind) keeps
    the rows of the month ends the new lines cannot change and recomputes the others. A month
    end E can change when a new clean line is dated on or before E, and when it is new to the
    history or is its first month end (whose previous_* state is null by definition: the
    window moved). Lines are placed conservatively: every line of an order that a new line
    belongs to counts, so a line that changes an earlier order's attributes moves the bound
    back to that order's first day. The build planner
    (retail_tiers/increments.py) rebuilds everything instead when the models, rules,
    settings or an earlier file changed.

    appended_transaction_files(): the raw_file_name of the files the appending build reads.
#}
{% macro appended_transaction_files() -%}
    {%- set spec = build_input('raw_files', {}).get('transactions') or {} -%}
    {%- set names = spec.get('file_names') or ([spec.get('file_name')] if spec.get('file_name') else []) -%}
    {%- set quoted = [] -%}
    {%- for name in names -%}
        {%- do quoted.append("'" ~ (name | replace("'", "''")) ~ "'") -%}
    {%- endfor -%}
    {{- quoted | join(', ') if quoted else 'null' -}}
{%- endmacro %}


{#
    appended_order_ids(): a query of the order ids of the clean lines the appending build
    reads (int_orders_netted recomputes these orders: an order's rows depend on its lines
    alone), from int_appended_orders, which works them out once per build.
#}
{% macro appended_order_ids() -%}
    select order_id
    from {{ ancestor_relation('int_appended_orders') }}
{%- endmacro %}


{#
    first_changed_on_query(): a query of one row, first_changed_on: the first day of the
    orders the appending build's clean lines belong to (int_appended_orders: every line of such
    an order counts, so a line that changes an earlier order's attributes moves the bound back
    to that order's first day); null when the new files hold no clean line.
#}
{% macro first_changed_on_query() -%}
    select min(first_ordered_on) as first_changed_on
    from {{ ancestor_relation('int_appended_orders') }}
{%- endmacro %}


{#
    month_ends_to_recompute(existing): a query of the month_end_on values of int_month_ends
    that an appending build recomputes, given the model's existing table. It reads
    int_appended_orders and int_month_ends through ancestor_relation(), not ref(): both are
    upstream of every model that calls it, so dbt has built them first, and a ref here (only
    reached when appending) would make every unit test of the model mock them.
#}
{% macro month_ends_to_recompute(existing) -%}
    with

    first_changed as (
        {{ first_changed_on_query() }}
    ),

    kept as (
        select distinct month_end_on
        from {{ existing }}
    )

    select month_ends.month_end_on
    from {{ ancestor_relation('int_month_ends') }} as month_ends
    cross join first_changed
    where month_ends.month_end_index = 0
        or month_ends.month_end_on >= first_changed.first_changed_on
        or month_ends.month_end_on not in (select kept.month_end_on from kept)
{%- endmacro %}


{#
    recomputed_month_ends(existing): the month ends of month_ends_to_recompute(existing) as a
    list of date literals, worked out once when the model runs (run_query). A model filters the
    month-end view int_customer_month_ends_spined with it: a filter on constants reaches the
    month ends before the view's range join, so only the recomputed month ends are spread (a
    subquery filter is applied after the join, to all 10M rows at 1M customers).
#}
{% macro recomputed_month_ends(existing) -%}
    {%- if not execute -%}{{ return('null') }}{%- endif -%}
    {%- set found = run_query(month_ends_to_recompute(existing)) -%}
    {%- set literals = [] -%}
    {%- for row in found.rows -%}
        {%- do literals.append("cast('" ~ row[0] ~ "' as date)") -%}
    {%- endfor -%}
    {{- literals | join(', ') if literals else 'null' -}}
{%- endmacro %}


{#
    rows_written_by_append(rows): a SQL condition true for the rows of a model that an
    appending build wrote (recomputed or added), for the data tests: the rows it kept were
    tested by the build that wrote them. `rows` names how the model is rewritten: raw_file
    (stg_transactions, and the view int_transaction_lines: the lines of the appended files),
    order (the rows of the orders a new
    line belongs to: int_orders_netted), month_end (the recomputed month ends:
    int_customer_months_classified) or customer (the rows of int_appended_customers:
    int_customer_state_changes, int_customer_purchase_days). Every other build: true (every
    row). A unique key that holds the rewritten key (order_id, month_end_on, customer_id) is
    unique in the whole table when it is unique among the rewritten rows: the kept rows have
    other values.
#}
{% macro rows_written_by_append(rows, relation) -%}
    {%- if not execute or not build_input('append_transactions', false) -%}
        true
    {%- elif rows == 'raw_file' -%}
        raw_file_name in ({{ appended_transaction_files() }})
    {%- elif rows == 'order' -%}
        order_id in ({{ appended_order_ids() }})
    {%- elif rows == 'month_end' -%}
        month_end_on in ({{ recomputed_month_ends(relation) }})
    {%- elif rows == 'customer' -%}
        customer_id in ({{ appended_customer_ids() }})
    {%- else -%}
        {{ exceptions.raise_compiler_error("rows_written_by_append: unknown rows '" ~ rows ~ "' (raw_file, order, month_end or customer)") }}
    {%- endif -%}
{%- endmacro %}


{#
    drop_month_ends_left_behind(): a post-hook for an appending build: remove the month ends
    no longer in the history (the window moved past them, or the as-of date did).
#}
{% macro drop_month_ends_left_behind() -%}
    {%- if is_appending() -%}
    delete from {{ this }}
    where month_end_on not in (select month_end_on from {{ ancestor_relation('int_month_ends') }})
    {%- endif -%}
{%- endmacro %}


{#
    drop_orders_moved_away(): a post-hook of int_customer_orders for an appending build:
    remove the rows of recomputed orders that no longer belong to the row's customer (the
    order's lines now name another customer, or none). delete+insert by customer replaces the
    customers the new rows name, so a customer whose only order moved away kept the old row.
#}
{% macro drop_orders_moved_away() -%}
    {%- if is_appending() -%}
    delete from {{ this }} as kept
    where kept.order_id in ({{ appended_order_ids() }})
        and not exists (
            select 1
            from {{ ancestor_relation('int_orders_netted') }} as orders
            where orders.order_id = kept.order_id
                and orders.customer_id = kept.customer_id
                and not orders.is_guest
        )
    {%- endif -%}
{%- endmacro %}


{#
    appended_customer_ids(): a query of the customers an appending build recomputes in the
    models by customer (int_customer_state_changes, int_customer_purchase_days), from
    int_appended_customers, which works them out once per build. A model that reads it says
    `-- depends_on: {{ ref('int_appended_customers') }}`: the ref is only reached when
    appending, so dbt would not know of it from parsing.
#}
{% macro appended_customer_ids() -%}
    select customer_id
    from {{ ancestor_relation('int_appended_customers') }}
{%- endmacro %}


{#
    clear_recomputed_customers(): a pre-hook of the models by customer for an appending build:
    remove the rows of the customers it recomputes (appended_customer_ids), before the model
    appends their rows as they are now; so a recomputed customer left with no row (no purchase
    any more) keeps none either.
#}
{% macro clear_recomputed_customers() -%}
    {%- if is_appending() -%}
    delete from {{ this }}
    where customer_id in ({{ appended_customer_ids() }})
    {%- endif -%}
{%- endmacro %}


{#
    drop_state_changes_before_the_history(): a post-hook of int_customer_state_changes for an
    appending build: remove the kept rows that stop holding before the history's first month
    (the window moved on), which a full build does not keep either.
#}
{% macro drop_state_changes_before_the_history() -%}
    {%- if is_appending() -%}
    delete from {{ this }}
    where next_change_month_start_on <= (
        select min(month_start_on) from {{ ancestor_relation('int_month_ends') }}
    )
    {%- endif -%}
{%- endmacro %}


{#
    is_appending(): whether this model run appends (build_input append_transactions, set by
    `retail-tiers build` when it found only new transactions files) to a table it keeps
    (is_incremental()). The one definition the appending models and post-hooks use.
#}
{% macro is_appending() -%}
    {{- return(is_incremental() and build_input('append_transactions', false)) -}}
{%- endmacro %}


{#
    ancestor_relation(name): the relation of a model of this project by name, read from the
    graph (dbt's context at run time); a model that is not upstream of the calling model
    stops the build (dbt would not have built it first).
#}
{% macro ancestor_relation(name) -%}
    {%- set unique_id = 'model.' ~ project_name ~ '.' ~ name -%}
    {%- set upstream = [model.unique_id] -%}
    {%- for node_id in upstream -%}
        {%- for parent in graph.nodes.get(node_id, {}).get('depends_on', {}).get('nodes', []) -%}
            {%- if parent not in upstream -%}{%- do upstream.append(parent) -%}{%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if unique_id not in upstream -%}
        {{ exceptions.raise_compiler_error("ancestor_relation: " ~ name ~ " is not upstream of " ~ model.name) }}
    {%- endif -%}
    {{- graph.nodes[unique_id].relation_name -}}
{%- endmacro %}


{#
    Months recomputed by an appending build, for the models by month: int_customer_month_activity
    (config incremental, pre-hook clear_recomputed_months, post-hook
    carry_first_purchase_months) and sales_by_channel_store_city (its channel and store cuts;
    the city cut, which reads the customers file, is recomputed in every month).

    A customer's row for month M depends only on the customer's orders up to M's end, so the
    months before the first changed month keep their rows, except the customer-wide
    first_purchase_month_start_on (see carry_first_purchase_months). first_recomputed_month(existing)
    is, as a date literal worked out once (run_query) from the table before this build
    changes it, the first month an appending build recomputes: the month of
    first_changed_on_query(), the last month the table holds (it may have ended on a
    mid-month as-of date) or the last month of int_months_spined (the as-of date moved back),
    whichever is first; every month when the table is empty.
#}
{% macro first_recomputed_month(existing) -%}
    {%- if not execute -%}{{ return("cast('0001-01-01' as date)") }}{%- endif -%}
    {%- set query -%}
    with

    first_changed as (
        {{ first_changed_on_query() }}
    ),

    kept as (
        select max(month_start_on) as last_month_start_on
        from {{ existing }}
    ),

    months as (
        select max(month_start_on) as last_month_start_on
        from {{ ancestor_relation('int_months_spined') }}
    )

    select
        case
            when kept.last_month_start_on is null then cast('0001-01-01' as date)
            -- least() skips nulls: no clean new line, or no month, leaves the others
            else least(
                cast(date_trunc('month', first_changed.first_changed_on) as date),
                kept.last_month_start_on,
                months.last_month_start_on
            )
        end
    from first_changed
    cross join kept
    cross join months
    {%- endset -%}
    {%- set found = run_query(query) -%}
    {{- "cast('" ~ found.rows[0][0] ~ "' as date)" -}}
{%- endmacro %}


{#
    clear_recomputed_months(also_where): a pre-hook for an appending build: remove the months
    the model recomputes (first_recomputed_month() onwards, the months after a moved-back
    as-of date included), so that a row that no longer has an order (its order moved to
    another customer) does not stay; and the rows of `also_where` (a condition), which the
    model recomputes in every month.
#}
{% macro clear_recomputed_months(also_where=none) -%}
    {%- if is_appending() -%}
    delete from {{ this }}
    where month_start_on >= {{ first_recomputed_month(this) }}
        {%- if also_where %}
        or ({{ also_where }})
        {%- endif %}
    {%- endif -%}
{%- endmacro %}


{#
    carry_first_purchase_months(): a post-hook for an appending build: the kept rows of a
    customer before the first purchase (return-only months) learn the first purchase month the
    recomputed months found, or lose one that moved away with its order. Every other kept row
    has a purchase on or before its month, so its first purchase month is a kept month and
    stays as it was.
#}
{% macro carry_first_purchase_months() -%}
    {%- if is_appending() -%}
    update {{ this }} as kept
    set first_purchase_month_start_on = (
        select max(firsts.month_start_on)
        from {{ this }} as firsts
        where firsts.customer_id = kept.customer_id
            and firsts.is_first_purchase_month
    )
    where not kept.has_purchase
        and (
            kept.first_purchase_month_start_on is null
            or kept.first_purchase_month_start_on > kept.month_start_on
        )
    {%- endif -%}
{%- endmacro %}
