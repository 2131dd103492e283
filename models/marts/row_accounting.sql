{#-
    Rows in, clean and quarantined per raw file (DESIGN sec. 2: raw = clean + quarantined).
    Every contract file has a row, an absent optional file with zeros. guest_rows: clean
    transaction lines without a customer (counted in revenue, not in customer analytics).
-#}
with
{% for file_name in raw_file_names() %}
{{ file_name }} as (
    select * from {{ ref('stg_' ~ file_name) }}
),
{% endfor %}
file_counts as (
    {%- for file_name in raw_file_names() %}
    select
        {{ loop.index }} as file_order,
        '{{ file_name }}' as source_file,
        count(*) as raw_rows,
        count(*) filter (where quarantine_reason is null) as clean_rows,
        count(*) filter (where quarantine_reason is not null) as quarantined_rows,
        {%- if file_name == 'transactions' %}
        count(*) filter (where quarantine_reason is null and is_guest) as guest_rows
        {%- else %}
        0 as guest_rows
        {%- endif %}
    from {{ file_name }}
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}
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
