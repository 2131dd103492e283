{#-
    segment_category_mix: per scheme and segment, the category shares add up to 1 (within
    floating-point rounding) when the segment has positive net revenue in the window, and are
    all null otherwise. Returns the segments that break it.
-#}
with

mix as (
    select * from {{ ref('segment_category_mix') }}
),

segment_totals as (
    select
        as_of_date,
        scheme,
        segment_code,
        sum(net_revenue_share) as share_total,
        count(net_revenue_share) as shared_categories,
        count(*) as categories,
        sum(greatest(net_revenue_amount, 0)) as positive_net_revenue_amount
    from mix
    group by as_of_date, scheme, segment_code
)

select *
from segment_totals
where case
    when positive_net_revenue_amount > 0
        then shared_categories <> categories or abs(share_total - 1) > 1e-9
    else shared_categories <> 0
end
