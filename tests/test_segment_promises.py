"""Segments keep the promises their names make, on the demo warehouse.

The dbt data tests (macros/segment_invariants.sql) hold the same rules inside every build; these
tests ask the demo warehouse the questions a retail manager would, with queries of their own:
who is churned but sits in an active-named segment, whether New holds exactly the customers
whose first and only purchase is recent (counted here from the netted orders, not from the
marts' columns), whether every default segment has customers, and whether Champions stay
Champions from month to month unless they stop buying. The words the report prints for rules
and scoring methods are checked against hand-written sentences.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from conftest import PROJECT_DIR, Workspace

from reports import rules_text
from reports.i18n import Messages

RULES_CSV = PROJECT_DIR / "seeds" / "segment_rules.csv"
ACTIVE_NAMED = {  # segments whose name promises a customer who still buys (the list)
    "rfm_grid": {"champions", "loyal", "potential_loyalist", "new", "promising"},
    "rfm8": {"important_value", "important_develop", "general_value", "general_develop"},
}
CHURN_DAYS = 180
NEW_CUSTOMER_DAYS = 30


def default_segments(path: Path) -> dict[str, set[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    schemes: dict[str, set[str]] = {}
    for row in rows:
        schemes.setdefault(row["scheme"], set()).add(row["segment_code"])
    return schemes


def test_the_seed_marks_exactly_the_active_named_segments() -> None:
    with RULES_CSV.open(encoding="utf-8", newline="") as handle:
        marked: dict[str, set[str]] = {}
        for row in csv.DictReader(handle):
            if row["promises_activity"] == "true":
                marked.setdefault(row["scheme"], set()).add(row["segment_code"])
    assert marked == ACTIVE_NAMED


def test_no_churned_customer_sits_in_an_active_named_segment(demo_workspace: Workspace) -> None:
    for scheme, column in (("rfm_grid", "rfm_grid_segment_code"), ("rfm8", "rfm8_segment_code")):
        rows = demo_workspace.query(
            f"select {column}, count(*) from main.customer_monthly_history "
            f"where days_since_last_order > {CHURN_DAYS} group by all")
        churned_in = {code: count for code, count in rows if code in ACTIVE_NAMED[scheme]}
        assert churned_in == {}, f"{scheme}: churned customers in {churned_in}"
        # and the lifecycle stage agrees: churned customers are in lapsed segments only
        stages = demo_workspace.query(
            f"select distinct {column} from main.customers where lifecycle_stage = 'churned'")
        assert {code for (code,) in stages}.isdisjoint(ACTIVE_NAMED[scheme])
        assert rows, "the demo has churned customers to check"


def test_new_holds_exactly_the_customers_whose_first_and_only_purchase_is_recent(
        demo_workspace: Workspace) -> None:
    as_of = demo_workspace.scalar("select as_of_date from intermediate.int_run_dates")
    # independent: from the netted orders, customers with exactly one purchase up to the as-of
    # date, made at most NEW_CUSTOMER_DAYS days before it
    expected = {customer for (customer,) in demo_workspace.query(
        "select customer_id from intermediate.int_orders_netted "
        "where is_purchase and not is_guest and ordered_on <= ? "
        "group by customer_id having count(*) = 1 and max(ordered_on) >= ?",
        [as_of, as_of - dt.timedelta(days=NEW_CUSTOMER_DAYS)])}
    in_new = {customer for (customer,) in demo_workspace.query(
        "select customer_id from main.customers where rfm_grid_segment_code = 'new'")}
    assert len(expected) > 50
    assert in_new == expected
    develop = demo_workspace.query(
        "select distinct rfm8_segment_code from main.customers where rfm_grid_segment_code = 'new'")
    assert {code for (code,) in develop} <= {"important_develop", "general_develop"}


def test_every_default_segment_has_customers_at_the_as_of_date(
        demo_workspace: Workspace) -> None:
    segments = default_segments(RULES_CSV)
    for scheme, column in (("rfm_grid", "rfm_grid_segment_code"), ("rfm8", "rfm8_segment_code")):
        counts = dict(demo_workspace.query(
            f"select {column}, count(*) from main.customers group by all"))
        assert set(counts) == segments[scheme], scheme
        assert min(counts.values()) > 0


def test_champions_stay_champions_unless_they_stop_buying(demo_workspace: Workspace) -> None:
    rows = demo_workspace.query(
        "select month_end_on, "
        "count(*) filter (where previous_segment_code = 'champions') as before, "
        "count(*) filter (where previous_segment_code = 'champions' "
        "    and segment_code = 'champions') as kept, "
        "count(*) filter (where previous_segment_code = 'champions' and month_orders > 0) "
        "    as bought, "
        "count(*) filter (where previous_segment_code = 'champions' and month_orders > 0 "
        "    and segment_code = 'champions') as bought_and_kept "
        "from main.customer_monthly_history group by month_end_on having before > 0")
    assert len(rows) >= 11
    for month_end, before, kept, bought, bought_and_kept in rows:
        assert kept / before > 0.5, f"{month_end}: Champions kept {kept} of {before}"
        assert bought_and_kept >= 0.95 * bought, f"{month_end}: buyers left Champions"


def test_champions_who_leave_without_buying_aged_past_a_boundary(
        demo_workspace: Workspace) -> None:
    reasons = dict(demo_workspace.query(
        "select segment_change_reason, count(*) from main.customer_monthly_history "
        "where previous_segment_code = 'champions' and segment_code <> 'champions' "
        "and month_orders = 0 group by all"))
    assert reasons.get("aged", 0) > 0
    assert reasons.get("aged", 0) >= 0.95 * sum(reasons.values()), reasons


def test_migration_counts_moves_by_reason_and_direction(demo_workspace: Workspace) -> None:
    month_end = demo_workspace.scalar("select max(month_end_on) from main.segment_migration")
    moved = dict(demo_workspace.query(
        "select segment_change_reason, count(*) from main.customer_monthly_history "
        "where month_end_on = ? and previous_segment_code is not null "
        "and previous_segment_code <> segment_code group by all", [month_end]))
    totals = demo_workspace.query(
        "select sum(bought_customer_count), sum(aged_customer_count), "
        "sum(rescored_customer_count) from main.segment_migration "
        "where month_end_on = ? and scheme = 'rfm_grid' "
        "and move_direction in ('upgrade', 'downgrade', 'lateral')", [month_end])[0]
    assert list(totals) == [moved.get(reason, 0) for reason in ("bought", "aged", "rescored")]
    directions = dict(demo_workspace.query(
        "select move_direction, sum(customer_count) from main.segment_migration "
        "where month_end_on = ? and scheme = 'rfm_grid' and from_segment_code = 'champions' "
        "and to_segment_code in ('loyal', 'lost') group by all", [month_end]))
    assert set(directions) == {"downgrade"}


# ---- the report's words ------------------------------------------------------------------

BANDS = [
    {"dimension": "r", "score": 5, "min_value": None, "max_value": 60},
    {"dimension": "r", "score": 4, "min_value": 60, "max_value": 120},
    {"dimension": "r", "score": 3, "min_value": 120, "max_value": 180},
    {"dimension": "r", "score": 2, "min_value": 180, "max_value": 365},
    {"dimension": "r", "score": 1, "min_value": 365, "max_value": None},
    {"dimension": "f", "score": 1, "min_value": None, "max_value": 2},
    {"dimension": "f", "score": 2, "min_value": 2, "max_value": 3},
    {"dimension": "f", "score": 3, "min_value": 3, "max_value": 4},
    {"dimension": "f", "score": 4, "min_value": 4, "max_value": 6},
    {"dimension": "f", "score": 5, "min_value": 6, "max_value": None},
]
VARIABLES = {"r_score_method": "thresholds", "f_score_method": "thresholds",
             "m_score_method": "quantile", "new_customer_days": 30}


def test_rules_in_words_give_the_days_of_the_recency_bands() -> None:
    t = Messages("en")
    cant_lose = {"segment_code": "cant_lose_them", "r_score_min": 1, "r_score_max": 2,
                 "fm_score_min": 5, "fm_score_max": 5}
    loyal = {"segment_code": "loyal", "r_score_min": 3, "r_score_max": 4,
             "fm_score_min": 4, "fm_score_max": 5}
    new = {"segment_code": "new", "is_new_customer": True}
    assert rules_text.rule_text(cant_lose, BANDS, VARIABLES, t) == "R 1–2 (180+ days), FM 5"
    assert rules_text.rule_text(loyal, BANDS, VARIABLES, t) == "R 3–4 (60–179 days), FM 4–5"
    assert rules_text.rule_text(new, BANDS, VARIABLES, t) == (
        "first and only purchase at most 30 days ago")
    quantile = {**VARIABLES, "r_score_method": "quantile"}
    assert rules_text.rule_text(loyal, BANDS, quantile, t) == "R 3–4, FM 4–5"
    texts = rules_text.segment_rule_texts([loyal, {**loyal, "r_score_min": 5, "r_score_max": 5,
                                                   "fm_score_min": 5, "fm_score_max": 5}],
                                          BANDS, VARIABLES, t)
    assert texts == {"loyal": "R 3–4 (60–179 days), FM 4–5 or R 5 (0–59 days), FM 5"}


def test_scoring_sentence_names_each_dimensions_method() -> None:
    t = Messages("en")
    text = rules_text.scoring_text(VARIABLES, BANDS, t, lambda value: f"¥{value}")
    assert "R by days since the last purchase in fixed bands (5 = 0–59, 4 = 60–119, " \
           "3 = 120–179, 2 = 180–364, 1 = 365+ days)" in text
    assert "F by orders in the window in fixed bands (5 = 6+, 4 = 4–5, 3 = 3, 2 = 2, " \
           "1 = 0–1 orders)" in text
    assert "M by quantile" in text
    zh = rules_text.scoring_text(VARIABLES, BANDS, Messages("zh"), lambda value: value)
    assert "5 = 0–59、4 = 60–119" in zh
