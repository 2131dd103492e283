{#
    Registered customers who have not bought yet, as of the as-of date: a clean row of the
    customers file, signed up on or before the as-of date (or with no sign-up date), and no
    purchase on or before it (macro is_prospect). Their lifecycle stage is `prospect`, which
    comes before `new` in precedence; having no purchase, they never appear in `customers`.
#}

with

registrations as (
    select * from {{ ref('int_registrations_converted') }}
),

run_dates as (
    select as_of_date from {{ ref('int_run_dates') }}
),

final as (
    select
        registrations.customer_id,
        run_dates.as_of_date,
        registrations.signed_up_on,
        registrations.city,
        registrations.acquisition_channel,
        registrations.acquisition_cost as acquisition_cost_amount,
        cast({{ days_between('registrations.signed_up_on', 'run_dates.as_of_date') }} as integer) as days_since_signup,
        'prospect' as lifecycle_stage
    from registrations
    cross join run_dates
    where {{ is_prospect(
        'registrations.signed_up_on', 'registrations.first_purchase_on', 'run_dates.as_of_date') }}
)

select * from final
