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
