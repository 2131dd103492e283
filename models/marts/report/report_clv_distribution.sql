{#
    The report's histogram of predicted CLV (customer_predictions, as of the as-of date):
    eleven bands of equal width, the last one open-ended. The width is a "nice" number
    (1, 2 or 5 x 10^k), the smallest one with ten bands reaching the 95th percentile, so
    the long tail of big customers does not squash the chart into one bar.
#}

with

predictions as (
    select
        customer_id,
        predicted_clv
    from {{ ref('customer_predictions') }}
),

run_dates as (
    select as_of_date from {{ ref('int_run_dates') }}
),

tail_point as (
    select
        coalesce({{ quantile_cont_of('predicted_clv', 0.95) }}, 0) / 10 as raw_width,
        count(*) as all_customer_count
    from predictions
),

width_magnitude as (
    select
        *,
        case when raw_width > 0 then pow(10, floor(log10(raw_width))) end as magnitude
    from tail_point
),

band_width as (
    select
        all_customer_count,
        case
            when magnitude is null then 1.0
            when raw_width <= magnitude then magnitude
            when raw_width <= 2 * magnitude then 2 * magnitude
            when raw_width <= 5 * magnitude then 5 * magnitude
            else 10 * magnitude
        end as band_width_amount
    from width_magnitude
),

bands as (
    select {{ unnest_range(0, 11, cast_to='integer') }} as band_number
),

customer_bands as (
    select
        least(cast(floor(predictions.predicted_clv / band_width.band_width_amount) as integer), 10)
            as band_number,
        predictions.predicted_clv
    from predictions
    cross join band_width
),

band_totals as (
    select
        band_number,
        count(*) as customer_count,
        sum(predicted_clv) as predicted_clv_amount
    from customer_bands
    group by band_number
),

final as (
    select
        run_dates.as_of_date,
        bands.band_number,
        bands.band_number * band_width.band_width_amount as lower_amount,
        case
            when bands.band_number < 10 then (bands.band_number + 1) * band_width.band_width_amount
        end as upper_amount,
        bands.band_number = 10 as is_open_ended,
        band_width.band_width_amount,
        coalesce(band_totals.customer_count, 0) as customer_count,
        coalesce(band_totals.predicted_clv_amount, 0) as predicted_clv_amount,
        coalesce(
            cast(band_totals.customer_count as double) / nullif(band_width.all_customer_count, 0), 0
        ) as customer_share_rate
    from bands
    cross join band_width
    cross join run_dates
    left join band_totals
        on bands.band_number = band_totals.band_number
)

select * from final
