{#
    What each acquisition channel (获客渠道, customers file) brings, as of the as-of date: the
    customers it registered and how many of them bought, its new buyers in the as-of month, what
    they cost (CAC) and what a customer returns in gross margin over the first 12 months after
    the first purchase (first-year value, over the buyers whose first purchase is at least 365
    days old, so every one of them had a full year), and that value against the CAC
    (LTV / CAC). Buyers without a customers-file row are 'unknown'.
#}

with

run_dates as (
    select
        as_of_date,
        as_of_month
    from {{ ref('int_run_dates') }}
),

registered_customers as (
    select
        customer_id,
        coalesce(nullif(trim(acquisition_channel), ''), 'unknown') as acquisition_channel,
        acquisition_cost
    from {{ ref('stg_customers') }}
    where quarantine_reason is null
),

customer_orders as (
    select
        customer_id,
        ordered_on,
        purchase_number,
        gross_margin_amount
    from {{ ref('int_customer_orders') }}
),

first_purchases as (
    select
        customer_orders.customer_id,
        customer_orders.ordered_on as first_purchase_on
    from customer_orders
    cross join run_dates
    where customer_orders.purchase_number = 1
        and customer_orders.ordered_on <= run_dates.as_of_date
),

first_year_margins as (
    -- every order (returns included) in the 365 days from the first purchase, for the buyers
    -- whose first year has ended by the as-of date
    select
        first_purchases.customer_id,
        sum(customer_orders.gross_margin_amount) as first_year_gross_margin_amount
    from first_purchases
    cross join run_dates
    inner join customer_orders
        on first_purchases.customer_id = customer_orders.customer_id
        and customer_orders.ordered_on >= first_purchases.first_purchase_on
        and customer_orders.ordered_on < first_purchases.first_purchase_on + 365
    where first_purchases.first_purchase_on + 365 <= run_dates.as_of_date
    group by first_purchases.customer_id
),

customers_described as (
    select
        coalesce(registered_customers.customer_id, first_purchases.customer_id) as customer_id,
        coalesce(registered_customers.acquisition_channel, 'unknown') as acquisition_channel,
        registered_customers.customer_id is not null as is_registered,
        registered_customers.acquisition_cost,
        first_purchases.first_purchase_on,
        first_purchases.first_purchase_on >= run_dates.as_of_month as is_new_in_as_of_month,
        first_year_margins.first_year_gross_margin_amount
    from registered_customers
    full outer join first_purchases
        on registered_customers.customer_id = first_purchases.customer_id
    left join first_year_margins
        on coalesce(registered_customers.customer_id, first_purchases.customer_id)
            = first_year_margins.customer_id
    cross join run_dates
),

aggregated as (
    select
        acquisition_channel,
        count(*) filter (where is_registered) as registered_customer_count,
        count(*) filter (where first_purchase_on is not null) as buyer_count,
        count(*) filter (where is_new_in_as_of_month) as new_buyer_count,
        count(acquisition_cost) as customers_with_cac_count,
        cast(sum(acquisition_cost) as decimal(18, 4)) as acquisition_cost_amount,
        avg(cast(acquisition_cost as double)) as mean_cac_amount,
        count(first_year_gross_margin_amount) as first_year_customer_count,
        avg(cast(first_year_gross_margin_amount as double)) as mean_first_year_gross_margin_amount
    from customers_described
    group by acquisition_channel
),

final as (
    select
        (select as_of_date from run_dates) as as_of_date,
        acquisition_channel,
        registered_customer_count,
        buyer_count,
        case
            when registered_customer_count > 0
                then cast(buyer_count as double) / registered_customer_count
        end as buyer_rate,
        new_buyer_count,
        customers_with_cac_count,
        acquisition_cost_amount,
        mean_cac_amount,
        first_year_customer_count,
        mean_first_year_gross_margin_amount,
        case
            when mean_cac_amount > 0 then mean_first_year_gross_margin_amount / mean_cac_amount
        end as first_year_value_to_cac_ratio
    from aggregated
)

select * from final
