"""Glue between the warehouse and the math, used by the dbt Python models.

`fit_models` turns the RFM summary (one row per customer, model `int_customer_rfm_summary`)
into the rows of `clv_model_fit`; `score_patterns` turns the distinct (x, t_x, T) patterns and
the fitted parameters into the rows of `int_clv_patterns_scored`. The holdout report card:
`fit_holdout` refits both purchase models on the data before the holdout
(`holdout_model_fit`), `score_holdout_patterns` and `expected_by_week` predict the holdout
with the selected one. The grouping into distinct combinations runs in DuckDB; only the
(small) distinct rows come into numpy.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa

from retail_tiers.lifetime import arrow, bgnbd, gamma_gamma, pareto_nbd, purchase_models
from retail_tiers.lifetime.arrays import one_blas_thread
from retail_tiers.lifetime.optimise import FitResult, LifetimeFitError
from retail_tiers.lifetime.purchase_models import MODELS

R = TypeVar("R")
DAYS_PER_WEEK = 7.0
DAYS_PER_MONTH = 365.25 / 12  # average calendar month
FITTED = "fitted"
INSUFFICIENT = "insufficient_data"
FAILED = "failed"
# Fewer customers than this say nothing stable about a population's purchase rates or spend:
# the models are not fitted (fit_status insufficient_data) and everything else is built.
MIN_CUSTOMERS_TO_FIT = 20
MIN_REPEATERS_TO_FIT = 10

FIT_SCHEMA = pa.schema([
    ("model", pa.string()),
    ("fit_status", pa.string()),
    ("is_converged", pa.bool_()),
    ("r", pa.float64()),
    ("alpha", pa.float64()),
    ("a", pa.float64()),
    ("b", pa.float64()),
    ("s", pa.float64()),
    ("beta", pa.float64()),
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
    ("holdout_error_rate", pa.float64()),
    ("is_selected", pa.bool_()),
    ("selection_basis", pa.string()),
    ("selection_reason", pa.string()),
    ("log_parameter_covariance", pa.list_(pa.float64())),
])

HOLDOUT_FIT_SCHEMA = pa.schema([
    ("model", pa.string()),
    ("fit_status", pa.string()),
    *(field for field in FIT_SCHEMA if field.name in ("r", "alpha", "a", "b", "s", "beta")),
    ("log_likelihood", pa.float64()),
    ("customer_count", pa.int64()),
    ("fit_message", pa.string()),
    ("calibration_end_on", pa.date32()),
    ("holdout_weeks", pa.int64()),
    ("holdout_actual_orders", pa.int64()),
    ("holdout_expected_orders", pa.float64()),
    ("holdout_error_rate", pa.float64()),
])

HOLDOUT_PATTERN_SCHEMA = pa.schema([
    ("repeat_purchase_day_count", pa.int64()),
    ("days_first_to_last_purchase", pa.int64()),
    ("days_since_first_purchase", pa.int64()),
    ("expected_holdout_orders", pa.float64()),
])

WEEKS_SCHEMA = pa.schema([
    ("week_number", pa.int64()),
    ("week_ending_on", pa.date32()),
    ("expected_cumulative_orders", pa.float64()),
])

PATTERN_SCHEMA = pa.schema([
    ("repeat_purchase_day_count", pa.int64()),
    ("days_first_to_last_purchase", pa.int64()),
    ("days_since_first_purchase", pa.int64()),
    ("customer_count", pa.int64()),
    ("p_alive", pa.float64()),
    ("expected_orders", pa.float64()),
    ("discounted_expected_orders", pa.float64()),
    ("p_purchase_within_30_days", pa.float64()),
    ("p_purchase_within_90_days", pa.float64()),
    ("median_days_to_next_purchase", pa.float64()),
    ("expected_orders_lower", pa.float64()),
    ("expected_orders_upper", pa.float64()),
    ("discounted_expected_orders_log_se", pa.float64()),
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

PATTERN_COLUMNS_SQL = """
select
    repeat_purchase_day_count as x,
    days_first_to_last_purchase as recency_days,
    days_since_first_purchase as age_days
