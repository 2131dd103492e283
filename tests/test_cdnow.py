"""The CDNOW sample through the real pipeline reproduces the published BG/NBD and Gamma-Gamma
figures (Fader, Hardie & Lee 2005; Fader & Hardie 2013). See tests/fixtures/cdnow/README.md.

The sample is converted to the raw data contract here (one order line per record, quantity
1, unit price = dollars, so an order's revenue is exactly its dollars) and built with
`retail-tiers build --input DIR --as-of 1997-09-30`: the published 39-week calibration
period ends on 1997-09-30 and every customer's first purchase is in January-March 1997.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from pathlib import Path

import pytest
from conftest import TRANSACTION_COLUMNS, Workspace, csv_text, run_cli

FIXTURE = Path(__file__).parent / "fixtures" / "cdnow" / "cdnow_sample.csv"
AS_OF = dt.date(1997, 9, 30)
HORIZON_DAYS = 273  # 39 weeks, the published hold-out period

PUBLISHED_BGNBD = {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}
PUBLISHED_LOG_LIKELIHOOD = -9582.43
PUBLISHED_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "gamma": 15.44}


def cdnow_records() -> list[dict[str, str]]:
    with FIXTURE.open(newline="") as handle:
        return list(csv.DictReader(handle))


def contract_rows(records: list[dict[str, str]]) -> list[dict[str, str]]:
    return [
        {
            "transaction_id": f"T{number}",
            "order_id": f"O{number}",
            "customer_id": record["customer_id"],
            "ordered_at": record["date"],
            "quantity": "1",
            "unit_price": record["dollars"],
        }
        for number, record in enumerate(records, start=1)
    ]


def expected_summaries(records: list[dict[str, str]]) -> dict[str, tuple[int, int, int]]:
    """(x, t_x days, T days) per customer, computed here from the raw records: purchase days
    up to the as-of date, the first day excluded from x."""
    days: dict[str, set[dt.date]] = defaultdict(set)
    for record in records:
        day = dt.date.fromisoformat(record["date"])
        if day <= AS_OF:
            days[record["customer_id"]].add(day)
    return {
        customer: (len(found) - 1, (max(found) - min(found)).days, (AS_OF - min(found)).days)
        for customer, found in days.items()
    }


@pytest.fixture(scope="module")
def cdnow_build(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    root = tmp_path_factory.mktemp("cdnow")
    raw = root / "raw"
    raw.mkdir()
    (raw / "transactions.csv").write_text(
        csv_text(contract_rows(cdnow_records()), TRANSACTION_COLUMNS), encoding="utf-8")
    workspace = Workspace(root / "workspace")
    result = run_cli(["build", "--input", str(raw), "--as-of", AS_OF.isoformat(),
                      "--var", f"prediction_horizon_days={HORIZON_DAYS}"], workspace)
    assert result.exit_code == 0, result.stderr + "\n".join(result.stdout.splitlines()[-15:])
    return workspace


def test_rfm_summary_matches_the_published_calibration_sample(cdnow_build: Workspace):
    expected = expected_summaries(cdnow_records())
    assert len(expected) == 2357
    found = {
        customer: (x, t_x, T)
        for customer, x, t_x, T in cdnow_build.query("""
            select customer_id, repeat_purchase_day_count, days_first_to_last_purchase,
                   days_since_first_purchase
            from intermediate.int_customer_rfm_summary
        """)
    }
    assert found == expected
    assert sum(1 for x, _, _ in found.values() if x > 0) == 946
    # Every first purchase is in Jan-Mar 1997; the earliest (1997-01-01) has T = 38.86 weeks.
    first, last, oldest = cdnow_build.query("""
        select min(first_purchase_on), max(first_purchase_on), max(age_weeks)
        from intermediate.int_customer_rfm_summary
    """)[0]
    assert dt.date(1997, 1, 1) == first and last <= dt.date(1997, 3, 31)
    assert round(oldest, 2) == 38.86


def test_bgnbd_fit_reproduces_the_published_estimates(cdnow_build: Workspace):
    rows = cdnow_build.query("""
        select fit_status, is_converged, r, alpha, a, b, log_likelihood, customer_count,
               as_of_date
        from clv_model_fit where model = 'bg_nbd'
    """)
    status, converged, r, alpha, a, b, log_likelihood, customers, as_of = rows[0]
    assert (status, converged, customers, as_of) == ("fitted", True, 2357, AS_OF)
    for name, value in {"r": r, "alpha": alpha, "a": a, "b": b}.items():
        assert value == pytest.approx(PUBLISHED_BGNBD[name], rel=1e-3), name
    assert log_likelihood == pytest.approx(PUBLISHED_LOG_LIKELIHOOD, abs=0.05)


def test_gamma_gamma_fit_reproduces_the_published_estimates(cdnow_build: Workspace):
    status, p, q, gamma, customers = cdnow_build.query("""
        select fit_status, p, q, gamma, customer_count
        from clv_model_fit where model = 'gamma_gamma'
    """)[0]
    assert (status, customers) == ("fitted", 946)
    for name, value in {"p": p, "q": q, "gamma": gamma}.items():
        assert value == pytest.approx(PUBLISHED_GAMMA_GAMMA[name], rel=0.01), name


def test_published_customer_expects_1_226_purchases_in_39_weeks(cdnow_build: Workspace):
    rows = cdnow_build.query("""
        select expected_orders, prediction_horizon_days
        from customer_predictions
        where repeat_purchase_day_count = 2
            and round(recency_weeks, 2) = 30.43
            and round(age_weeks, 2) = 38.86
    """)
    assert rows, "no customer with x = 2, t_x = 30.43, T = 38.86"
    for expected_orders, horizon in rows:
        assert horizon == HORIZON_DAYS
        assert expected_orders == pytest.approx(1.226, abs=0.001)


def test_every_customer_gets_a_finite_prediction(cdnow_build: Workspace):
    count, finite = cdnow_build.query("""
        select count(*),
               count(*) filter (where isfinite(p_alive) and isfinite(expected_orders)
                                and isfinite(predicted_clv) and predicted_clv >= 0)
        from customer_predictions
    """)[0]
    assert count == finite == 2357


# ---- the holdout report card and Pareto/NBD: Fader, Hardie & Lee (2005) ---------------------

HOLDOUT_END = dt.date(1998, 6, 30)  # end of week 78; weeks 40-78 are the published holdout
PUBLISHED_PARETO_NBD = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
PUBLISHED_PARETO_LOG_LIKELIHOOD = -9595.0


@pytest.fixture(scope="module")
def cdnow_holdout_build(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The whole sample (to 1998-06-30) with the 39-week published holdout and BG/NBD forced,
    so the report card's numbers are the published BG/NBD ones."""
    root = tmp_path_factory.mktemp("cdnow_holdout")
    raw = root / "raw"
    raw.mkdir()
    (raw / "transactions.csv").write_text(
        csv_text(contract_rows(cdnow_records()), TRANSACTION_COLUMNS), encoding="utf-8")
    workspace = Workspace(root / "workspace")
    result = run_cli(["build", "--input", str(raw), "--as-of", HOLDOUT_END.isoformat(),
                      "--var", "holdout_weeks=52", "--var", "clv_purchase_model=bg_nbd"],
                     workspace)
    assert result.exit_code == 0, result.stderr + "\n".join(result.stdout.splitlines()[-15:])
    return workspace


