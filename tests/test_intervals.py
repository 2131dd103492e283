"""90% intervals from parameter uncertainty (delta method with the inverse observed
information, retail_tiers.lifetime.purchase_models) cover the truth about 90% of the time.

Many data sets are simulated from known BG/NBD parameters; each is fitted, and the interval
of the expected purchases computed from the fitted parameters is checked against the same
expectation computed with the true parameters: for one customer pattern, and for the total
over the simulated customers (what the report shows).
"""

from __future__ import annotations

import functools
import math

import duckdb
import numpy as np
import pyarrow as pa

from retail_tiers.lifetime import bgnbd, pareto_nbd, pipeline, purchase_models
from retail_tiers.lifetime.simulate import simulate_summaries

TRUTH = (0.5, 6.0, 0.8, 3.0)
REPLICATIONS = 150
CUSTOMERS = 1500


def fitted(seed: int):
    s = simulate_summaries(CUSTOMERS, TRUTH, (6.0, 4.0, 20.0), 365, seed=seed)
    rows, counts = np.unique(np.column_stack([s.x, s.t_x, s.T]), axis=0, return_counts=True)
    fit = bgnbd.fit(bgnbd.BgNbdData.build(rows[:, 0], rows[:, 1], rows[:, 2], counts))
    return fit, s


def covers(function, fit) -> bool:
    values = tuple(fit.parameters[name] for name in bgnbd.PARAMETER_NAMES)
    se = purchase_models.log_standard_error(
        purchase_models.log_gradient(function, values), fit.log_covariance)
    low, high = purchase_models.interval_90(function(values), se)
    truth = function(TRUTH)
    return bool(np.all((low <= truth) & (truth <= high)))


def test_intervals_cover_the_true_expectation_about_90_percent_of_the_time():
    one_customer = total = 0
    for seed in range(REPLICATIONS):
        fit, s = fitted(seed)
        assert fit.log_covariance is not None
        one_customer += covers(
            lambda v: bgnbd.expected_purchases(v, 52.0, np.array([2.0]), np.array([20.0]),
                                               np.array([40.0])), fit)
        total += covers(
            lambda v, s=s: np.array([bgnbd.expected_purchases(v, 52.0, s.x, s.t_x, s.T).sum()]),
            fit)
    # 150 replications: a binomial standard error of 2.4 points around 90%.
    assert 0.84 <= one_customer / REPLICATIONS <= 0.96
    assert 0.84 <= total / REPLICATIONS <= 0.96


def test_covariance_matches_published_standard_errors_on_cdnow():
    """The lifetimes quickstart (BetaGeoFitter on this CDNOW sample) prints standard errors
    r 0.012557, alpha 0.378221, a 0.185719, b 0.705345 from its own numerical Hessian; the
    observed information here must give the same."""
    import csv
    import datetime as dt
    from collections import defaultdict
    from pathlib import Path

    end = dt.date(1997, 9, 30)
    days: dict[str, set[dt.date]] = defaultdict(set)
    path = Path(__file__).parent / "fixtures" / "cdnow" / "cdnow_sample.csv"
    with path.open(newline="") as handle:
        for record in csv.DictReader(handle):
            day = dt.date.fromisoformat(record["date"])
            if day <= end:
                days[record["customer_id"]].add(day)
    x = np.array([len(v) - 1 for v in days.values()], dtype=float)
    t_x = np.array([(max(v) - min(v)).days / 7 for v in days.values()])
    T = np.array([(end - min(v)).days / 7 for v in days.values()])
    fit = bgnbd.fit(bgnbd.BgNbdData.build(x, t_x, T))
    values = np.array([fit.parameters[name] for name in bgnbd.PARAMETER_NAMES])
    standard_errors = values * np.sqrt(np.diag(fit.log_covariance))
    np.testing.assert_allclose(standard_errors, [0.012557, 0.378221, 0.185719, 0.705345], rtol=2e-3)


def test_closed_form_p_alive_gradient_matches_central_differences():
    """bgnbd.log_p_alive_gradient (what the scoring uses) against central differences of
    ln P(alive) (purchase_models.log_gradient), over ordinary and extreme patterns; 0 where
    x = 0 (P(alive) = 1 whatever the parameters)."""
    params = (0.87, 6.8, 1.57, 4.21)
    x = np.array([0.0, 0.0, 1.0, 2.0, 5.0, 30.0, 150.0, 1.0, 12.0])
    t_x = np.array([0.0, 0.0, 3.0, 20.0, 0.5, 150.0, 150.0, 0.0, 100.0])
    T = np.array([0.0, 50.0, 40.0, 40.0, 156.0, 156.0, 151.0, 1e-3, 100.0])
    found = bgnbd.log_p_alive_gradient(params, x, t_x, T)
    numeric = purchase_models.log_gradient(lambda v: bgnbd.p_alive(v, x, t_x, T), params)
    assert found.shape == (x.size, 4)
    assert np.all(found[:2] == 0)
    np.testing.assert_allclose(found, numeric, rtol=1e-6, atol=1e-9)
    # the model-agnostic entry point uses it, and falls back to differences for Pareto/NBD
    np.testing.assert_array_equal(
        purchase_models.log_p_alive_gradient(bgnbd, params, x, t_x, T), found)


