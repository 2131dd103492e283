"""int_holdout_patterns_scored: expected purchase days in the holdout per distinct
calibration pattern (x, t_x, T), with the selected purchase model's calibration parameters
(holdout_model_fit). holdout_by_frequency joins them back to the customers in SQL.
"""

from retail_tiers.lifetime.pipeline import score_holdout_patterns


def model(dbt, session):
    dbt.config(materialized="table")
    # a relation, not a pyarrow table: dbt-duckdb would import pandas for one (see
    # retail_tiers.lifetime.arrow)
    return session.from_arrow(score_holdout_patterns(
        dbt.ref("int_holdout_summary"), dbt.ref("holdout_model_fit"),
        dbt.ref("clv_model_fit"), dbt.ref("int_holdout_period"),
        model_name="int_holdout_patterns_scored",
    ))
