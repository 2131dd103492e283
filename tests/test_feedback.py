"""Customer voice (feedback / NPS), prospects and category mix against independent pandas
computations.

The standard generated build (conftest `generated_build`) is compared with answers worked out
here from the raw files the generator wrote (feedback.csv read with an independent reading of
the quarantine rules, tests/feedback_reference.py; customers.csv) and from the order and line
grain (int_orders_netted, int_transaction_lines) and the segments of customer_monthly_history
and `customers` (checked on their own in test_customers.py). `check` is tested on a hand-made
feedback file.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from conftest import GeneratedBuild, Workspace, csv_text, transaction
from feedback_reference import FEEDBACK_REASONS, classify_feedback, parse_times, read_feedback

from retail_tiers.check import check_input, format_report

SCHEMES = {"rfm_grid": "rfm_grid_segment_code", "rfm8": "rfm8_segment_code"}
RFM_WINDOW_DAYS = 365  # dbt_project.yml's default, which the standard build uses


# ---- inputs of the reference computations ---------------------------------------------------

@pytest.fixture(scope="module")
def built(generated_build: GeneratedBuild) -> Workspace:
    return generated_build.workspace


@pytest.fixture(scope="module")
def responses(generated_build: GeneratedBuild, built: Workspace) -> pd.DataFrame:
    """Every raw feedback row, classified by the reference rules (reason None = clean)."""
    load_date = built.scalar("select load_date from intermediate.int_run_dates")
    rows = classify_feedback(read_feedback(generated_build.data), load_date)
    rows["responded_on"] = rows["responded_at"].dt.date
    return rows


@pytest.fixture(scope="module")
def clean(responses: pd.DataFrame) -> pd.DataFrame:
    rows = responses[responses["reason"].isna()].copy()
    rows["nps_score"] = rows["nps_score"].astype(int)
    return rows


@pytest.fixture(scope="module")
def registrations(generated_build: GeneratedBuild, built: Workspace) -> pd.DataFrame:
    """customers.csv (the generator writes it clean) with each customer's first purchase."""
    customers = pd.read_csv(generated_build.data / "customers.csv", dtype=str)
    customers["signed_up_on"] = parse_times(customers["signed_up_at"]).dt.date
    orders = pd.DataFrame(built.query(
        "select customer_id, ordered_on from intermediate.int_orders_netted "
        "where not is_guest and is_purchase"), columns=["customer_id", "ordered_on"])
    first = orders.groupby("customer_id")["ordered_on"].min()
    customers["first_purchase_on"] = customers["customer_id"].map(first)
    return customers.set_index("customer_id")


@pytest.fixture(scope="module")
def month_ends(built: Workspace) -> list[date]:
    return [row[0] for row in built.query(
        "select distinct month_end_on from main.customer_monthly_history order by 1")]


def prospects_at(registrations: pd.DataFrame, day: date) -> set[str]:
    """Registered, signed up on or before the day, no purchase on or before it."""
    signed = registrations["signed_up_on"].isna() | (registrations["signed_up_on"] <= day)
    first = registrations["first_purchase_on"]
    waiting = first.isna() | first.map(lambda value: pd.notna(value) and value > day)
    return set(registrations.index[signed & waiting])


def in_month(frame: pd.DataFrame, column: str, month_end: date) -> pd.DataFrame:
    return frame[(frame[column] >= month_end.replace(day=1)) & (frame[column] <= month_end)]


def nps(scores: pd.Series) -> float | None:
    if scores.empty:
        return None
    return 100.0 * (int((scores >= 9).sum()) - int((scores <= 6).sum())) / len(scores)


def close(got: object, want: float | None) -> bool:
    if want is None or got is None:
        return want is None and got is None
    return math.isclose(float(got), want, rel_tol=1e-12, abs_tol=1e-9)


# ---- staging and row accounting ---------------------------------------------------------

