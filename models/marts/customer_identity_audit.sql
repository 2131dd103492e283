{#-
    One row: how well the optional customer_identities file stitches the platform ids of the
    clean transaction lines into customers. A platform id is a (store_id, customer id as
    written) pair: the same buyer token in two shops is two ids. stitch_rate is the share of
    ids that the file resolves to a customer_key (null without a file or without ids).
-#}
with

lines as (
    select * from {{ ref('int_transaction_lines') }}
),

identities as (
    select * from {{ ref('stg_customer_identities') }}
),

platform_ids as (
    select
        store_id,
        platform_customer_id,
        bool_or(is_stitched) as is_stitched,
        min(customer_id) as customer_id
    from lines
    where not is_guest
    group by store_id, platform_customer_id
),

identity_rows as (
    select
        count(*) filter (where quarantine_reason is null) as identity_rows,
        count(*) filter (where quarantine_reason is not null) as quarantined_identity_rows
    from identities
),

id_counts as (
    select
        count(*) as platform_id_count,
        count(*) filter (where is_stitched) as stitched_id_count,
        count(*) filter (where not is_stitched) as unresolved_id_count,
        count(distinct platform_customer_id) as customers_before_stitching,
        count(distinct customer_id) as customer_count
    from platform_ids
),

final as (
    select
        cast(identity_rows.identity_rows as bigint) as identity_rows,
        cast(identity_rows.quarantined_identity_rows as bigint) as quarantined_identity_rows,
        cast(id_counts.platform_id_count as bigint) as platform_id_count,
        cast(id_counts.stitched_id_count as bigint) as stitched_id_count,
        cast(id_counts.unresolved_id_count as bigint) as unresolved_id_count,
        case
            when identity_rows.identity_rows > 0 and id_counts.platform_id_count > 0
                then id_counts.stitched_id_count / id_counts.platform_id_count
        end as stitch_rate,
        cast(id_counts.customers_before_stitching as bigint) as customers_before_stitching,
        cast(id_counts.customer_count as bigint) as customer_count
    from identity_rows
    cross join id_counts
)

select * from final
