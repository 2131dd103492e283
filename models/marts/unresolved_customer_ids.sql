{#-
    The platform ids (store_id, customer id as written) of clean, non-guest transaction lines
    that the customer_identities file does not resolve to a customer_key: each stays a
    customer of its own. Empty when there is no customer_identities file (then nothing was
    meant to be stitched). Largest revenue first, for whoever completes the mapping.
-#}
with

lines as (
    select * from {{ ref('int_transaction_lines') }}
),

identities as (
    select * from {{ ref('stg_customer_identities') }}
    where quarantine_reason is null
),

has_identities as (
    select count(*) > 0 as has_identities
    from identities
),

unresolved as (
    select
        lines.store_id,
        lines.platform_customer_id,
        count(*) as line_count,
        count(distinct lines.order_id) as order_count,
        min(lines.ordered_on) as first_ordered_on,
        max(lines.ordered_on) as last_ordered_on,
        sum(lines.net_amount) as net_revenue_amount
    from lines
    cross join has_identities
    where has_identities.has_identities
        and not lines.is_guest
        and not lines.is_stitched
    group by lines.store_id, lines.platform_customer_id
),

final as (
    select
        store_id,
        platform_customer_id,
        cast(line_count as bigint) as line_count,
        cast(order_count as bigint) as order_count,
        first_ordered_on,
        last_ordered_on,
        cast(net_revenue_amount as decimal(18, 4)) as net_revenue_amount
    from unresolved
    order by net_revenue_amount desc, store_id, platform_customer_id
)

select * from final
