"""`retail-tiers alerts` and the report's summary share one notable-change list.

The rule itself (more than 2 x the median absolute change of the 12 months before) has a dbt
unit test with hand-worked series (report_kpi_changes.yml); here: the ranking on hand-written
rows, a second computation of the rule from monthly_kpis on the demo warehouse, the command's
lines, JSON and documented exit codes, and that the report's headline leads with the same
changes.
"""

from __future__ import annotations

import csv
import itertools
import json
import shutil
import statistics
from pathlib import Path

import duckdb
from conftest import Workspace, run_cli

from retail_tiers.alerts import EXIT_DATA_CHECKS, EXIT_NOTHING, EXIT_WORSE, notable_changes

RATE_KPIS = ("repeat_rate", "churn_rate", "activity_rate")


def test_notable_changes_are_ranked_by_how_unusual_they_are() -> None:
    rows = [
        {"kpi_code": "a", "kpi_order": 1, "is_notable": True, "change_to_typical_ratio": 2.5},
        {"kpi_code": "b", "kpi_order": 2, "is_notable": False, "change_to_typical_ratio": 9.0},
        {"kpi_code": "c", "kpi_order": 3, "is_notable": True, "change_to_typical_ratio": 4.0},
        {"kpi_code": "d", "kpi_order": 4, "is_notable": True, "change_to_typical_ratio": None},
        {"kpi_code": "e", "kpi_order": 5, "is_notable": None, "change_to_typical_ratio": None},
        {"kpi_code": "f", "kpi_order": 0, "is_notable": True, "change_to_typical_ratio": 2.5},
    ]
    # d never moved before (no ratio): most unusual; a and f tie and keep KPI order
    assert [row["kpi_code"] for row in notable_changes(rows)] == ["d", "c", "f", "a"]


def second_computation(workspace: Workspace, kpi: str, month: str) -> bool | None:
    """The rule again, from monthly_kpis in plain Python: is `kpi`'s change in `month` notable?"""
    values = [value for _, value in workspace.query(
        f"select month_start_on, {kpi} from main.monthly_kpis "
        "where month_start_on <= cast(? as date) order by month_start_on", [f"{month}-01"])]
    changes = [None] + [None if a is None or b is None else float(b) - float(a)
                        for a, b in itertools.pairwise(values)]
    prior = [abs(change) for change in changes[-13:-1] if change is not None]
    if changes[-1] is None or len(prior) < 6:
        return None
    typical = statistics.median(prior)
    return changes[-1] != 0 if typical == 0 else abs(changes[-1]) > 2 * typical


def test_the_marts_rule_matches_a_second_computation(demo_workspace: Workspace) -> None:
    rows = demo_workspace.query(
        "select kpi_code, strftime(month_start_on, '%Y-%m'), is_notable "
        "from main.report_kpi_changes where month_start_on >= "
        "(select max(month_start_on) - interval 5 month from main.monthly_kpis)")
    assert rows
    checked = 0
    for kpi, month, is_notable in rows:
        expected = second_computation(demo_workspace, kpi, month)
        assert is_notable == expected, (kpi, month)
        checked += expected is not None
    assert checked > 30
    assert any(is_notable for _, _, is_notable in rows), "the demo has notable changes"


def test_alerts_print_the_notable_changes_watchlist_and_checks(
        demo_workspace: Workspace) -> None:
    result = run_cli(["alerts"], demo_workspace)
    notable = demo_workspace.query(
        "select kpi_code, is_improvement from main.report_kpi_changes "
        "where is_notable and month_start_on = (select max(month_start_on) "
        "from main.report_kpi_changes)")
    watchlist = demo_workspace.scalar("select count(*) from main.churn_watchlist")
    assert notable, "the demo's as-of month has notable changes"
    for kpi, _ in notable:
        assert kpi in result.stdout
    assert f"churn watchlist as of 2026-10-31: {watchlist:,} customers" in result.stdout
    assert "data checks: all passed" in result.stdout
    worse = any(improvement is False for _, improvement in notable)
    assert result.exit_code == (EXIT_WORSE if worse else EXIT_NOTHING), result.stdout

    as_json = run_cli(["alerts", "--json"], demo_workspace)
    payload = json.loads(as_json.stdout)
    assert payload["exit_code"] == result.exit_code == as_json.exit_code
    assert sorted(row["kpi_code"] for row in payload["notable"]) == sorted(k for k, _ in notable)
    assert payload["watchlist_customers"] == watchlist


