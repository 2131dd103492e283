"""holdout_model_fit: BG/NBD and Pareto/NBD refitted on the purchases before the holdout,
one row per model, with their expected purchase days over the holdout against the actual.

clv_model_fit picks the model with the smaller holdout error (var clv_purchase_model: auto).
"""

from retail_tiers.lifetime.pipeline import fit_holdout


def model(dbt, session):
    dbt.config(materialized="table")
    # a relation, not a pyarrow table: dbt-duckdb would import pandas for one (see
    # retail_tiers.lifetime.arrow)
    return session.from_arrow(fit_holdout(
        dbt.ref("int_holdout_summary"), dbt.ref("int_holdout_period"),
        model_name="holdout_model_fit",
    ))
