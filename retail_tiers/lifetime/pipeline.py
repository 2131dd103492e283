"""Glue between the warehouse and the math, used by the dbt Python models.

`fit_models` turns the RFM summary (one row per customer, model `int_customer_rfm_summary`)
into the rows of `clv_model_fit`; `score_patterns` turns the distinct (x, t_x, T) patterns and
the fitted parameters into the rows of `int_clv_patterns_scored`. The grouping into distinct
combinations runs in DuckDB; only the (small) distinct rows come into numpy.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pyarrow as pa

from retail_tiers.lifetime import bgnbd, gamma_gamma
from retail_tiers.lifetime.optimise import FitResult, LifetimeFitError

DAYS_PER_WEEK = 7.0
DAYS_PER_MONTH = 365.25 / 12  # average calendar month
FITTED = "fitted"
INSUFFICIENT = "insufficient_data"

FIT_SCHEMA = pa.schema([
    ("model", pa.string()),
    ("fit_status", pa.string()),
    ("is_converged", pa.bool_()),
    ("r", pa.float64()),
    ("alpha", pa.float64()),
    ("a", pa.float64()),
    ("b", pa.float64()),
    ("p", pa.float64()),
    ("q", pa.float64()),
    ("gamma", pa.float64()),
    ("log_likelihood", pa.float64()),
    ("customer_count", pa.int64()),
    ("distinct_combination_count", pa.int64()),
    ("iteration_count", pa.int64()),
    ("fit_seconds", pa.float64()),
    ("fit_message", pa.string()),
    ("as_of_date", pa.date32()),
])

PATTERN_SCHEMA = pa.schema([
    ("repeat_purchase_day_count", pa.int64()),
    ("days_first_to_last_purchase", pa.int64()),
    ("days_since_first_purchase", pa.int64()),
    ("customer_count", pa.int64()),
    ("p_alive", pa.float64()),
    ("expected_orders", pa.float64()),
    ("discounted_expected_orders", pa.float64()),
])

BGNBD_COMBINATIONS_SQL = """
select
    repeat_purchase_day_count as x,
    days_first_to_last_purchase as recency_days,
    days_since_first_purchase as age_days,
    count(*) as customer_count
from summary
group by all
order by all
"""

SPEND_COMBINATIONS_SQL = """
select
    repeat_purchase_day_count as x,
    mean_repeat_day_spend_amount as spend,
    count(*) as customer_count