def test_log_standard_error_is_the_quadratic_form_row_by_row():
    """sqrt(sum_ij g_i Sigma_ij g_j) per row (and for a single gradient), summed in plain
    Python; 0 without a covariance."""
    rng = np.random.default_rng(2)
    gradient = rng.normal(size=(50, 4))
    factor = rng.normal(size=(4, 4))
    covariance = factor @ factor.T
    expected = [math.sqrt(sum(g[i] * covariance[i, j] * g[j]
                              for i in range(4) for j in range(4))) for g in gradient]
    np.testing.assert_allclose(purchase_models.log_standard_error(gradient, covariance),
                               expected, rtol=1e-13)
    np.testing.assert_allclose(purchase_models.log_standard_error(gradient[0], covariance),
                               expected[0], rtol=1e-13)
    assert purchase_models.log_standard_error(gradient, None).tolist() == [0.0] * 50


def _plain_totals(model, values, x, t_x, T, margin, spend_gradient, covariances):
    """prediction_totals' figures evaluated customer by customer at every step (expected
    purchases and discounted purchases of every customer, each time from scratch)."""
    horizon = 365.0 / 7

    def orders(v):
        return np.array([model.expected_purchases(v, horizon, x, t_x, T).sum()])

    def discounted(v):
        return purchase_models.discounted_expected_purchases(
            model, v, x, t_x, T, 12, 0.01, 365.25 / 12 / 7)

    total_orders = orders(values)
    clv = discounted(values) * margin
    total_clv = clv.sum()
    orders_se = purchase_models.log_standard_error(
        purchase_models.log_gradient(orders, values), covariances[0])
    clv_se = math.sqrt(purchase_models.log_standard_error(purchase_models.log_gradient(
        lambda v: np.array([discounted(v) @ margin]), values), covariances[0])[0] ** 2
        + purchase_models.log_standard_error(
            clv @ spend_gradient / total_clv, covariances[1]) ** 2)
    return (total_orders[0], *(total_orders[0] * np.exp([-1.6448536269514722 * orders_se[0],
                                                         1.6448536269514722 * orders_se[0]])),
            total_clv, *(total_clv * np.exp([-1.6448536269514722 * clv_se,
                                             1.6448536269514722 * clv_se])))


def test_prediction_totals_equal_evaluating_every_customer_at_every_step():
    """pipeline.prediction_totals (each distinct (x, T) once, P(alive) shared between the two
    totals) gives what evaluating every customer at every parameter step gives, for both
    purchase models, whether T is a whole number of days over 7 (as customer_predictions
    holds it) or not."""
    s = simulate_summaries(400, TRUTH, (6.0, 4.0, 20.0), 365, seed=5)
    rng = np.random.default_rng(3)
    margin = rng.uniform(1, 40, s.x.size)
    spend_gradient = rng.normal(size=(s.x.size, 3))
    factor = rng.normal(size=(4, 4)) / 10
    covariance = factor @ factor.T
    spend_covariance = covariance[:3, :3] / 2
    con = duckdb.connect()
    for model, values in ((bgnbd, (0.5, 6.0, 0.8, 3.0)), (pareto_nbd, (0.55, 10.6, 0.6, 11.7))):
        for T in (np.round(s.T * 7) / 7, s.T):
            t_x = np.minimum(s.t_x, T)
            predictions = con.from_arrow(pa.table({
                "repeat_purchase_day_count": s.x.astype(np.int64),
                "recency_weeks": t_x, "age_weeks": T,
                "expected_spend_per_order_amount": margin, "gross_margin_rate": np.ones(s.x.size),
                **{f"spend_log_gradient_{name}": spend_gradient[:, i]
                   for i, name in enumerate(("p", "q", "gamma"))}}))
            fit = con.from_arrow(pa.table({
                "model": [model.MODEL, "gamma_gamma"], "fit_status": ["fitted", "fitted"],
                "is_selected": [True, True],
                **{name: [values[i], None] for i, name in enumerate(model.PARAMETER_NAMES)},
                **{name: [None, 1.0] for name in ("p", "q", "gamma")},
                "log_parameter_covariance": [covariance.ravel().tolist(),
                                             spend_covariance.ravel().tolist()]}))
            found = pipeline.prediction_totals(predictions, fit, 365.0, 12, 0.01).to_pylist()[0]
            expected = _plain_totals(model, values, s.x.astype(float), t_x, T, margin,
                                     spend_gradient, (covariance, spend_covariance))
            names = ("expected_orders", "expected_orders_lower", "expected_orders_upper",
                     "predicted_clv", "predicted_clv_lower", "predicted_clv_upper")
            np.testing.assert_allclose([found[name] for name in names], expected, rtol=1e-13)
            assert found["purchase_model"] == model.MODEL


