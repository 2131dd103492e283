"""clv_model_fit: BG/NBD and Gamma-Gamma fitted by maximum likelihood, one row per model.

The math lives in retail_tiers.lifetime (numpy / scipy); this model hands it the RFM
summary and returns the parameters, log-likelihood and convergence facts. A fit that fails
or is not finite raises, which stops `dbt build` with the cause in the error message.
"""

from retail_tiers.lifetime.pipeline import fit_models


def model(dbt, session):
    dbt.config(materialized="table")
    summary = dbt.ref("int_customer_rfm_summary")
    as_of = dbt.ref("int_run_dates").query(
        "run_dates", "select as_of_date from run_dates"
    ).fetchall()[0][0]
    return fit_models(summary, as_of, model_name="clv_model_fit")
