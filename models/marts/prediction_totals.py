"""prediction_totals: total expected orders and total predicted CLV over customer_predictions,
each with its 90% interval from parameter uncertainty (delta method on the total)."""

from retail_tiers.lifetime.pipeline import prediction_totals


def model(dbt, session):
    dbt.config(materialized="table")
    # a relation, not a pyarrow table: dbt-duckdb would import pandas for one (see
    # retail_tiers.lifetime.arrow)
    return session.from_arrow(prediction_totals(
        dbt.ref("customer_predictions"),
        dbt.ref("clv_model_fit"),
        horizon_days=float(dbt.config.meta_get("prediction_horizon_days")),
        clv_months=int(dbt.config.meta_get("clv_months")),
        monthly_discount_rate=float(dbt.config.meta_get("clv_monthly_discount_rate")),
    ))
