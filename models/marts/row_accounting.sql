{#-
    Rows in, clean and quarantined per raw file (DESIGN sec. 2: raw = clean + quarantined).
    Every contract file has a row, an absent optional file with zeros. guest_rows: clean
    transaction lines without a customer (counted in revenue, not in customer analytics).
-#}
with

transactions as (
    select * from {{ ref('stg_transactions') }}
),

customers as (
    select * from {{ ref('stg_customers') }}
),

campaigns as (
    select * from {{ ref('stg_campaigns') }}
),

campaign_contacts as (
    select * from {{ ref('stg_campaign_contacts') }}
),

feedback as (
    select * from {{ ref('stg_feedback') }}
),

file_counts as (
    select
        1 as file_order,
        'transactions' as source_file,
        count(*) as raw_rows,
        count(*) filter (where quarantine_reason is null) as clean_rows,
        count(*) filter (where quarantine_reason is not null) as quarantined_rows,
        count(*) filter (where quarantine_reason is null and is_guest) as guest_rows
    from transactions

    union all

    select
        2 as file_order,
        'customers' as source_file,
        count(*) as raw_rows,
        count(*) filter (where quarantine_reason is null) as clean_rows,
        count(*) filter (where quarantine_reason is not null) as quarantined_rows,
        0 as guest_rows
    from customers

    union all

    select
        3 as file_order,
        'campaigns' as source_file,
        count(*) as raw_rows,
        count(*) filter (where quarantine_reason is null) as clean_rows,
        count(*) filter (where quarantine_reason is not null) as quarantined_rows,
        0 as guest_rows
    from campaigns

    union all

    select
        4 as file_order,
        'campaign_contacts' as source_file,
        count(*) as raw_rows,
        count(*) filter (where quarantine_reason is null) as clean_rows,
        count(*) filter (where quarantine_reason is not null) as quarantined_rows,
        0 as guest_rows
    from campaign_contacts

    union all

    select
        5 as file_order,
        'feedback' as source_file,
        count(*) as raw_rows,
        count(*) filter (where quarantine_reason is null) as clean_rows,
        count(*) filter (where quarantine_reason is not null) as quarantined_rows,
        0 as guest_rows
    from feedback
),

final as (
    select
        source_file,
        cast(raw_rows as bigint) as raw_rows,
        cast(clean_rows as bigint) as clean_rows,
        cast(quarantined_rows as bigint) as quarantined_rows,
        cast(guest_rows as bigint) as guest_rows
    from file_counts
    order by file_order
)

select * from final
