"""Predictions inside `retail-tiers build`: clv_model_fit, customer_predictions, churn_watchlist.

A generated dataset (pure BG/NBD + Gamma-Gamma: no seasonality, campaign purchases, returns,
guests or dirty rows) is built once; the fit must recover the generator's parameters (from
manifest.json) within 4 standard errors of the observed information for this sample size.
The per-customer numbers are recomputed here from the fitted parameters with independent
formulas (numerical integration instead of the hypergeometric closed form), the watchlist
is re-derived from its rule, the vars are shown to reach the Python model, and a fit that
cannot work stops the build with a message naming the model.
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import PROJECT_DIR, TRANSACTION_COLUMNS, Workspace, build_generated, csv_text, run_cli
from scipy import integrate, stats

from retail_tiers.lifetime import bgnbd, gamma_gamma

CUSTOMERS = 4000
WEEKS_PER_MONTH = 365.25 / 12 / 7


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, dict]:
    """A pure BG/NBD + Gamma-Gamma world: no seasonality, campaigns, returns, guests or dirt.
    BG/NBD is forced, so the predictions can be checked against its formulas."""
    build = build_generated(
        tmp_path_factory.mktemp("predictions"), build_args=["--var", "clv_purchase_model=bg_nbd"],
        customers=CUSTOMERS, months=24, seed=5, end_month="2025-12", dirty_rate=0,
        seasonality_strength=0, campaign_uplift=0, return_rate=0, guest_order_rate=0,
        prospect_rate=0,
    )
    return build.workspace, build.manifest


def fitted(workspace: Workspace, model: str) -> dict[str, float]:
    names = bgnbd.PARAMETER_NAMES if model == "bg_nbd" else gamma_gamma.PARAMETER_NAMES
    row = workspace.query(f"select {', '.join(names)} from clv_model_fit where model = ?",
                          [model])[0]
    return dict(zip(names, row, strict=True))


def log_scale_standard_errors(objective, estimate: np.ndarray, total: float) -> np.ndarray:
    """From the observed information: central differences of the analytic gradient."""
    step = 1e-4
    hessian = np.zeros((estimate.size, estimate.size))
    for i in range(estimate.size):
        shift = np.zeros(estimate.size)
        shift[i] = step
        hessian[:, i] = (objective(estimate + shift)[1] - objective(estimate - shift)[1]) / (
            2 * step)
    return np.sqrt(np.diag(np.linalg.inv(total * (hessian + hessian.T) / 2)))


# ---- recovery -----------------------------------------------------------------------------


def test_bgnbd_recovers_the_generator_parameters(generated):
    workspace, manifest = generated
    truth = manifest["parameters"]["bgnbd"]
    estimate = fitted(workspace, "bg_nbd")
    combos = workspace.query("""
        select repeat_purchase_day_count, days_first_to_last_purchase,
               days_since_first_purchase, count(*)
        from intermediate.int_customer_rfm_summary group by all
    """)
    x, t_x, T, n = (np.array(column, dtype=float) for column in zip(*combos, strict=True))
    data = bgnbd.BgNbdData.build(x, t_x / 7, T / 7, n)
    assert n.sum() == CUSTOMERS  # every generated customer bought at least once
    point = np.log([estimate[name] for name in bgnbd.PARAMETER_NAMES])
    errors = log_scale_standard_errors(
        lambda p: bgnbd.negative_log_likelihood(p, data), point, n.sum())
    for i, name in enumerate(bgnbd.PARAMETER_NAMES):
        z = (point[i] - math.log(truth[name])) / errors[i]
        assert abs(z) < 4, f"{name}: fitted {estimate[name]:.4g}, true {truth[name]}, z = {z:.2f}"


def test_gamma_gamma_recovers_the_generator_parameters(generated):
    workspace, manifest = generated
    truth = manifest["parameters"]["gamma_gamma"]
    estimate = fitted(workspace, "gamma_gamma")
    rows = workspace.query("""
        select repeat_purchase_day_count, mean_repeat_day_spend_amount
        from intermediate.int_customer_rfm_summary
        where repeat_purchase_day_count > 0 and mean_repeat_day_spend_amount > 0
    """)
    x, spend = (np.array(column, dtype=float) for column in zip(*rows, strict=True))
    data = gamma_gamma.GammaGammaData.build(x, spend)
    point = np.log([estimate[name] for name in gamma_gamma.PARAMETER_NAMES])
    errors = log_scale_standard_errors(
        lambda p: gamma_gamma.negative_log_likelihood(p, data), point, x.size)
    for i, name in enumerate(gamma_gamma.PARAMETER_NAMES):
        z = (point[i] - math.log(truth[name])) / errors[i]
        assert abs(z) < 4, f"{name}: fitted {estimate[name]:.4g}, true {truth[name]}, z = {z:.2f}"
    # The population mean spend p gamma / (q - 1) is pinned down much better than p or gamma.
    mean_true = truth["p"] * truth["gamma"] / (truth["q"] - 1)
    mean_fit = estimate["p"] * estimate["gamma"] / (estimate["q"] - 1)
    assert mean_fit == pytest.approx(mean_true, rel=0.1)


# ---- per-customer numbers, recomputed independently ---------------------------------------


def beta_mean(a: float, b: float, function) -> float:
    pieces = [0.0, 1e-4, 0.05, 0.5, 1.0]
    return sum(integrate.quad(lambda p: function(p) * stats.beta.pdf(p, a, b), lo, hi,
                              limit=200, epsrel=1e-11)[0]
               for lo, hi in itertools.pairwise(pieces))


def expected_by_integration(params, weeks: float, x: int, t_x: float, T: float) -> float:
    """P(alive) x E_p[(1 - (1 + p w)^-(r+x)) / p] with p ~ Beta(a, b+x), w = t/(alpha+T)."""
    r, alpha, a, b = params
    odds = 0.0 if x == 0 else a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x)
    w = weeks / (alpha + T)
    given_alive = beta_mean(a, b + x, lambda p: -math.expm1(-(r + x) * math.log1p(p * w)) / p)
    return given_alive / (1 + odds)


def test_customer_predictions_match_an_independent_computation(generated):
    workspace, _ = generated
    bg = tuple(fitted(workspace, "bg_nbd").values())
    p, q, gamma = fitted(workspace, "gamma_gamma").values()
    sample = workspace.query("""
        select predictions.customer_id, summary.repeat_purchase_day_count,
               summary.days_first_to_last_purchase, summary.days_since_first_purchase,
               summary.mean_repeat_day_spend_amount, predictions.p_alive,
               predictions.expected_orders, predictions.expected_spend_per_order_amount,
               predictions.gross_margin_rate, predictions.predicted_clv,
               predictions.prediction_horizon_days,
               (select sum(gross_margin_amount) / sum(net_revenue)
                from intermediate.int_customer_orders as orders
                where orders.customer_id = predictions.customer_id
                    and orders.ordered_on <= predictions.as_of_date) as own_margin_rate
        from customer_predictions as predictions
        inner join intermediate.int_customer_rfm_summary as summary
            on predictions.customer_id = summary.customer_id
        order by predictions.repeat_purchase_day_count desc, predictions.customer_id
    """)
    # The most frequent buyers, some single repeaters and some who never came back.
    picked = sample[:3] + sample[len(sample) // 3:][:3] + sample[-3:]
    for (customer, x, recency_days, age_days, spend, p_alive, expected_orders, spend_per_order,
         margin, clv, horizon, own_margin) in picked:
        t_x, T = recency_days / 7, age_days / 7
        odds = 0.0 if x == 0 else bg[2] / (bg[3] + x - 1) * ((bg[1] + T) / (bg[1] + t_x)) ** (
            bg[0] + x)
        assert p_alive == pytest.approx(1 / (1 + odds), rel=1e-9), customer
        assert expected_orders == pytest.approx(
            expected_by_integration(bg, horizon / 7, x, t_x, T), rel=1e-6), customer
        m = max(spend or 0.0, 0.0)
        assert spend_per_order == pytest.approx(p * (gamma + x * m) / (p * x + q - 1), rel=1e-9)
        own = 0.35 if own_margin is None else min(max(own_margin, 0.0), 1.0)
        assert margin == pytest.approx(own, rel=1e-9)
        by_month = [expected_by_integration(bg, k * WEEKS_PER_MONTH, x, t_x, T)
                    for k in range(0, 13)]
        discounted = sum((by_month[k] - by_month[k - 1]) / 1.01**k for k in range(1, 13))
        assert clv == pytest.approx(discounted * spend_per_order * margin, rel=1e-6), customer


def test_watchlist_follows_its_rule(generated):
    workspace, _ = generated
    rows = workspace.query("""
        select predictions.customer_id, predictions.predicted_clv,
               predictions.churn_probability, customers.rfm_grid_segment_code,
               customers.lifecycle_stage
        from customer_predictions as predictions
        left join customers on predictions.customer_id = customers.customer_id
    """)
    values = sorted(row[1] for row in rows)
    cut = 0.2 * len(rows)
    # rank = 1 + customers with a strictly higher predicted CLV (ties share a rank)
    top = {row[0] for row in rows
           if row[1] > 0 and 1 + len(values) - bisect.bisect_right(values, row[1]) <= cut}
    keep = [row for row in rows
            if (row[0] in top or row[3] in ("champions", "loyal", "cant_lose_them"))
            and (row[2] >= 0.5 or row[4] == "at_risk")]
    expected = [row[0] for row in sorted(keep, key=lambda row: (-row[1] * row[2], -row[1],
                                                                row[0]))]
    listed = [row[0] for row in workspace.query(
        "select customer_id from churn_watchlist order by watchlist_rank")]
    assert listed == expected
    assert 0 < len(listed) < len(rows)


def test_vars_reach_the_python_scoring_model(generated, tmp_path: Path):
    """Rebuild only the prediction models with other vars (on a copy of the warehouse): the
    Python model must use them."""
    from dbt.cli.main import dbtRunner

    from retail_tiers.build import close_dbt_connections

    original, _ = generated
    workspace = Workspace(tmp_path / "copy")
    workspace.warehouse.parent.mkdir(parents=True)
    shutil.copy(original.warehouse, workspace.warehouse)
    before = dict(workspace.query("select customer_id, expected_orders from customer_predictions"))
    bg = tuple(fitted(workspace, "bg_nbd").values())
    variables = {"prediction_horizon_days": 91, "clv_months": 3, "clv_monthly_discount_rate": 0}
    args = ["build", "--select", "int_clv_patterns_scored", "customer_predictions",
            "--exclude", "resource_type:unit_test", "--project-dir", str(PROJECT_DIR),
            "--profiles-dir", str(PROJECT_DIR), "--log-level", "none",
            "--vars", json.dumps(variables)]
    with pytest.MonkeyPatch.context() as patch:
        for name, value in workspace.env.items():
            patch.setenv(name, value)
        try:
            result = dbtRunner().invoke(args)
        finally:
            close_dbt_connections()
    assert result.success
    rows = workspace.query("""
        select predictions.customer_id, summary.repeat_purchase_day_count,
               summary.recency_weeks, summary.age_weeks, predictions.expected_orders,
               predictions.prediction_horizon_days, predictions.discounted_expected_orders
        from customer_predictions as predictions
        inner join intermediate.int_customer_rfm_summary as summary
            on predictions.customer_id = summary.customer_id
        order by predictions.customer_id
        limit 5
    """)
    for customer, x, t_x, T, expected_orders, horizon, discounted in rows:
        assert horizon == 91
        assert expected_orders < before[customer]
        assert expected_orders == pytest.approx(expected_by_integration(bg, 13.0, x, t_x, T),
                                                rel=1e-6)
        # clv_months 3 at rate 0: the orders of 3 average months, undiscounted.
        assert discounted == pytest.approx(
            expected_by_integration(bg, 3 * WEEKS_PER_MONTH, x, t_x, T), rel=1e-6)


# ---- a fit that cannot work stops the build -------------------------------------------------


def heavy_tailed_transactions(customers: int, seed: int) -> list[dict[str, str]]:
    """Customers with 3-6 purchase days whose typical spend is Gamma-Gamma with q = 0.5: the
    mean spend of a new customer is infinite, so the fit must refuse (q <= 1)."""
    rng = np.random.default_rng(seed)
    nu = rng.gamma(0.5, 1 / 10.0, customers)
    rows: list[dict[str, str]] = []
    for customer in range(customers):
        days = np.sort(rng.choice(np.arange(1, 360), size=rng.integers(3, 7), replace=False))
        for day in days:
            value = min(rng.gamma(6.0, 1 / nu[customer]), 1e9)
            number = len(rows) + 1
            rows.append({
                "transaction_id": f"T{number}", "order_id": f"O{number}",
                "customer_id": f"C{customer}",
                "ordered_at": str(np.datetime64("2024-01-01") + int(day)),
                "quantity": "1", "unit_price": f"{value:.2f}",
            })
    return rows


def test_a_failed_fit_stops_the_build_naming_the_model(tmp_path: Path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "transactions.csv").write_text(
        csv_text(heavy_tailed_transactions(400, seed=1), TRANSACTION_COLUMNS), encoding="utf-8")
    workspace = Workspace(tmp_path / "workspace")
    result = run_cli(["build", "--input", str(raw), "--as-of", "2024-12-31"], workspace)
    assert result.exit_code == 1
    assert "clv_model_fit" in result.error
    assert "gamma_gamma fit: q = " in result.error and "<= 1" in result.error
    assert "LifetimeFitError" not in result.error  # the exception class name is trimmed
    assert not workspace.warehouse.exists()  # a failed build publishes nothing


def test_next_purchase_and_intervals_follow_the_fitted_model(generated):
    """Per customer, recomputed here from the fitted BG/NBD parameters with the closed forms
    (not the bisection of the code): P(purchase within t) = P(alive) (1 - ((alpha+T) /
    (alpha+T+t))^(r+x)); the median exists iff P(alive) > 1/2 and is
    (alpha+T) ((1 - 1/(2 P(alive)))^(-1/(r+x)) - 1). Intervals contain their value, and the
    totals' table adds up the customers."""
    workspace, _ = generated
    params = fitted(workspace, "bg_nbd")
    r, alpha = params["r"], params["alpha"]
    rows = workspace.query("""
        select repeat_purchase_day_count, age_weeks, p_alive, p_purchase_within_30_days,
               p_purchase_within_90_days, next_purchase_median_on, next_purchase_status,
               as_of_date, expected_orders_lower, expected_orders, expected_orders_upper,
               predicted_clv_lower, predicted_clv, predicted_clv_upper
        from customer_predictions
    """)
    assert rows
    statuses = set()
    for (x, T, alive, within_30, within_90, median_on, status, as_of, *intervals) in rows:
        for days, found in ((30, within_30), (90, within_90)):
            expected = alive * (1 - ((alpha + T) / (alpha + T + days / 7)) ** (r + x))
            assert found == pytest.approx(expected, rel=1e-9, abs=1e-12)
        statuses.add(status)
        if alive > 0.5:
            weeks = (alpha + T) * ((1 - 1 / (2 * alive)) ** (-1 / (r + x)) - 1)
            assert status == "estimated"
            assert abs((median_on - as_of).days - math.ceil(weeks * 7)) <= 1
        else:
            assert (status, median_on) == ("unlikely_to_buy_again", None)
        low_orders, orders, high_orders, low_clv, clv, high_clv = intervals
        assert low_orders <= orders * (1 + 1e-9) and orders <= high_orders * (1 + 1e-9)
        assert low_clv <= clv * (1 + 1e-9) and clv <= high_clv * (1 + 1e-9)
    assert statuses == {"estimated", "unlikely_to_buy_again"}
    total, low, high, orders = workspace.query("""
        select predicted_clv, predicted_clv_lower, predicted_clv_upper, expected_orders
        from prediction_totals
    """)[0]
    assert total == pytest.approx(workspace.scalar(
        "select sum(predicted_clv) from customer_predictions"), rel=1e-9)
    assert orders == pytest.approx(workspace.scalar(
        "select sum(expected_orders) from customer_predictions"), rel=1e-9)
    assert low < total < high
    # Relative to its value, the total's interval is no wider than the widest customer's.
    widest = workspace.scalar(
        "select max(predicted_clv_upper / predicted_clv) from customer_predictions "
        "where predicted_clv > 0")
    assert 1 < high / total <= widest


