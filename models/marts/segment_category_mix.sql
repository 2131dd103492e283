{#
    What each segment buys: for every month end of the customer history, scheme (rfm_grid,
    rfm8), segment and product category, the net revenue of the segment's customers' lines of
    that category in that calendar month (segment as of the month end), its share of the
    segment's month, and the customers who bought the category.
    Lines take their order's customer and month (int_customer_orders), like every revenue
    figure, so a segment's categories add up to its customers' month_net_revenue in
    customer_monthly_history (a singular test checks it). Set-based at 10M lines: only lines
    from the history's first month on are read; they are joined to the history months' orders
    by order id (an equality join) and summed per customer, month and category before they
    meet the customer x month history.
    Share: a category's net revenue can be negative in a month (returns of goods bought
    earlier); shares are taken over the categories with positive net revenue, a negative
    category counting 0, so they lie in [0, 1] and add up to 1 for every segment-month with
    positive net revenue (null shares otherwise). Without negative categories a share is
    simply the category's net revenue / the segment's net revenue of the month.
#}
{%- set schemes = breakdown_schemes() -%}

with

month_ends as (
    select
        month_end_on,
        month_start_on
    from {{ ref('int_month_ends') }}
),

history as (
    select
        month_end_on,
        customer_id,
        rfm_grid_segment_code,
        rfm8_segment_code
    from {{ ref('customer_monthly_history') }}
),

customer_orders as (
    select
        order_id,
        customer_id,
        order_month,
        ordered_on
    from {{ ref('int_customer_orders') }}
),

-- an order's date is its earliest line's, so lines dated before the history's first month
-- can only belong to orders before it: skipping them is exact and saves most of the join
lines as (
    select
        order_id,
        category,
        quantity,
        net_amount
    from {{ ref('int_transaction_lines') }}
    where not is_guest
        and ordered_on >= (select min(month_start_on) from {{ ref('int_month_ends') }})
),

segment_rules as (
    select
        scheme,
        segment_code,
        segment_name_en,
        segment_name_zh
    from {{ ref('segment_rules') }}
    qualify row_number() over (partition by scheme, segment_code order by priority) = 1
),

-- the known customers' orders in the history's months (up to the month end)
orders_in_months as (
    select
        customer_orders.order_id,
        customer_orders.customer_id,
        month_ends.month_end_on
    from customer_orders
    inner join month_ends
        on customer_orders.order_month = month_ends.month_start_on
        and customer_orders.ordered_on <= month_ends.month_end_on
),

customer_categories as (
    select
        orders_in_months.customer_id,
        orders_in_months.month_end_on,
        coalesce(lines.category, 'uncategorised') as category,
        sum(lines.net_amount) as net_revenue_amount,
        bool_or(lines.quantity > 0) as has_bought
    from lines
    inner join orders_in_months
        on lines.order_id = orders_in_months.order_id
    group by
        orders_in_months.customer_id,
        orders_in_months.month_end_on,
        coalesce(lines.category, 'uncategorised')
),

-- customers without a purchase by the month end are in no segment and drop out here
customer_categories_segmented as (
    select
        customer_categories.*,
        history.rfm_grid_segment_code,
        history.rfm8_segment_code
    from customer_categories
    inner join history
        on customer_categories.customer_id = history.customer_id
        and customer_categories.month_end_on = history.month_end_on
),

segment_categories as (
    {%- for scheme, column in schemes.items() %}
    select
        month_end_on,
        '{{ scheme }}' as scheme,
        {{ column }} as segment_code,
        category,
        sum(net_revenue_amount) as net_revenue_amount,
        count(*) filter (where has_bought) as customers
    from customer_categories_segmented
    group by month_end_on, {{ column }}, category
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}
),

segment_months as (
    select
        month_end_on,
        scheme,
        segment_code,
        sum(greatest(net_revenue_amount, 0)) as positive_net_revenue_amount
    from segment_categories
    group by month_end_on, scheme, segment_code
),

final as (
    select
        segment_categories.month_end_on,
        segment_categories.scheme,
        segment_categories.segment_code,
        segment_rules.segment_name_en,
        segment_rules.segment_name_zh,
        segment_categories.category,
        cast(segment_categories.net_revenue_amount as decimal(18, 4)) as net_revenue_amount,
        case
            when segment_months.positive_net_revenue_amount > 0
                then cast(greatest(segment_categories.net_revenue_amount, 0) as double)
                    / cast(segment_months.positive_net_revenue_amount as double)
        end as net_revenue_share,
        cast(segment_categories.customers as bigint) as customers
    from segment_categories
    inner join segment_months
        on segment_categories.month_end_on = segment_months.month_end_on
        and segment_categories.scheme = segment_months.scheme
        and segment_categories.segment_code = segment_months.segment_code
    left join segment_rules
        on segment_categories.scheme = segment_rules.scheme
        and segment_categories.segment_code = segment_rules.segment_code
)

select * from final
