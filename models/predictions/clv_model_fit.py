"""clv_model_fit: BG/NBD, Pareto/NBD and Gamma-Gamma fitted by maximum likelihood, one row
per model, with the purchase model used for the predictions and why.

The math lives in retail_tiers.lifetime (numpy / scipy); this model hands it the RFM
summary and the holdout fits and returns the parameters, log-likelihood, convergence facts
and the selection. A fit that fails or is not finite raises, which stops `dbt build` with the
cause in the error message. The var clv_purchase_model reaches it through `meta`.
"""

from retail_tiers.lifetime.pipeline import fit_models


def model(dbt, session):
    dbt.config(materialized="table")
    summary = dbt.ref("int_customer_rfm_summary")
    as_of = dbt.ref("int_run_dates").query(
        "run_dates", "select as_of_date from run_dates"
    ).fetchall()[0][0]
    # a relation, not a pyarrow table: dbt-duckdb would import pandas for one (see
    # retail_tiers.lifetime.arrow)
    return session.from_arrow(fit_models(
        summary, as_of, holdout_fit=dbt.ref("holdout_model_fit"),
        purchase_model=str(dbt.config.meta_get("clv_purchase_model")),
        model_name="clv_model_fit",
    ))
