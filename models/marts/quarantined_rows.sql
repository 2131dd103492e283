{#-
    Every raw row that staging quarantined, from every raw file: where it was (file, the transactions file's part when
    transactions come in several files, and data row number), why, its key as far as it has one (campaign contacts: `campaign_id/customer_id`; feedback: the respondent's customer_id), and its raw values as json text.
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

customer_identities as (
    select * from {{ ref('stg_customer_identities') }}
),

quarantined as (
    select
        'transactions' as source_file,
        raw_file_name,
        source_row_number,
        quarantine_reason,
        transaction_id as record_key,
        raw_record
    from transactions
    where quarantine_reason is not null

    union all

    select
        'customers' as source_file,
        cast(null as string) as raw_file_name,
        source_row_number,
        quarantine_reason,
        customer_id as record_key,
        raw_record
    from customers
    where quarantine_reason is not null

    union all

    select
        'campaigns' as source_file,
        cast(null as string) as raw_file_name,
        source_row_number,
        quarantine_reason,
        campaign_id as record_key,
        raw_record
    from campaigns
    where quarantine_reason is not null

    union all

    select
        'campaign_contacts' as source_file,
        cast(null as string) as raw_file_name,
        source_row_number,
        quarantine_reason,
        case
            when campaign_id is not null or customer_id is not null
                then coalesce(campaign_id, '') || '/' || coalesce(customer_id, '')
        end as record_key,
        raw_record
    from campaign_contacts
    where quarantine_reason is not null

    union all

    select
        'feedback' as source_file,
        cast(null as string) as raw_file_name,
        source_row_number,
        quarantine_reason,
        customer_id as record_key,
        raw_record
    from feedback
    where quarantine_reason is not null

    union all

    select
        'customer_identities' as source_file,
        cast(null as string) as raw_file_name,
        source_row_number,
        quarantine_reason,
        case
            when store_id is not null or customer_id is not null
                then coalesce(store_id, '') || '/' || coalesce(customer_id, '')
        end as record_key,
        raw_record
    from customer_identities
    where quarantine_reason is not null
),

final as (
    select
        source_file,
        raw_file_name,
        source_row_number,
        quarantine_reason,
        record_key,
        raw_record
    from quarantined
)

select * from final