def test_generated_feedback_is_quarantined_as_planted(generated_build: GeneratedBuild,
                                                      built: Workspace,
                                                      responses: pd.DataFrame) -> None:
    planted = generated_build.manifest["feedback"]["quarantined_by_reason"]
    found = dict(built.query(
        "select quarantine_reason, count(*) from main.quarantined_rows "
        "where source_file = 'feedback' group by quarantine_reason"))
    assert found == {reason: count for reason, count in planted.items() if count}
    assert set(planted) == set(FEEDBACK_REASONS) and min(planted.values()) >= 1
    raw, clean_rows, quarantined = built.query(
        "select raw_rows, clean_rows, quarantined_rows from main.row_accounting "
        "where source_file = 'feedback'")[0]
    assert raw == generated_build.manifest["rows"]["feedback"]
    assert (clean_rows, quarantined) == (raw - sum(planted.values()), sum(planted.values()))
    # the same rows, row by row, as the reference reading of the rules
    staged = dict(built.query(
        "select source_row_number, coalesce(quarantine_reason, '') from staging.stg_feedback"))
    expected = dict(zip(responses["source_row_number"], responses["reason"].fillna(""),
                        strict=True))
    assert staged == expected


# ---- feedback marts ---------------------------------------------------------------------

def test_feedback_monthly_agrees_with_pandas(built: Workspace, clean: pd.DataFrame,
                                             month_ends: list[date]) -> None:
    rows = {row[0]: row[1:] for row in built.query(
        "select month_end_on, responses, respondents, promoters, passives, detractors, nps, "
        "mean_satisfaction from main.feedback_monthly")}
    assert sorted(rows) == month_ends
    assert sum(row[0] for row in rows.values()) > 100
    for month_end in month_ends:
        month = in_month(clean, "responded_on", month_end)
        scores = month["nps_score"]
        satisfaction = month["satisfaction_score"].dropna()
        got = rows[month_end]
        assert got[:5] == (len(month), month["customer_id"].nunique(), int((scores >= 9).sum()),
                           int(scores.between(7, 8).sum()), int((scores <= 6).sum())), month_end
        assert close(got[5], nps(scores)), month_end
        assert close(got[6], satisfaction.mean() if len(satisfaction) else None), month_end


def test_segment_nps_agrees_with_pandas(built: Workspace, clean: pd.DataFrame,
                                        registrations: pd.DataFrame,
                                        month_ends: list[date]) -> None:
    # the month with the most responses, and the as-of month
    busiest = max(month_ends, key=lambda end: len(in_month(clean, "responded_on", end)))
    for month_end in sorted({busiest, month_ends[-1]}):
        history = pd.DataFrame(built.query(
            "select customer_id, rfm_grid_segment_code, rfm8_segment_code "
            "from main.customer_monthly_history where month_end_on = ?", [month_end]),
            columns=["customer_id", *SCHEMES.values()]).set_index("customer_id")
        prospects = prospects_at(registrations, month_end)
        month = in_month(clean, "responded_on", month_end)
        stored = {(row[0], row[1]): row[2:] for row in built.query(
            "select scheme, segment_code, segment_customers, responses, respondents, "
            "promoters, passives, detractors, nps, mean_satisfaction, response_rate "
            "from main.segment_feedback_monthly where month_end_on = ?", [month_end])}
        expected_keys = set()
        for scheme, column in SCHEMES.items():
            members = history[column].to_dict()
            members.update(dict.fromkeys(prospects, "prospect"))
            placed = month.assign(segment=month["customer_id"].map(members)).dropna(
                subset=["segment"])
            sizes = pd.Series(list(members.values())).value_counts()
            for segment, size in sizes.items():
                expected_keys.add((scheme, segment))
                mine = placed[placed["segment"] == segment]
                scores = mine["nps_score"]
                satisfaction = mine["satisfaction_score"].dropna()
                got = stored[(scheme, segment)]
                label = (month_end, scheme, segment)
                assert got[:6] == (size, len(mine), mine["customer_id"].nunique(),
                                   int((scores >= 9).sum()), int(scores.between(7, 8).sum()),
                                   int((scores <= 6).sum())), label
                assert close(got[6], nps(scores)), label
                assert close(got[7], satisfaction.mean() if len(satisfaction) else None), label
                assert close(got[8], mine["customer_id"].nunique() / size), label
        assert set(stored) == expected_keys
        assert len(month) > 0 and "prospect" in {key[1] for key in expected_keys}


