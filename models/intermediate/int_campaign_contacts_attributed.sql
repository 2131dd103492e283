{#-
    One row per clean contact of a clean campaign (treatment and held-out control alike), with
    the purchases credited to it: the customer's purchases (net quantity > 0) ordered at or
    after the contact time and on or before the campaign's ends_on + var `attribution_days`.
    "As of" like every mart: campaigns starting after the as-of date, contacts made after it and
    purchases after it are left out. A purchase inside the windows of two campaigns counts for
    both (no multi-touch splitting).
-#}
with

campaigns as (
    select * from {{ ref('stg_campaigns') }}
    where quarantine_reason is null
),

contacts as (
    select * from {{ ref('stg_campaign_contacts') }}
    where quarantine_reason is null
),

customer_orders as (
    select * from {{ ref('int_customer_orders') }}
),

campaign_contacts as (
    select
        contacts.campaign_id,
        contacts.customer_id,
        contacts.contacted_at,
        contacts.is_control,
        campaigns.ends_on + {{ var('attribution_days') }} as attribution_ends_on
    from contacts
    inner join campaigns
        on contacts.campaign_id = campaigns.campaign_id
    where campaigns.starts_on <= {{ as_of_date() }}
        and contacts.contacted_on <= {{ as_of_date() }}
),

purchases as (
    select
        customer_id,
        ordered_at,
        ordered_on,
        net_revenue,
        gross_margin_amount
    from customer_orders
    where is_purchase
        and ordered_on <= {{ as_of_date() }}
),

attributed_purchases as (
    select
        campaign_contacts.campaign_id,
        campaign_contacts.customer_id,
        count(*) as attributed_order_count,
        sum(purchases.net_revenue) as attributed_net_revenue_amount,
        sum(purchases.gross_margin_amount) as attributed_gross_margin_amount
    from campaign_contacts
    inner join purchases
        on campaign_contacts.customer_id = purchases.customer_id
        and purchases.ordered_at >= campaign_contacts.contacted_at
        and purchases.ordered_on <= campaign_contacts.attribution_ends_on
    group by campaign_contacts.campaign_id, campaign_contacts.customer_id
),

final as (
    select
        campaign_contacts.campaign_id,
        campaign_contacts.customer_id,
        campaign_contacts.contacted_at,
        campaign_contacts.is_control,
        campaign_contacts.attribution_ends_on,
        attributed_purchases.customer_id is not null as is_converted,
        coalesce(attributed_purchases.attributed_order_count, 0) as attributed_order_count,
        coalesce(attributed_purchases.attributed_net_revenue_amount, 0)
            as attributed_net_revenue_amount,
        coalesce(attributed_purchases.attributed_gross_margin_amount, 0)
            as attributed_gross_margin_amount
    from campaign_contacts
    left join attributed_purchases
        on campaign_contacts.campaign_id = attributed_purchases.campaign_id
        and campaign_contacts.customer_id = attributed_purchases.customer_id
)

select * from final
