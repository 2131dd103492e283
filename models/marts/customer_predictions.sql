{#-
    Per customer, as of the as-of date: the BG/NBD chance of still being active, expected
    orders, the Gamma-Gamma expected spend per order, and the predicted lifetime value
    (DESIGN sec. 7). Orders here are purchase days (same-day orders merged), as in the model.
    predicted_clv = discounted expected orders over clv_months x expected spend per order x
    the customer's gross margin rate (their own lifetime gross margin / net revenue up to the
    as-of date, kept within 0-1; var default_gross_margin when they have no net revenue).
    Empty when either model could not be fitted (see clv_model_fit.fit_status).
-#}
with

summary as (
    select * from {{ ref('int_customer_rfm_summary') }}
),

patterns as (
    select * from {{ ref('int_clv_patterns_scored') }}
),

model_fit as (
    select * from {{ ref('clv_model_fit') }}
),

spend_model as (
    select
        p,
        q,
        gamma,
        -- the covariance entries the interval needs, as numbers once here rather than a
        -- list carried on every customer's row
        {{ list_item('log_parameter_covariance', 1) }} as covariance_p_p,
        {{ list_item('log_parameter_covariance', 2) }} as covariance_p_q,
        {{ list_item('log_parameter_covariance', 3) }} as covariance_p_gamma,
        {{ list_item('log_parameter_covariance', 5) }} as covariance_q_q,
        {{ list_item('log_parameter_covariance', 6) }} as covariance_q_gamma,
        {{ list_item('log_parameter_covariance', 9) }} as covariance_gamma_gamma
    from model_fit
    where model = 'gamma_gamma'
        and fit_status = 'fitted'
),

customers as (
    -- the one-row spend model goes with each customer before the patterns are joined: joined
    -- after them, its nine numbers were copied into each of the 580,000 patterns' entries in
    -- the join's hash table (a third of the join's time on a million customers)
    select
        summary.*,
        spend_model.*
    from summary
    cross join spend_model
),

scored as (
    select
        customers.customer_id,
        customers.as_of_date,
        customers.first_purchase_on,
        customers.last_purchase_on,
        customers.repeat_purchase_day_count,
        customers.recency_weeks,
        customers.age_weeks,
        customers.mean_repeat_day_spend_amount,
        patterns.p_alive,
        1 - patterns.p_alive as churn_probability,
        patterns.expected_orders,
        patterns.discounted_expected_orders,
        patterns.p_purchase_within_30_days,
        patterns.p_purchase_within_90_days,
        patterns.median_days_to_next_purchase,
        patterns.expected_orders_lower,
        patterns.expected_orders_upper,
        patterns.discounted_expected_orders_log_se,
        -- Delta method for ln(expected spend) in the Gamma-Gamma log-parameters: its gradient
        -- (d/d ln p, d/d ln q, d/d ln gamma) with m = max(mean spend, 0) is
        -- (1 - p x / (p x + q - 1), -q / (p x + q - 1), gamma / (gamma + x m)).
        1 - customers.p * customers.repeat_purchase_day_count
            / (customers.p * customers.repeat_purchase_day_count + customers.q - 1)
            as spend_log_gradient_p,
        -customers.q
            / (customers.p * customers.repeat_purchase_day_count + customers.q - 1)
            as spend_log_gradient_q,
        customers.gamma / (
            customers.gamma + customers.repeat_purchase_day_count
            * greatest(coalesce(customers.mean_repeat_day_spend_amount, 0), 0)
        ) as spend_log_gradient_gamma,
        customers.covariance_p_p,
        customers.covariance_p_q,
        customers.covariance_p_gamma,
        customers.covariance_q_q,
        customers.covariance_q_gamma,
        customers.covariance_gamma_gamma,
        -- Gamma-Gamma: E[spend | x, m_x] = p (gamma + x m_x) / (p x + q - 1); a negative
        -- mean spend counts as 0, and x = 0 gives the population mean p gamma / (q - 1).
        customers.p * (
            customers.gamma
            + customers.repeat_purchase_day_count
            * greatest(coalesce(customers.mean_repeat_day_spend_amount, 0), 0)
        ) / (customers.p * customers.repeat_purchase_day_count + customers.q - 1)
            as expected_spend_per_order_amount,
        -- the summary sums every order up to the as-of date, refunds included
        case
            when customers.lifetime_net_revenue > 0
                then least(greatest(
                    cast(customers.lifetime_gross_margin_amount as double)
                    / cast(customers.lifetime_net_revenue as double), 0), 1)
            else {{ var('default_gross_margin') }}
        end as gross_margin_rate
    from customers
    inner join patterns
        on customers.repeat_purchase_day_count = patterns.repeat_purchase_day_count
        and customers.days_first_to_last_purchase = patterns.days_first_to_last_purchase
        and customers.days_since_first_purchase = patterns.days_since_first_purchase
),