def test_prediction_tables_store_their_doubles_and_customer_ids_uncompressed(
    generated: tuple[Workspace, dict],
) -> None:
    """The tables whose meta asks for it (macros/table_storage.sql) hold those columns with
    DuckDB's 'Uncompressed' storage and every other column as DuckDB chose, and keep the
    column types of their query."""
    workspace, _ = generated
    asked = {"intermediate.int_customer_rfm_summary": {"customer_id"},
             "intermediate.int_clv_patterns_scored": set(),
             "main.customer_predictions": {"customer_id"}}
    for table, names in asked.items():
        schema, name = table.split(".")
        types = dict(workspace.query(
            "select column_name, data_type from duckdb_columns() "
            f"where schema_name = '{schema}' and table_name = '{name}'"))
        storage = workspace.query(
            "select column_name, list(distinct compression) "
            f"from pragma_storage_info('{table}') where segment_type <> 'VALIDITY' group by all")
        assert storage and {column for column, _ in storage} == set(types)
        for column, methods in storage:
            if types[column] == "DOUBLE" or column in names:
                assert methods == ["Uncompressed"], (table, column, methods)
        assert types["repeat_purchase_day_count"] == "BIGINT"
        compressed = [column for column, methods in storage if methods != ["Uncompressed"]]
        assert compressed, f"{table}: every column uncompressed"