def test_customers_latest_feedback_agrees_with_pandas(built: Workspace,
                                                      clean: pd.DataFrame) -> None:
    as_of = built.scalar("select as_of_date from intermediate.int_run_dates")
    answered = clean[clean["responded_on"] <= as_of].sort_values(
        ["responded_at", "source_row_number"])
    latest = answered.groupby("customer_id").tail(1).set_index("customer_id")
    rows = built.query("select customer_id, latest_nps_score, latest_satisfaction_score, "
                       "latest_feedback_on, nps_group from main.customers")
    with_feedback = 0
    for customer, score, satisfaction, answered_on, group in rows:
        if customer not in latest.index:
            assert (score, satisfaction, answered_on, group) == (None, None, None, None)
            continue
        with_feedback += 1
        want = latest.loc[customer]
        expected_satisfaction = (None if pd.isna(want["satisfaction_score"])
                                 else int(want["satisfaction_score"]))
        expected_group = ("promoter" if want["nps_score"] >= 9
                          else "passive" if want["nps_score"] >= 7 else "detractor")
        assert (score, satisfaction, answered_on, group) == (
            want["nps_score"], expected_satisfaction, want["responded_on"], expected_group)
    assert with_feedback > 50


# ---- prospects ------------------------------------------------------------------------

def test_prospects_and_their_conversion_agree_with_pandas(built: Workspace,
                                                          registrations: pd.DataFrame) -> None:
    as_of = built.scalar("select as_of_date from intermediate.int_run_dates")
    stored = {row[0] for row in built.query("select customer_id from main.prospects")}
    assert stored == prospects_at(registrations, as_of)
    assert len(stored) > 0
    signed, first = registrations["signed_up_on"], registrations["first_purchase_on"]
    rows = built.query(
        "select month_start_on, month_end_on, prospects_at_month_start, new_signups, "
        "prospect_pool, prospects_converted, prospect_conversion_rate, prospects_at_month_end "
        "from main.monthly_kpis order by month_start_on")
    assert len(rows) >= 13
    for start, end, at_start, signups, pool, converted, rate, at_end in rows:
        before = prospects_at(registrations, start - timedelta(days=1))
        joined = registrations.index[signed.map(
            lambda day, s=start, e=end: pd.notna(day) and s <= day <= e)]
        new = {customer for customer in joined
               if pd.isna(first[customer]) or first[customer] >= signed[customer]}
        candidates = before | new
        bought = {customer for customer in candidates
                  if pd.notna(first[customer]) and start <= first[customer] <= end}
        assert (at_start, signups, pool, converted, at_end) == (
            len(before), len(joined), len(candidates), len(bought),
            len(prospects_at(registrations, end))), start
        assert close(rate, len(bought) / len(candidates) if candidates else None), start
    assert sum(row[5] for row in rows) > 100


# ---- category mix ---------------------------------------------------------------------