from summary
"""
# The packed (x, recency days, age days) key holds at most this many bits (an int64).
PATTERN_KEY_BITS = 63


def _query(relation: Any, sql: str) -> dict[str, np.ndarray]:
    """Run `sql` over a DuckDB relation visible as `summary`; columns as numpy arrays."""
    return relation.query("summary", sql).fetchnumpy()


def _patterns(relation: Any) -> dict[str, np.ndarray]:
    """What BGNBD_COMBINATIONS_SQL gives (the distinct (x, recency days, age days) in
    ascending order, with their customer counts), grouped in numpy: the three columns are
    read as they are and each customer's pattern packed into one integer, each field as wide
    as its largest value, whose np.unique sorts the same way. Half the CPU of DuckDB's
    grouping and ordering of a million rows, done twice per build; a key of at most 32 bits
    (x up to 255 and 3 years of days) sorts as uint32, in about half the time of int64.
    Values that do not fit the packing (negative, or more than 63 bits in all), or nulls,
    go through the SQL."""
    columns = _query(relation, PATTERN_COLUMNS_SQL)
    arrays = [columns[name] for name in ("x", "recency_days", "age_days")]
    if any(np.ma.isMaskedArray(a) or a.dtype.kind not in "iu" for a in arrays) or any(
            a.size and a.min() < 0 for a in arrays):
        return _query(relation, BGNBD_COMBINATIONS_SQL)
    widths = [int(a.max()).bit_length() if a.size else 0 for a in arrays]
    if sum(widths) > PATTERN_KEY_BITS:
        return _query(relation, BGNBD_COMBINATIONS_SQL)
    x, recency, age = (a.astype(np.int64) for a in arrays)
    age_bits, recency_bits = widths[2], widths[1]
    key = (x << (recency_bits + age_bits)) | (recency << age_bits) | age
    distinct, counts = np.unique(key.astype(np.uint32) if sum(widths) <= 32 else key,
                                 return_counts=True)
    distinct = distinct.astype(np.int64)
    return {"x": distinct >> (recency_bits + age_bits),
            "recency_days": (distinct >> age_bits) & ((1 << recency_bits) - 1),
            "age_days": distinct & ((1 << age_bits) - 1),
            "customer_count": counts.astype(np.int64)}


def _purchase_data(combos: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    """(x, t_x weeks, T weeks, customer count) as floats from a combinations query."""
    return (combos["x"].astype(float), combos["recency_days"] / DAYS_PER_WEEK,
            combos["age_days"] / DAYS_PER_WEEK, combos["customer_count"].astype(float))


def _fit_purchase_model(name: str, data: tuple[np.ndarray, ...]) -> FitResult:
    if name == bgnbd.MODEL:
        return bgnbd.fit(bgnbd.BgNbdData.build(*data))
    return pareto_nbd.fit(*data)


def too_few_to_fit(combos: dict[str, np.ndarray]) -> str | None:
    """Why a purchase model cannot be fitted on these (x, t_x, T) combinations, or None."""
    if not combos["x"].size:
        return "no customer to fit"
    customers = int(combos["customer_count"].sum())
    if customers < MIN_CUSTOMERS_TO_FIT:
        return f"{customers} customers, fewer than the {MIN_CUSTOMERS_TO_FIT} a fit needs"
    if not np.any(combos["x"] > 0):
        return "no customer has a repeat purchase day"
    return None


def _fit_purchase_models(
    combos: dict[str, np.ndarray], as_of: dt.date
) -> dict[str, dict[str, Any]]:
    """One fit row per purchase model (BG/NBD, Pareto/NBD); 'insufficient_data' rows when
    there are too few customers or nobody has a repeat purchase day. A model whose fit fails
    gets fit_status 'failed' and the cause, and is not used; only when every model fails
    does the error propagate."""
    customers = int(combos["customer_count"].sum()) if combos["x"].size else 0
    why_not = too_few_to_fit(combos)
    if why_not:
        return {name: _insufficient_row(name, customers, combos["x"].size, as_of, why_not)
                for name in MODELS}
    data = _purchase_data(combos)
    rows: dict[str, dict[str, Any]] = {}
    errors: list[LifetimeFitError] = []
    for name in MODELS:
        try:
            rows[name] = _fit_row(_fit_purchase_model(name, data), as_of)
        except LifetimeFitError as error:
            errors.append(error)
            rows[name] = _insufficient_row(name, customers, combos["x"].size, as_of, str(error))
            rows[name]["fit_status"] = FAILED
    if len(errors) == len(MODELS):
        raise errors[0]
    return rows


@one_blas_thread
def fit_models(
    summary: Any,
    as_of: dt.date,
    holdout_fit: Any = None,
    purchase_model: str = purchase_models.AUTO,
    model_name: str = "clv_model_fit",
) -> pa.Table:
    """Fit BG/NBD, Pareto/NBD and Gamma-Gamma on the RFM summary relation; one row per model.

    The purchase model to score with is `purchase_model`, or with 'auto' the one with the
    smaller holdout error in `holdout_fit` (the holdout_model_fit relation; None: no
    holdout); its row has is_selected and the reason. A model without data to fit (no
    customers, nobody with a repeat purchase day, or no repeater with positive spend) gets
    fit_status 'insufficient_data' and null parameters. A fit that fails or is not finite
    raises LifetimeFitError naming `model_name`.
    """
    try:
        combos = _patterns(summary)
        # The purchase models' fits (numpy, most of the time) run in a second thread beside
        # the spend model's query and fit; the errors come in the order they did one after another.
        with ThreadPoolExecutor(max_workers=1) as second_thread:
            purchase_fits = second_thread.submit(_fit_purchase_models, combos, as_of)
            spend_error = None
            try:
                errors, weeks = _holdout_errors(holdout_fit)
                spend_row = _spend_row(summary, as_of)
            except LifetimeFitError as error:
                spend_error = error
            rows = purchase_fits.result()
        fitted = [name for name, row in rows.items() if row["fit_status"] == FITTED]
        chosen, basis, reason = purchase_models.select(purchase_model, errors, weeks,
                                                fitted or list(MODELS))
        for name, row in rows.items():
            row["holdout_error_rate"] = errors.get(name)
            row["is_selected"] = name == chosen
            row["selection_basis"] = basis if name == chosen else None
            row["selection_reason"] = reason if name == chosen else None
        if spend_error is not None:
            raise spend_error
    except LifetimeFitError as error:
        raise LifetimeFitError(f"{model_name}: {error}") from None
    return arrow.from_rows([*rows.values(), spend_row], FIT_SCHEMA)


def _spend_row(summary: Any, as_of: dt.date) -> dict[str, Any]:
    """The Gamma-Gamma row of clv_model_fit, fitted on the repeaters' (x, mean spend)."""
    spend = _query(summary, SPEND_COMBINATIONS_SQL)
    repeaters = int(spend["customer_count"].sum()) if spend["x"].size else 0
    if repeaters >= MIN_REPEATERS_TO_FIT:
        data = gamma_gamma.GammaGammaData.build(
            spend["x"], spend["spend"].astype(float), spend["customer_count"]
        )
        row = _fit_row(gamma_gamma.fit(data), as_of)
    else:
        row = _insufficient_row(
            gamma_gamma.MODEL, repeaters, int(spend["x"].size), as_of,
            f"{repeaters} repeat customers with positive spend, fewer than the "
            f"{MIN_REPEATERS_TO_FIT} a spend fit needs" if repeaters
            else "no repeat customer with positive spend")
    row.update(is_selected=True, selection_basis="only_fitted",
               selection_reason="the spend model")
    return row