def test_gradient_work_is_shared_out_between_two_threads_and_returned_in_order():
    """score_patterns' gradient evaluations: what the second thread has not begun when this
    one is free is taken back, from the last, and done here; the results come in the order
    of the work whichever thread did it."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    here = threading.get_ident()
    second_free = threading.Event()
    ran_in: dict[int, int] = {}

    def work(i: int) -> int:
        ran_in[i] = threading.get_ident()
        if i == 0:
            assert second_free.wait(10)  # the second thread stays busy with the first
        if i == 1:
            second_free.set()
        return i * i

    items = [functools.partial(work, i) for i in range(6)]
    with ThreadPoolExecutor(max_workers=1) as second_thread:
        started = [second_thread.submit(item) for item in items]
        assert pipeline._finish_shared(started, items) == [0, 1, 4, 9, 16, 25]
    assert ran_in[0] != here
    assert all(ran_in[i] == here for i in range(1, 6))


def test_log_gradient_put_together_from_its_steps_is_log_gradient():
    values = (0.8, 4.0, 0.9, 2.5)
    pairs = purchase_models.DistinctPairs.of([0, 1, 3, 40], [1.0, 5.0, 20.0, 52.0])

    def function(v):
        return bgnbd.expected_purchases_if_alive(v, 20.0, pairs.x, pairs.T)

    logs = [purchase_models.log_at_step(function, values, k, step)
            for k, step in purchase_models.gradient_steps(values)]
    together = purchase_models.gradient_from_steps(values, logs)
    # the central difference written out in one piece gives the same numbers
    step = purchase_models.LOG_STEP
    for k in range(4):
        up = tuple(v * np.exp(step) if i == k else v for i, v in enumerate(values))
        down = tuple(v * np.exp(-step) if i == k else v for i, v in enumerate(values))
        column = (np.log(function(up)) - np.log(function(down))) / (2 * step)
        assert np.array_equal(together[:, k], column)
    # and about the derivative at another step
    up = function((values[0] * 1.001, *values[1:]))
    down = function((values[0] / 1.001, *values[1:]))
    assert np.allclose(together[:, 0], np.log(up / down) / (2 * np.log(1.001)), rtol=1e-5)


def test_pattern_intervals_equal_central_differences_customer_by_customer():
    """score_patterns' intervals (forward differences in the log-parameters, per distinct
    (x, T) pair, P(alive)'s closed-form gradient added) against the delta method worked out
    here customer by customer: central differences of the expected orders over the horizon
    and of the discounted expected orders, each evaluated from scratch at every step."""
    s = simulate_summaries(600, TRUTH, (6.0, 4.0, 20.0), 365, seed=11)
    recency_days = np.round(s.t_x * 7).astype(np.int64)
    age_days = np.maximum(np.round(s.T * 7).astype(np.int64), recency_days)
    rng = np.random.default_rng(4)
    factor = rng.normal(size=(4, 4)) / 10
    covariance = factor @ factor.T
    values = (0.5, 6.0, 0.8, 3.0)
    con = duckdb.connect()
    summary = con.from_arrow(pa.table({
        "repeat_purchase_day_count": s.x.astype(np.int64),
        "days_first_to_last_purchase": recency_days, "days_since_first_purchase": age_days}))
    fit = con.from_arrow(pa.table({
        "model": [bgnbd.MODEL], "fit_status": ["fitted"], "is_selected": [True],
        **{name: [values[i]] for i, name in enumerate(bgnbd.PARAMETER_NAMES)},
        "log_parameter_covariance": [covariance.ravel().tolist()]}))
    scored = pipeline.score_patterns(summary, fit, 365.0, 12, 0.01).to_pydict()
    x = np.array(scored["repeat_purchase_day_count"], dtype=float)
    t_x = np.array(scored["days_first_to_last_purchase"]) / 7
    T = np.array(scored["days_since_first_purchase"]) / 7

    def orders(v):
        return bgnbd.expected_purchases(v, 365.0 / 7, x, t_x, T)

    def discounted(v):
        return purchase_models.discounted_expected_purchases(
            bgnbd, v, x, t_x, T, 12, 0.01, 365.25 / 12 / 7)

    orders_se = purchase_models.log_standard_error(
        purchase_models.log_gradient(orders, values), covariance)
    discounted_se = purchase_models.log_standard_error(
        purchase_models.log_gradient(discounted, values), covariance)
    assert np.all(orders_se > 0) and np.all(discounted_se > 0)
    np.testing.assert_allclose(scored["discounted_expected_orders_log_se"], discounted_se,
                               rtol=1e-5)
    low, high = purchase_models.interval_90(orders(values), orders_se)
    np.testing.assert_allclose(scored["expected_orders_lower"], low, rtol=1e-7)
    np.testing.assert_allclose(scored["expected_orders_upper"], high, rtol=1e-7)