def test_segment_category_mix_agrees_with_pandas(built: Workspace) -> None:
    """As of the as-of date: the lines of every known customer's orders dated in the
    RFM_WINDOW_DAYS days up to it (a line takes its order's customer and date, so a return
    counts when it happens), by the customer's segment as of that date, worked out here from
    the order and line grain."""
    as_of = built.scalar("select as_of_date from intermediate.int_run_dates")
    first_day = as_of - timedelta(days=RFM_WINDOW_DAYS - 1)
    orders = pd.DataFrame(built.query(
        "select order_id, customer_id, ordered_on from intermediate.int_orders_netted "
        "where not is_guest"), columns=["order_id", "customer_id", "ordered_on"])
    orders = orders[(orders["ordered_on"] >= first_day) & (orders["ordered_on"] <= as_of)]
    lines = pd.DataFrame(built.query(
        "select order_id, category, quantity, cast(net_amount * 10000 as bigint) "
        "from intermediate.int_transaction_lines"),
        columns=["order_id", "category", "quantity", "net"])
    lines = lines.merge(orders, on="order_id", how="inner")
    lines["category"] = lines["category"].fillna("uncategorised")
    segments = pd.DataFrame(built.query(
        "select customer_id, rfm_grid_segment_code, rfm8_segment_code, "
        "cast(monetary_amount * 10000 as bigint) from main.customers"),
        columns=["customer_id", *SCHEMES.values(), "monetary"])
    lines = lines.merge(segments, on="customer_id", how="inner")
    stored = {(row[0], row[1], row[2]): row[3:] for row in built.query(
        "select scheme, segment_code, category, cast(net_revenue_amount * 10000 as bigint), "
        "net_revenue_share, customers, as_of_date from main.segment_category_mix")}
    expected = {}
    for scheme, column in SCHEMES.items():
        for segment, mine in lines.groupby(column):
            net = mine.groupby("category")["net"].sum()
            positive = net.clip(lower=0).sum()
            buyers = mine[mine["quantity"] > 0].groupby("category")["customer_id"].nunique()
            for category, amount in net.items():
                expected[(scheme, segment, category)] = (
                    int(amount), float(max(amount, 0) / positive) if positive > 0 else None,
                    int(buyers.get(category, 0)))
            # the segment's categories add up to its customers' M (net revenue of the window)
            assert net.sum() == segments.loc[segments[column] == segment, "monetary"].sum()
    assert set(stored) == set(expected)
    for key, (amount, share, buyers) in expected.items():
        got = stored[key]
        assert (got[0], got[2], got[3]) == (amount, buyers, as_of), key
        assert close(got[1], share), key
    # segments of customers who last bought months ago are there too, not only recent ones
    grid_segments = {key[1] for key in expected if key[0] == "rfm_grid"}
    assert {"champions", "at_risk"} <= grid_segments, grid_segments
    assert len({key[1] for key in expected if key[0] == "rfm8"}) >= 6


# ---- check ------------------------------------------------------------------------------

def test_check_reports_the_feedback_file(make_raw: Callable[..., Path]) -> None:
    feedback = [  # judged by hand against the contract
        {"customer_id": "C1", "responded_at": "2024-01-05 10:00", "nps_score": "9",
         "satisfaction": "5", "channel": "app", "comment": "good, fast"},
        {"customer_id": "C2", "responded_at": "2024/01/06", "nps_score": "10",
         "satisfaction": ""},
        {"customer_id": "C3", "responded_at": "not a date", "nps_score": "nine",
         "satisfaction": "good"},
        {"customer_id": "", "responded_at": "", "nps_score": "", "satisfaction": ""},
        {"customer_id": "C5", "responded_at": "20240107", "nps_score": "8.5",
         "satisfaction": "4"},
    ]
    folder = make_raw({"transactions.csv": [transaction(1)],
                       "feedback.csv": csv_text(feedback)})
    report = check_input(folder)
    assert report.usable, report.all_errors
    check = report.file("feedback")
    assert (check.status, check.rows, check.missing_optional) == ("ok", 5, [])
    stats = {stat.name: (stat.empty, stat.unparseable) for stat in check.column_stats}
    assert stats == {"customer_id": (1, None), "responded_at": (1, 1), "nps_score": (1, 2),
                     "satisfaction": (2, 1), "channel": (4, None), "comment": (4, None)}
    text = format_report(report)
    assert "feedback.csv (optional): 5 rows, 6 columns" in text
    summary = text[text.index("summary"):]
    line = next(line for line in summary.splitlines() if line.strip().startswith("feedback"))
    assert line.split()[-2:] == ["4", "ok"]
    absent = check_input(make_raw({"transactions.csv": [transaction(1)]}))
    assert "feedback (optional): absent; treated as an empty table" in format_report(absent)


def test_check_names_a_missing_required_feedback_column(make_raw: Callable[..., Path]) -> None:
    folder = make_raw({"transactions.csv": [transaction(1)],
                       "feedback.csv": "customer_id,responded_at,satisfaction\nC1,2024-01-01,4\n"})
    report = check_input(folder)
    assert not report.usable
    assert report.first_error() == "feedback.csv: missing required column nps_score"