def holdout_days_by_customer(records: list[dict[str, str]]) -> dict[str, tuple[int, int]]:
    """(calibration repeat purchase days, holdout purchase days) per customer, from the raw
    records: the calibration ends on 1997-09-30."""
    days: dict[str, set[dt.date]] = defaultdict(set)
    for record in records:
        days[record["customer_id"]].add(dt.date.fromisoformat(record["date"]))
    return {
        customer: (sum(1 for day in found if day <= AS_OF) - 1,
                   sum(1 for day in found if day > AS_OF))
        for customer, found in days.items()
    }


def test_holdout_is_cut_to_half_the_history(cdnow_holdout_build: Workspace):
    # 52 weeks asked for; 1997-01-01 to 1998-06-30 is 78 weeks, so 39 are held out.
    assert cdnow_holdout_build.query("""
        select holdout_weeks, calibration_end_on from intermediate.int_holdout_period
    """) == [(39, AS_OF)]


def test_holdout_refit_reproduces_both_published_fits(cdnow_holdout_build: Workspace):
    rows = {row[0]: row[1:] for row in cdnow_holdout_build.query("""
        select model, r, alpha, a, b, s, beta, log_likelihood, customer_count
        from holdout_model_fit
    """)}
    r, alpha, a, b, _, _, log_likelihood, customers = rows["bg_nbd"]
    assert customers == 2357
    for name, value in {"r": r, "alpha": alpha, "a": a, "b": b}.items():
        assert value == pytest.approx(PUBLISHED_BGNBD[name], rel=1e-3), name
    assert log_likelihood == pytest.approx(PUBLISHED_LOG_LIKELIHOOD, abs=0.05)
    r, alpha, _, _, s, beta, log_likelihood, customers = rows["pareto_nbd"]
    for name, value in {"r": r, "alpha": alpha, "s": s, "beta": beta}.items():
        assert value == pytest.approx(PUBLISHED_PARETO_NBD[name], rel=1e-3), name
    assert log_likelihood == pytest.approx(PUBLISHED_PARETO_LOG_LIKELIHOOD, abs=0.05)