clv_uncertainty as (
    select
        *,
        -- Var(ln CLV) = Var(ln discounted orders) + Var(ln spend): the two models are fitted
        -- separately, so their parameter errors are independent; the margin is observed.
        sqrt(
            discounted_expected_orders_log_se * discounted_expected_orders_log_se
            + coalesce(
                spend_log_gradient_p * spend_log_gradient_p * covariance_p_p
                + spend_log_gradient_q * spend_log_gradient_q * covariance_q_q
                + spend_log_gradient_gamma * spend_log_gradient_gamma * covariance_gamma_gamma
                + 2 * spend_log_gradient_p * spend_log_gradient_q * covariance_p_q
                + 2 * spend_log_gradient_p * spend_log_gradient_gamma * covariance_p_gamma
                + 2 * spend_log_gradient_q * spend_log_gradient_gamma * covariance_q_gamma,
                0)
        ) as clv_log_se
    from scored
),

final as (
    select
        customer_id,
        as_of_date,
        first_purchase_on,
        last_purchase_on,
        repeat_purchase_day_count,
        recency_weeks,
        age_weeks,
        mean_repeat_day_spend_amount,
        p_alive,
        churn_probability,
        case
            when repeat_purchase_day_count = 0 then 'no_repeat_yet'
            when churn_probability >= {{ var('churn_alert_threshold') }} then 'high'
            when churn_probability >= {{ var('churn_alert_threshold') }} / 2 then 'medium'
            else 'low'
        end as churn_risk_band,
        {{ var('prediction_horizon_days') }} as prediction_horizon_days,
        expected_orders,
        expected_spend_per_order_amount,
        spend_log_gradient_p,
        spend_log_gradient_q,
        spend_log_gradient_gamma,
        gross_margin_rate,
        discounted_expected_orders,
        discounted_expected_orders * expected_spend_per_order_amount * gross_margin_rate
            as predicted_clv,
        p_purchase_within_30_days,
        p_purchase_within_90_days,
        -- The first day by which the chance of a purchase reaches 1/2; none when the chance
        -- of ever buying again is at most 1/2 (the customer has most likely gone).
        cast(as_of_date + cast(ceil(median_days_to_next_purchase) as integer) as date)
            as next_purchase_median_on,
        case
            when median_days_to_next_purchase is null then 'unlikely_to_buy_again'
            else 'estimated'
        end as next_purchase_status,
        expected_orders_lower,
        expected_orders_upper,
        -- 90% interval of the expected value from parameter uncertainty, on the log scale.
        discounted_expected_orders * expected_spend_per_order_amount * gross_margin_rate
            * exp(-1.6448536269514722 * clv_log_se) as predicted_clv_lower,
        discounted_expected_orders * expected_spend_per_order_amount * gross_margin_rate
            * exp(1.6448536269514722 * clv_log_se) as predicted_clv_upper
    from clv_uncertainty
)

select * from final
