"""int_holdout_weeks_expected: expected cumulative repeat purchase days of the holdout
customers at the end of each week (the model line of the tracking plot), from the selected
purchase model's calibration parameters. holdout_tracking adds the actual purchases.
"""

from retail_tiers.lifetime.pipeline import expected_by_week


def model(dbt, session):
    dbt.config(materialized="table")
    # a relation, not a pyarrow table: dbt-duckdb would import pandas for one (see
    # retail_tiers.lifetime.arrow)
    return session.from_arrow(expected_by_week(
        dbt.ref("int_holdout_summary"), dbt.ref("holdout_model_fit"),
        dbt.ref("clv_model_fit"), dbt.ref("int_holdout_period"),
        model_name="int_holdout_weeks_expected",
    ))