def _holdout_errors(holdout_fit: Any) -> tuple[dict[str, float | None], int]:
    """model -> holdout error rate from the holdout_model_fit relation, and the weeks."""
    if holdout_fit is None:
        return {}, 0
    found = holdout_fit.query(
        "holdout", "select model, holdout_error_rate, holdout_weeks from holdout").fetchall()
    return ({model: rate for model, rate, _ in found},
            max((int(weeks or 0) for _, _, weeks in found), default=0))


def _fit_row(result: FitResult, as_of: dt.date) -> dict[str, Any]:
    covariance = result.log_covariance
    row: dict[str, Any] = {
        "log_parameter_covariance": None if covariance is None else covariance.ravel().tolist(),
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
    """The fitted parameters of `model` from a fit relation, or None if not fitted."""
    names = MODELS[model].PARAMETER_NAMES if model in MODELS else gamma_gamma.PARAMETER_NAMES
    found = fit_table.query(
        "fit",
        f"select {', '.join(names)} from fit where model = '{model}' and fit_status = '{FITTED}'",
    ).fetchall()
    if not found:
        return None
    return dict(zip(names, (float(v) for v in found[0]), strict=True))


def _covariance(fit_table: Any, model: str) -> np.ndarray | None:
    """The log-parameter covariance of `model` stored in the fit relation, or None."""
    found = fit_table.query(
        "fit", f"select log_parameter_covariance from fit where model = '{model}'").fetchall()
    if not found or found[0][0] is None:
        return None
    flat = np.asarray(found[0][0], dtype=float)
    return flat.reshape(math.isqrt(flat.size), -1)


def selected_model(fit_table: Any) -> str | None:
    """The purchase model clv_model_fit selected, or None when it was not fitted."""
    found = fit_table.query(
        "fit",
        f"select model from fit where is_selected and fit_status = '{FITTED}' "
        f"and model in ({', '.join(repr(name) for name in MODELS)})",
    ).fetchall()
    return found[0][0] if found else None


def _checked_values(
    fit_table: Any, model: str, model_name: str
) -> tuple[float, ...] | None:
    """The parameters of `model` in `fit_table` as a tuple, None when not fitted; raises
    LifetimeFitError naming `model_name` when one is not a positive number."""
    params = fitted_parameters(fit_table, model)
    if params is None:
        return None
    try:
        purchase_models.check_parameters(MODELS[model], params)
    except LifetimeFitError as error:
        raise LifetimeFitError(f"{model_name}: {error}") from None
    return tuple(params[name] for name in MODELS[model].PARAMETER_NAMES)


def _require_finite(model_name: str, columns: dict[str, np.ndarray], x, t_x, T, label) -> None:
    for name, column in columns.items():
        bad = ~np.isfinite(column)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise LifetimeFitError(
                f"{model_name}: {name} is not finite for x = {x[i]:.0f}, t_x = {t_x[i]:.4g}, "
                f"T = {T[i]:.4g} weeks with {label}"
            )


@one_blas_thread
def score_patterns(
    summary: Any,
    fit_table: Any,
    horizon_days: float,
    clv_months: int,
    monthly_discount_rate: float,
    model_name: str = "int_clv_patterns_scored",
) -> pa.Table:
    """P(alive), expected orders over the horizon, discounted expected orders over
    `clv_months`, P(at least one purchase within 30 / 90 days) and the median days to the next
    purchase (null where P(ever buying again) <= 1/2: no finite median), per distinct
    (x, t_x days, T days), with the purchase model clv_model_fit selected. Empty when it was
    not fitted."""
    chosen = selected_model(fit_table)
    values = None if chosen is None else _checked_values(fit_table, chosen, model_name)
    if values is None:
        return arrow.empty(PATTERN_SCHEMA)
    if horizon_days < 0 or clv_months < 0 or monthly_discount_rate <= -1:
        raise LifetimeFitError(
            f"{model_name}: prediction_horizon_days ({horizon_days}) and clv_months "
            f"({clv_months}) must be >= 0 and clv_monthly_discount_rate "
            f"({monthly_discount_rate}) > -1"
        )
    model = MODELS[chosen]
    combos = _patterns(summary)
    x, t_x, T, _ = _purchase_data(combos)
    horizon = horizon_days / DAYS_PER_WEEK
    weeks_per_month = DAYS_PER_MONTH / DAYS_PER_WEEK
    # Every quantity is (what a customer alive at T buys: per distinct (x, T) pair) x P(alive)
    # (per pattern), so each is worked out per pair and gathered, and the log-gradient of a
    # product is the sum of its factors' log-gradients: P(alive)'s is shared.
    pairs = purchase_models.DistinctPairs.of_days(combos["x"], combos["age_days"], DAYS_PER_WEEK)

    def horizon_if_alive(v):
        return model.expected_purchases_if_alive(v, horizon, pairs.x, pairs.T)

    def discounted_if_alive(v):
        return purchase_models.discounted_expected_purchases_if_alive(
            model, v, pairs, clv_months, monthly_discount_rate, weeks_per_month)

    # The pairs' log-gradients for the intervals, by forward differences from the values
    # worked out here (4 more evaluations of each sum, most of it scipy's 2F1, which releases
    # the GIL), are shared out: a second thread takes them from the first, this one, once the
    # patterns' work is done, whatever is left from the last.
    steps = purchase_models.forward_steps(values)
    gradient_work = [functools.partial(_quietly, purchase_models.log_at_step, function, values,
                                       k, step)
                     for function in (discounted_if_alive, horizon_if_alive) for k, step in steps]
    with np.errstate(all="ignore"), ThreadPoolExecutor(max_workers=1) as second_thread:
        started = [second_thread.submit(work) for work in gradient_work]
        alive = model.p_alive(values, x, t_x, T)
        horizon_per_pair = horizon_if_alive(values)
        discounted_per_pair = discounted_if_alive(values)
        expected = horizon_per_pair[pairs.index] * alive
        discounted = discounted_per_pair[pairs.index] * alive
        within = {days: alive * model.p_purchase_within_if_alive(
            values, days / DAYS_PER_WEEK, pairs.x, pairs.T)[pairs.index] for days in (30, 90)}
        median_days = purchase_models.median_time_to_next_purchase(
            model, values, x, t_x, T) * DAYS_PER_WEEK
        covariance = _covariance(fit_table, chosen)
        alive_gradient = purchase_models.log_p_alive_gradient(model, values, x, t_x, T)
        logs = _finish_shared(started, gradient_work)
        discounted_gradient = purchase_models.forward_gradient(
            np.log(discounted_per_pair), logs[:len(steps)])
        horizon_gradient = purchase_models.forward_gradient(
            np.log(horizon_per_pair), logs[len(steps):])
        horizon_se = purchase_models.log_standard_error(
            horizon_gradient[pairs.index] + alive_gradient, covariance)
        lower, upper = purchase_models.interval_90(expected, horizon_se)
        discounted_se = purchase_models.log_standard_error(
            discounted_gradient[pairs.index] + alive_gradient, covariance)
    _require_finite(model_name, {"p_alive": alive, "expected_orders": expected,
                                 "discounted_expected_orders": discounted,
                                 "p_purchase_within_30_days": within[30],
                                 "p_purchase_within_90_days": within[90]},
                    x, t_x, T, f"{purchase_models.LABELS[chosen]} {values}")
    return arrow.table({
        "repeat_purchase_day_count": combos["x"].astype(np.int64),
        "days_first_to_last_purchase": combos["recency_days"].astype(np.int64),
        "days_since_first_purchase": combos["age_days"].astype(np.int64),
        "customer_count": combos["customer_count"].astype(np.int64),
        "p_alive": alive,
        "expected_orders": expected,
        "discounted_expected_orders": discounted,
        "p_purchase_within_30_days": within[30],
        "p_purchase_within_90_days": within[90],
        "median_days_to_next_purchase": median_days,
        "expected_orders_lower": lower,
        "expected_orders_upper": upper,
        "discounted_expected_orders_log_se": discounted_se,
    }, PATTERN_SCHEMA, nan_is_null=("median_days_to_next_purchase",))


def _finish_shared(started: list[Future[R]], work: list[Callable[[], R]]) -> list[R]:
    """The results of `work`, each submitted in this order to a pool of one thread
    (`started`): what the pool has not begun yet is taken back, from the last, and done in
    this thread, so both threads work until it is all done."""
    done_here: dict[int, R] = {}
    for i in reversed(range(len(started))):
        if not started[i].cancel():
            break  # the pool has begun this one, so every one before it too
        done_here[i] = work[i]()
    return [done_here[i] if i in done_here else found.result()
            for i, found in enumerate(started)]


def _quietly(function: Callable[..., R], *args: Any) -> R:
    """function(*args) with numpy's floating-point warnings off (np.errstate holds for the
    thread that set it only)."""
    with np.errstate(all="ignore"):
        return function(*args)


# ---- the holdout report card ------------------------------------------------------------------

HOLDOUT_SQL = """
select
    count(*) as customer_count,
    coalesce(sum(holdout_purchase_day_count), 0) as holdout_orders
from summary
"""


def _period(period: Any) -> tuple[dt.date, dt.date, int] | None:
    """(calibration_end_on, as_of_date, holdout_weeks) from int_holdout_period, None when
    there is no holdout."""
    found = period.query(
        "period", "select calibration_end_on, as_of_date, holdout_weeks from period").fetchall()
    if not found or not found[0][2]:
        return None
    return found[0][0], found[0][1], int(found[0][2])


@one_blas_thread
def fit_holdout(summary: Any, period: Any, model_name: str = "holdout_model_fit") -> pa.Table:
    """Both purchase models refitted on the calibration summary (int_holdout_summary), with
    their expected purchase days over the holdout against the actual ones; one row per model.
    """
    found = _period(period)
    customers, actual = summary.query("summary", HOLDOUT_SQL).fetchall()[0]
    combos = _patterns(summary)
    why_not = too_few_to_fit(combos)
    if found is None or why_not:
        why = ("the history is too short for a holdout" if found is None
               else f"before the holdout: {why_not}")
        return arrow.from_rows([
            {"model": name, "fit_status": INSUFFICIENT, "customer_count": int(customers),
             "fit_message": why, "holdout_weeks": 0 if found is None else found[2]}
            for name in MODELS], HOLDOUT_FIT_SCHEMA)
    calibration_end, _, weeks = found
    data = _purchase_data(combos)
    rows = []
    for name, model in MODELS.items():
        try:
            result = _fit_purchase_model(name, data)
        except LifetimeFitError as error:
            rows.append({"model": name, "fit_status": FAILED, "customer_count": int(customers),
                         "fit_message": f"{model_name}: {error}",
                         "calibration_end_on": calibration_end, "holdout_weeks": weeks,
                         "holdout_actual_orders": int(actual)})
            continue
        values = tuple(result.parameters[p] for p in model.PARAMETER_NAMES)
        with np.errstate(all="ignore"):
            expected = float(data[3] @ model.expected_purchases(values, weeks, *data[:3]))
        rows.append({
            "model": name, "fit_status": FITTED, **result.parameters,
            "log_likelihood": result.log_likelihood, "customer_count": result.customer_count,
            "fit_message": result.message, "calibration_end_on": calibration_end,
            "holdout_weeks": weeks, "holdout_actual_orders": int(actual),
            "holdout_expected_orders": expected,
            "holdout_error_rate": (expected - actual) / actual if actual else None,
        })
    return arrow.from_rows(rows, HOLDOUT_FIT_SCHEMA)


def _selected_holdout_values(
    holdout_fit: Any, fit_table: Any, model_name: str
) -> tuple[Any, tuple[float, ...]] | None:
    """(model module, calibration parameters) of the model clv_model_fit selected."""
    chosen = selected_model(fit_table)
    values = None if chosen is None else _checked_values(holdout_fit, chosen, model_name)
    return None if values is None else (MODELS[chosen], values)


@one_blas_thread
def score_holdout_patterns(
    summary: Any, holdout_fit: Any, fit_table: Any, period: Any,
    model_name: str = "int_holdout_patterns_scored",
) -> pa.Table:
    """Expected purchase days in the holdout per distinct calibration pattern, with the
    selected model's calibration parameters. Empty when there is no holdout fit."""
    found = _period(period)
    selected = _selected_holdout_values(holdout_fit, fit_table, model_name)
    if found is None or selected is None:
        return arrow.empty(HOLDOUT_PATTERN_SCHEMA)
    model, values = selected
    combos = _patterns(summary)
    x, t_x, T, _ = _purchase_data(combos)
    with np.errstate(all="ignore"):
        expected = model.expected_purchases(values, found[2], x, t_x, T)
    _require_finite(model_name, {"expected_holdout_orders": expected}, x, t_x, T,
                    f"{model.MODEL} {values}")
    return arrow.table({
        "repeat_purchase_day_count": combos["x"].astype(np.int64),
        "days_first_to_last_purchase": combos["recency_days"].astype(np.int64),
        "days_since_first_purchase": combos["age_days"].astype(np.int64),
        "expected_holdout_orders": expected,
    }, HOLDOUT_PATTERN_SCHEMA)


FIRST_DAYS_SQL = """
select days_since_first_purchase as age_days, count(*) as customer_count
from summary
group by all
order by all
"""


@one_blas_thread
def expected_by_week(
    summary: Any, holdout_fit: Any, fit_table: Any, period: Any,
    model_name: str = "int_holdout_weeks_expected",
) -> pa.Table:
    """Expected cumulative repeat purchase days of the calibration customers at the end of
    each week, from the week of the first purchase in the data to the as-of date: the sum
    over first-purchase days d (n_d customers) of n_d E[X((week end - d + 1) / 7)], the
    unconditional expectation of the selected model with its calibration parameters (the
    tracking plot of Fader, Hardie & Lee 2005). Weeks end on the as-of date and every 7 days
    before it, so the calibration end is a week end. Empty when there is no holdout fit."""
    found = _period(period)
    selected = _selected_holdout_values(holdout_fit, fit_table, model_name)
    if found is None or selected is None:
        return arrow.empty(WEEKS_SCHEMA)
    model, values = selected
    _, as_of, holdout_weeks = found
    cohorts = _query(summary, FIRST_DAYS_SQL)
    # Days from each first-purchase day to the as-of date.
    first_days = cohorts["age_days"].astype(np.int64) + 7 * holdout_weeks
    weeks = int(first_days.max()) // 7 + 1
    days_before_as_of = 7 * (weeks - 1 - np.arange(weeks))
    # Time from the start of the first purchase day to the end of the week's last day (FHL
    # 2005's tracking convention: a customer who joined on day 1 is 78 weeks old at the end
    # of day 546); zero for customers who had not joined by then.
    age_days = np.maximum(first_days[None, :] - days_before_as_of[:, None] + 1, 0)
    with np.errstate(all="ignore"):
        per_customer = purchase_models.expected_purchases_new_customer(
            model, values, age_days / DAYS_PER_WEEK)
    expected = per_customer @ cohorts["customer_count"].astype(float)
    return arrow.table({
        "week_number": np.arange(1, weeks + 1, dtype=np.int64),
        "week_ending_on": [as_of - dt.timedelta(days=int(d)) for d in days_before_as_of],
        "expected_cumulative_orders": expected,
    }, WEEKS_SCHEMA)


# ---- totals with their intervals ----------------------------------------------------------------

TOTALS_SCHEMA = pa.schema([
    ("purchase_model", pa.string()),
    ("customer_count", pa.int64()),
    ("expected_orders", pa.float64()),
    ("expected_orders_lower", pa.float64()),
    ("expected_orders_upper", pa.float64()),
    ("predicted_clv", pa.float64()),
    ("predicted_clv_lower", pa.float64()),
    ("predicted_clv_upper", pa.float64()),
])

CUSTOMERS_SQL = """
select
    repeat_purchase_day_count as x,
    recency_weeks as t_x,
    age_weeks as T,
    expected_spend_per_order_amount * gross_margin_rate as margin_per_order,
    spend_log_gradient_p,
    spend_log_gradient_q,
    spend_log_gradient_gamma
from predictions
"""


@one_blas_thread
def prediction_totals(
    predictions: Any, fit_table: Any, horizon_days: float, clv_months: int,
    monthly_discount_rate: float,
) -> pa.Table:
    """Total expected orders and total predicted CLV over the customers of
    customer_predictions, each with its 90% interval from parameter uncertainty. The
    customers' errors are not independent (they share the parameters), so the delta method
    runs on the total itself: d ln(total) / d ln(parameters), with the purchase model's and
    Gamma-Gamma's covariances (independent fits). One row; empty without predictions.

    Each total is worked out at 17 parameter sets (the fit and 2 steps per parameter for each
    gradient). What a customer alive at T buys depends on (x, T) only, so it is evaluated per
    distinct (x, T) pair, found once, and gathered; P(alive) is evaluated once per parameter
    set and shared by both totals. The same values, summed in the same order, as evaluating
    every customer at every step."""
    chosen = selected_model(fit_table)
    spend_params = fitted_parameters(fit_table, gamma_gamma.MODEL)
    if chosen is None or spend_params is None:
        return arrow.empty(TOTALS_SCHEMA)
    model = MODELS[chosen]
    values = tuple(fitted_parameters(fit_table, chosen)[n] for n in model.PARAMETER_NAMES)
    c = predictions.query("predictions", CUSTOMERS_SQL).fetchnumpy()
    if not c["x"].size:
        return arrow.empty(TOTALS_SCHEMA)
    x, t_x, T = c["x"].astype(float), c["t_x"].astype(float), c["T"].astype(float)
    # The expected spend and its log-gradient in the Gamma-Gamma parameters come from
    # customer_predictions, the one place the spend formula lives.
    margin_per_order = c["margin_per_order"].astype(float)
    spend_log_gradient = np.stack([c[f"spend_log_gradient_{name}"].astype(float)
                                   for name in gamma_gamma.PARAMETER_NAMES], axis=-1)
    pairs = _pairs_of_weeks(c["x"], T)
    horizon = horizon_days / DAYS_PER_WEEK
    alive_at: dict[tuple[float, ...], np.ndarray] = {}

    def alive(v):
        if v not in alive_at:
            alive_at[v] = model.p_alive(v, x, t_x, T)
        return alive_at[v]

    def orders(v):
        return np.array([(model.expected_purchases_if_alive(v, horizon, pairs.x, pairs.T)
                          [pairs.index] * alive(v)).sum()])

    def discounted(v):
        return purchase_models.discounted_expected_purchases_if_alive(
            model, v, pairs, clv_months, monthly_discount_rate,
            DAYS_PER_MONTH / DAYS_PER_WEEK)[pairs.index] * alive(v)

    with np.errstate(all="ignore"):
        base_discounted = discounted(values)
        total_orders = orders(values)
        customer_clv = base_discounted * margin_per_order
        total_clv = np.array([customer_clv.sum()])
        orders_se = purchase_models.log_standard_error(
            purchase_models.log_gradient(orders, values), _covariance(fit_table, chosen))
        # d ln(total) / d ln(theta) = sum of each customer's CLV x its d ln(spend) / d ln(theta)
        # over the total (the purchase model's part by central differences, as above)
        spend_gradient = np.nan_to_num(customer_clv @ spend_log_gradient / total_clv[0])
        clv_se = np.sqrt(
            purchase_models.log_standard_error(purchase_models.log_gradient(
                lambda v: np.array([discounted(v) @ margin_per_order]), values),
                _covariance(fit_table, chosen)) ** 2
            + purchase_models.log_standard_error(
                spend_gradient, _covariance(fit_table, gamma_gamma.MODEL)) ** 2)
    orders_low, orders_high = purchase_models.interval_90(total_orders, orders_se)
    clv_low, clv_high = purchase_models.interval_90(total_clv, clv_se)
    return arrow.table({
        "purchase_model": [chosen], "customer_count": [int(x.size)],
        "expected_orders": total_orders, "expected_orders_lower": orders_low,
        "expected_orders_upper": orders_high, "predicted_clv": total_clv,
        "predicted_clv_lower": clv_low, "predicted_clv_upper": clv_high,
    }, TOTALS_SCHEMA)


def _pairs_of_weeks(x: np.ndarray, T: np.ndarray) -> purchase_models.DistinctPairs:
    """The distinct (x, T) pairs of customer_predictions' columns, T in weeks. T is a whole
    number of days over 7 there (age_weeks), so the days are recovered and the pairs found
    from them without sorting (`DistinctPairs.of_days`, whose T is the same days / 7); when
    T is not such a number, by `DistinctPairs.of`."""
    days = np.rint(T * DAYS_PER_WEEK)
    if np.ma.isMaskedArray(x) or not np.array_equal(days / DAYS_PER_WEEK, T):
        return purchase_models.DistinctPairs.of(x, T)
    return purchase_models.DistinctPairs.of_days(x, days.astype(np.int64), DAYS_PER_WEEK)