def test_failed_data_checks_take_precedence(demo_workspace: Workspace, tmp_path: Path) -> None:
    copy = Workspace(tmp_path / "copy")
    copy.warehouse.parent.mkdir(parents=True)
    shutil.copy2(demo_workspace.warehouse, copy.warehouse)
    con = duckdb.connect(str(copy.warehouse))
    con.execute("update main.build_results set status = 'fail', failures = 3 "
                "where unique_id = (select min(unique_id) from main.build_results "
                "where resource_type = 'test')")
    con.close()
    result = run_cli(["alerts"], copy)
    assert result.exit_code == EXIT_DATA_CHECKS
    assert "data checks failed in the last build: 1" in result.stdout


def test_a_month_outside_the_history_is_one_line(demo_workspace: Workspace) -> None:
    result = run_cli(["alerts", "--month", "2001-01"], demo_workspace)
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0
    assert "--month 2001-01: before the report history" in result.stderr


def test_the_report_headline_leads_with_the_same_changes(demo_workspace: Workspace,
                                                         tmp_path: Path) -> None:
    result = run_cli(["report", "--format", "html", "--out", str(tmp_path)], demo_workspace)
    assert result.exit_code == 0, result.stdout + result.stderr
    html = next(tmp_path.glob("*.html")).read_text(encoding="utf-8")
    headline = html.split('<p class="headline">', 1)[1].split("</p>", 1)[0]
    payload = json.loads(run_cli(["alerts", "--json"], demo_workspace).stdout)
    names = {"repeat_rate": "Repeat rate", "returning_customer_count": "Returning customers",
             "churn_rate": "Churn rate", "net_revenue_amount": "Net revenue",
             "aov_amount": "Average order value", "order_count": "Orders"}
    first = payload["notable"][0]["kpi_code"]
    assert headline.startswith(names[first]), headline


# ---- this month's actions ----------------------------------------------------------------

def test_export_left_writes_exactly_the_customers_who_left(demo_workspace: Workspace,
                                                           tmp_path: Path) -> None:
    segment = demo_workspace.scalar(
        "select segment_code from main.report_actions where action_code = 'win_back_leavers'")
    assert segment, "the demo has a segment with a net outflow"
    expected = {customer for (customer,) in demo_workspace.query(
        "select customer_id from main.customer_monthly_history where month_end_on = "
        "(select max(month_end_on) from main.customer_monthly_history) "
        "and previous_segment_code = ? and segment_code <> ?", [segment, segment])}
    out = tmp_path / "left.csv"
    result = run_cli(["export", "--left", segment, "--out", str(out)], demo_workspace)
    assert result.exit_code == 0, result.stderr
    with out.open(encoding="utf-8-sig") as handle:
        written = {row["customer_id"] for row in csv.DictReader(handle)}
    assert written == expected
    count = demo_workspace.scalar(
        "select customer_count from main.report_actions where action_code = 'win_back_leavers'")
    assert count == len(expected)
    both = run_cli(["export", "--left", segment, "--segment", "new", "--out", str(out)],
                   demo_workspace)
    assert both.exit_code == 1 and "either --segment NAME or --left NAME" in both.stderr


def test_actions_page_lists_the_marts_actions_with_their_commands(
        demo_workspace: Workspace, tmp_path: Path) -> None:
    result = run_cli(["report", "--format", "html", "--out", str(tmp_path)], demo_workspace)
    assert result.exit_code == 0, result.stderr
    html = next(tmp_path.glob("*.html")).read_text(encoding="utf-8")
    section = html[html.index('id="actions"'):]
    section = section[:section.index("</section>")]
    actions = demo_workspace.query(
        "select action_code, customer_count, value_amount, export_arguments "
        "from main.report_actions order by action_rank")
    assert {code for code, *_ in actions} >= {"contact_watchlist", "onboard_new_buyers"}
    position = 0
    for _, customers, value, arguments in actions:
        found = section.index(f"¥{round(value):,}", position)  # ranked by money, in order
        assert f"{customers:,}" in section
        if arguments:
            assert f"retail-tiers export {arguments}" in section
        position = found
    watchlist = demo_workspace.query(
        "select count(*), sum(value_at_risk_amount) from main.churn_watchlist")[0]
    assert (watchlist[0], round(watchlist[1], 6)) == next(
        (customers, round(value, 6)) for code, customers, value, _ in actions
        if code == "contact_watchlist")
