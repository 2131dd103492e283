{#
    What each segment buys: as of the as-of date, for every scheme (rfm_grid, rfm8), segment
    and product category, the net revenue of the segment's customers' lines of that category
    in the trailing rfm_window_days window (the window of the customers' M), its share of the
    segment's window revenue, and the customers who bought the category. Each customer is in
    their segment as of the as-of date (the `customers` mart).
    Lines take their order's customer and date (int_customer_orders), like every revenue
    figure, so a return nets in when it happens and a segment's categories add up exactly to
    the sum of its customers' monetary_amount in `customers` (a singular test checks it).
    Set-based at 10M lines: only lines dated inside the window or later are read (an order's
    date is its earliest line's, so an earlier line cannot belong to an order in the window);
    they meet the window's orders by order id (an equality join) and are summed per customer
    and category before the segments are attached.
    Share: a category's net revenue can be negative in the window (returns of goods bought
    before it); shares are taken over the categories with positive net revenue, a negative
    category counting 0, so they lie in [0, 1] and add up to 1 for every segment with positive
    net revenue (null shares otherwise). Without negative categories a share is simply the
    category's net revenue / the segment's net revenue of the window.
#}
{%- set schemes = breakdown_schemes() -%}
{%- set window_days = var('rfm_window_days') | int -%}

with

run_dates as (
    select as_of_date from {{ ref('int_run_dates') }}
),

segmented_customers as (
    select
        customer_id,
        rfm_grid_segment_code,
        rfm8_segment_code
    from {{ ref('customers') }}
),

-- distinct: an order and its later-day return are two rows of one order id
window_orders as (
    select distinct
        order_id,
        customer_id
    from {{ ref('int_customer_orders') }}
    where {{ in_trailing_window('ordered_on', as_of_date(), window_days) }}
),

-- No upper bound: a late line of an order dated in the window counts with it. Materialized
-- so that DuckDB applies the date filter in the scan (only the window's lines are read)
-- rather than after the join with the orders (every line is read: twice the time at 10M).
lines {{ cte_materialized() }} (
    select
        order_id,
        category,
        quantity,
        net_amount
    from {{ ref('int_transaction_lines') }}
    where ordered_on > {{ as_of_date() }} - {{ window_days }}
),

segments as (
    select
        scheme,
        segment_code,
        segment_name_en,
        segment_name_zh
    from {{ ref('int_segments') }}
),

customer_categories as (
    select
        window_orders.customer_id,
        coalesce(lines.category, 'uncategorised') as category,
        sum(lines.net_amount) as net_revenue_amount,
        bool_or(lines.quantity > 0) as has_bought
    from lines
    inner join window_orders
        on lines.order_id = window_orders.order_id
    group by
        window_orders.customer_id,
        coalesce(lines.category, 'uncategorised')
),

-- customers without a purchase by the as-of date are in no segment and drop out here
customer_categories_segmented as (
    select
        customer_categories.*,
        segmented_customers.rfm_grid_segment_code,
        segmented_customers.rfm8_segment_code
    from customer_categories
    inner join segmented_customers
        on customer_categories.customer_id = segmented_customers.customer_id
),

segment_categories as (
    {%- for scheme, column in schemes.items() %}
    select
        '{{ scheme }}' as scheme,
        {{ column }} as segment_code,
        category,
        sum(net_revenue_amount) as net_revenue_amount,
        count(*) filter (where has_bought) as customers
    from customer_categories_segmented
    group by {{ column }}, category
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}
),

segment_totals as (
    select
        scheme,
        segment_code,
        sum(greatest(net_revenue_amount, 0)) as positive_net_revenue_amount
    from segment_categories
    group by scheme, segment_code
),

final as (
    select
        run_dates.as_of_date,
        segment_categories.scheme,
        segment_categories.segment_code,
        segments.segment_name_en,
        segments.segment_name_zh,
        segment_categories.category,
        cast(segment_categories.net_revenue_amount as decimal(18, 4)) as net_revenue_amount,
        case
            when segment_totals.positive_net_revenue_amount > 0
                then cast(greatest(segment_categories.net_revenue_amount, 0) as double)
                    / cast(segment_totals.positive_net_revenue_amount as double)
        end as net_revenue_share,
        cast(segment_categories.customers as bigint) as customers
    from segment_categories
    cross join run_dates
    inner join segment_totals
        on segment_categories.scheme = segment_totals.scheme
        and segment_categories.segment_code = segment_totals.segment_code
    left join segments
        on segment_categories.scheme = segments.scheme
        and segment_categories.segment_code = segments.segment_code
)

select * from final