from summary
where repeat_purchase_day_count > 0 and mean_repeat_day_spend_amount > 0
group by all
order by all
"""

def _query(relation: Any, sql: str) -> dict[str, np.ndarray]:
    """Run `sql` over a DuckDB relation visible as `summary`; columns as numpy arrays."""
    return relation.query("summary", sql).fetchnumpy()


def fit_models(summary: Any, as_of: dt.date, model_name: str = "clv_model_fit") -> pa.Table:
    """Fit BG/NBD and Gamma-Gamma on the RFM summary relation; one row per model.

    A model without data to fit (no customers, nobody with a repeat purchase day, or no
    repeater with positive spend) gets fit_status 'insufficient_data' and null parameters.
    A fit that fails or is not finite raises LifetimeFitError naming `model_name`.
    """
    rows: list[dict[str, Any]] = []
    combos = _query(summary, BGNBD_COMBINATIONS_SQL)
    customers = int(combos["customer_count"].sum()) if combos["x"].size else 0
    try:
        if combos["x"].size and np.any(combos["x"] > 0):
            data = bgnbd.BgNbdData.build(
                combos["x"], combos["recency_days"] / DAYS_PER_WEEK,
                combos["age_days"] / DAYS_PER_WEEK, combos["customer_count"],
            )
            rows.append(_fit_row(bgnbd.fit(data), as_of))
        else:
            rows.append(_insufficient_row(bgnbd.MODEL, customers, combos["x"].size, as_of,
                                          "no customer has a repeat purchase day"))
        spend = _query(summary, SPEND_COMBINATIONS_SQL)
        if spend["x"].size:
            data = gamma_gamma.GammaGammaData.build(
                spend["x"], spend["spend"].astype(float), spend["customer_count"]
            )
            rows.append(_fit_row(gamma_gamma.fit(data), as_of))
        else:
            rows.append(_insufficient_row(gamma_gamma.MODEL, 0, 0, as_of,
                                          "no repeat customer with positive spend"))
    except LifetimeFitError as error:
        raise LifetimeFitError(f"{model_name}: {error}") from None
    return pa.Table.from_pylist(rows, schema=FIT_SCHEMA)


def _fit_row(result: FitResult, as_of: dt.date) -> dict[str, Any]:
    row: dict[str, Any] = {
        "model": result.model,
        "fit_status": FITTED,
        "is_converged": result.converged,
        "log_likelihood": result.log_likelihood,
        "customer_count": result.customer_count,
        "distinct_combination_count": result.distinct_combination_count,
        "iteration_count": result.iteration_count,
        "fit_seconds": result.seconds,
        "fit_message": result.message,
        "as_of_date": as_of,
    }
    row.update(result.parameters)
    return row


def _insufficient_row(
    model: str, customers: int, distinct: int, as_of: dt.date, reason: str
) -> dict[str, Any]:
    return {
        "model": model,
        "fit_status": INSUFFICIENT,
        "is_converged": False,
        "customer_count": customers,
        "distinct_combination_count": distinct,
        "iteration_count": 0,
        "fit_seconds": 0.0,
        "fit_message": reason,
        "as_of_date": as_of,
    }


def fitted_parameters(fit_table: Any, model: str) -> dict[str, float] | None:
    """The fitted parameters of `model` from the clv_model_fit relation, or None if not fitted."""
    names = bgnbd.PARAMETER_NAMES if model == bgnbd.MODEL else gamma_gamma.PARAMETER_NAMES
    found = fit_table.query(
        "fit",
        f"select {', '.join(names)} from fit where model = '{model}' and fit_status = '{FITTED}'",
    ).fetchall()
    if not found:
        return None
    return dict(zip(names, (float(v) for v in found[0]), strict=True))


def score_patterns(
    summary: Any,
    fit_table: Any,
    horizon_days: float,
    clv_months: int,
    monthly_discount_rate: float,
    model_name: str = "int_clv_patterns_scored",
) -> pa.Table:
    """P(alive), expected orders over the horizon and discounted expected orders over
    `clv_months`, per distinct (x, t_x days, T days). Empty when BG/NBD was not fitted."""
    params = fitted_parameters(fit_table, bgnbd.MODEL)
    if params is None:
        return PATTERN_SCHEMA.empty_table()
    try:
        bgnbd.check_parameters(params)
    except LifetimeFitError as error:
        raise LifetimeFitError(f"{model_name}: {error}") from None
    if horizon_days < 0 or clv_months < 0 or monthly_discount_rate <= -1:
        raise LifetimeFitError(
            f"{model_name}: prediction_horizon_days ({horizon_days}) and clv_months "
            f"({clv_months}) must be >= 0 and clv_monthly_discount_rate "
            f"({monthly_discount_rate}) > -1"
        )
    combos = _query(summary, BGNBD_COMBINATIONS_SQL)
    values = tuple(params[name] for name in bgnbd.PARAMETER_NAMES)
    x = combos["x"].astype(float)
    t_x = combos["recency_days"] / DAYS_PER_WEEK
    T = combos["age_days"] / DAYS_PER_WEEK
    with np.errstate(all="ignore"):
        alive = bgnbd.p_alive(values, x, t_x, T)
        expected = bgnbd.expected_purchases(values, horizon_days / DAYS_PER_WEEK, x, t_x, T)
        discounted = bgnbd.discounted_expected_purchases(
            values, x, t_x, T, clv_months, monthly_discount_rate, DAYS_PER_MONTH / DAYS_PER_WEEK
        )
    for name, column in (("p_alive", alive), ("expected_orders", expected),
                         ("discounted_expected_orders", discounted)):
        bad = ~np.isfinite(column)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise LifetimeFitError(
                f"{model_name}: {name} is not finite for x = {x[i]:.0f}, t_x = {t_x[i]:.4g}, "
                f"T = {T[i]:.4g} weeks with BG/NBD {values}"
            )
    return pa.table({
        "repeat_purchase_day_count": combos["x"].astype(np.int64),
        "days_first_to_last_purchase": combos["recency_days"].astype(np.int64),
        "days_since_first_purchase": combos["age_days"].astype(np.int64),
        "customer_count": combos["customer_count"].astype(np.int64),
        "p_alive": alive,
        "expected_orders": expected,
        "discounted_expected_orders": discounted,
    }, schema=PATTERN_SCHEMA)