def test_holdout_totals_reproduce_the_published_comparison(cdnow_holdout_build: Workspace):
    """1,882 actual vs 1,653.9 expected in weeks 40-78; 4,339 vs 4,166 cumulative at week 78.
    The sum of conditional expectations computed here from the published parameters with the
    exact (x, t_x, T) is 1,653.4; the published 1,653.9 is met within 0.6."""
    totals = {scope: (actual, expected, rate) for scope, actual, expected, rate in
              cdnow_holdout_build.query(
                  "select scope, actual_orders, expected_orders, error_rate from holdout_totals")}
    actual, expected, rate = totals["holdout"]
    assert actual == 1882 == sum(h for _, h in holdout_days_by_customer(cdnow_records()).values())
    assert expected == pytest.approx(1653.9, abs=0.6)
    assert rate == pytest.approx(-0.12, abs=0.005)
    actual, expected, rate = totals["cumulative"]
    assert actual == 4339
    assert expected == pytest.approx(4166, abs=0.5)
    assert rate == pytest.approx(-0.040, abs=0.0005)


def test_holdout_by_frequency_matches_the_raw_records(cdnow_holdout_build: Workspace):
    by_customer = holdout_days_by_customer(cdnow_records())
    expected_rows = defaultdict(lambda: [0, 0])
    for x, holdout in by_customer.values():
        expected_rows[min(x, 7)][0] += 1
        expected_rows[min(x, 7)][1] += holdout
    found = cdnow_holdout_build.query("""
        select calibration_frequency, calibration_frequency_label, customer_count,
               actual_orders, expected_orders
        from holdout_by_frequency order by calibration_frequency
    """)
    assert [(f, c, a) for f, _, c, a, _ in found] == [
        (f, *expected_rows[f]) for f in range(8)]
    assert [label for _, label, *_ in found][-1] == "7+"
    total_expected = cdnow_holdout_build.scalar(
        "select expected_orders from holdout_totals where scope = 'holdout'")
    assert sum(row[4] for row in found) == pytest.approx(total_expected, rel=1e-12)
    # Customers with no repeat in the calibration are expected to buy less than repeaters.
    per_customer = [e / c for _, _, c, _, e in found]
    assert per_customer == sorted(per_customer)


def test_tracking_weeks_match_the_raw_records(cdnow_holdout_build: Workspace):
    first: dict[str, dt.date] = {}
    days: set[tuple[str, dt.date]] = set()
    for record in cdnow_records():
        day = dt.date.fromisoformat(record["date"])
        days.add((record["customer_id"], day))
        first[record["customer_id"]] = min(day, first.get(record["customer_id"], day))
    weekly = [0] * 78
    for customer, day in days:
        if day > first[customer]:
            weekly[(day - dt.date(1997, 1, 1)).days // 7] += 1
    rows = cdnow_holdout_build.query("""
        select week_number, week_ending_on, is_holdout, actual_orders, actual_cumulative_orders,
               expected_orders, expected_cumulative_orders
        from holdout_tracking order by week_number
    """)
    assert [row[0] for row in rows] == list(range(1, 79))
    assert rows[0][1] == dt.date(1997, 1, 7) and rows[38][1] == AS_OF
    assert [row[2] for row in rows] == [False] * 39 + [True] * 39
    assert [row[3] for row in rows] == weekly
    assert rows[38][4] == 2457 and rows[-1][4] == 4339
    assert sum(row[5] for row in rows) == pytest.approx(rows[-1][6], rel=1e-9)


def test_auto_selection_picks_the_smaller_holdout_error(cdnow_holdout_build: Workspace):
    """Forced by the var here; the fit table says so, and reports both holdout errors."""
    rows = {model: (selected, reason, rate) for model, selected, reason, rate in
            cdnow_holdout_build.query("""
                select model, is_selected, selection_reason, holdout_error_rate
                from clv_model_fit""")}
    assert rows["bg_nbd"][:2] == (True, "set by var clv_purchase_model = bg_nbd")
    assert rows["pareto_nbd"][:2] == (False, None)
    holdout = dict(cdnow_holdout_build.query(
        "select model, holdout_error_rate from holdout_model_fit"))
    assert rows["bg_nbd"][2] == holdout["bg_nbd"] and rows["pareto_nbd"][2] == holdout["pareto_nbd"]
