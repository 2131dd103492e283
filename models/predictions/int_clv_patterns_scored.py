"""int_clv_patterns_scored: BG/NBD predictions per distinct (x, t_x, T) purchase pattern.

Customers who share a pattern share their P(alive) and expected orders, so scoring runs on
the distinct patterns (numpy / scipy in retail_tiers.lifetime) and customer_predictions joins
them back in SQL. Vars arrive through the model's meta config (see the yml).
"""

from retail_tiers.lifetime.pipeline import score_patterns


def model(dbt, session):
    dbt.config(materialized="table")
    # a relation, not a pyarrow table: dbt-duckdb would import pandas for one (see
    # retail_tiers.lifetime.arrow)
    return session.from_arrow(score_patterns(
        dbt.ref("int_customer_rfm_summary"),
        dbt.ref("clv_model_fit"),
        horizon_days=float(dbt.config.meta_get("prediction_horizon_days")),
        clv_months=int(dbt.config.meta_get("clv_months")),
        monthly_discount_rate=float(dbt.config.meta_get("clv_monthly_discount_rate")),
        model_name="int_clv_patterns_scored",
    ))
