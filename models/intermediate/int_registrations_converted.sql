{#
    One row per registered customer (a clean row of the customers file) with the date of their
    first purchase (null: none yet, in all the clean data). The prospect logic (macro
    is_prospect) needs both dates: prospects, monthly_kpis' prospect counts and conversion, and
    the prospect row of segment_feedback_monthly read them from here.
#}

with

registrations as (
    select
        customer_id,
        signed_up_on,
        city,
        acquisition_channel,
        acquisition_cost
    from {{ ref('stg_customers') }}
    -- clean rows have unique ids (stg_customers quarantines repeats as duplicate_customer_id)
    where quarantine_reason is null
),

first_purchases as (
    select
        customer_id,
        ordered_on as first_purchase_on
    from {{ ref('int_customer_orders') }}
    where purchase_number = 1
),

final as (
    select
        registrations.customer_id,
        registrations.signed_up_on,
        registrations.city,
        registrations.acquisition_channel,
        registrations.acquisition_cost,
        first_purchases.first_purchase_on
    from registrations
    left join first_purchases
        on registrations.customer_id = first_purchases.customer_id
)

select * from final
