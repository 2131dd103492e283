"""monthly_kpis and cohort_retention against an independent pandas computation, and the
`retail-tiers kpis` command.

The pandas side starts from the order grain (int_orders_netted, the clean orders) and the clean
customers file and applies the definitions of DESIGN sec. 8 / BRIEF directly, customer by
customer, at the month ends; it shares no code with the SQL marts.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import pandas as pd
import pytest
from conftest import CliResult, GeneratedBuild, Workspace, run_cli

from retail_tiers.kpis import KPIS, format_change, format_value, parse_month

# Defaults of dbt_project.yml (the generated build uses them).
CHURN_DAYS = 180
REPEAT_WINDOW_DAYS = 365


@pytest.fixture(scope="session")
def generated(generated_build: GeneratedBuild) -> Workspace:
    return generated_build.workspace


def month_end(month_start: date) -> date:
    following = date(month_start.year + month_start.month // 12, month_start.month % 12 + 1, 1)
    return following - timedelta(days=1)


def expected_kpis(orders: pd.DataFrame, cac: dict[str, float], start: date) -> dict[str, float]:
    """Every KPI of the month starting on `start`, from the definitions."""
    end = month_end(start)
    previous_end = start - timedelta(days=1)
    in_month = orders[(orders.ordered_on >= start) & (orders.ordered_on <= end)]
    customer_orders = orders[~orders.is_guest]
    purchases = customer_orders[customer_orders.is_purchase].sort_values(
        ["customer_id", "ordered_at", "order_id"])
    first = purchases.groupby("customer_id").ordered_on.min()

    def latest(as_of: date) -> pd.Series:
        return purchases[purchases.ordered_on <= as_of].groupby("customer_id").ordered_on.max()

    def not_churned(as_of: date) -> set[str]:
        last = latest(as_of)
        return {customer for customer, day in last.items() if (as_of - day).days <= CHURN_DAYS}

    window = purchases[(purchases.ordered_on <= end)
                       & (purchases.ordered_on > end - timedelta(days=REPEAT_WINDOW_DAYS))]
    window_counts = window.groupby("customer_id").size()
    month_purchases = in_month[in_month.is_purchase]
    active = set(month_purchases[~month_purchases.is_guest].customer_id)
    new = {customer for customer in active if start <= first[customer] <= end}
    at_start, at_end = not_churned(previous_end), not_churned(end)
    churned = {customer for customer in at_start if customer not in at_end}
    seconds = purchases.groupby("customer_id").ordered_on.apply(list)
    second_gaps = [(days[1] - days[0]).days for days in seconds if len(days) > 1
                   and start <= days[1] <= end]
    lifetime_customers = set(latest(end).index)
    lifetime_orders = customer_orders[customer_orders.customer_id.isin(lifetime_customers)
                                      & (customer_orders.ordered_on <= end)]
    lifetime_cac = sum(cac.get(customer, 0.0) for customer in lifetime_customers)
    net_revenue = in_month.net_revenue.sum()
    customer_revenue = in_month[~in_month.is_guest].net_revenue.sum()
    order_count = len(month_purchases)
    gross_margin = in_month.gross_margin_amount.sum()

    def ratio(numerator: float, denominator: float) -> float | None:
        return numerator / denominator if denominator else None

    return {
        "net_revenue_amount": net_revenue,
        "customer_net_revenue_amount": customer_revenue,
        "order_count": order_count,
        "guest_order_count": int(month_purchases.is_guest.sum()),
        "aov_amount": ratio(net_revenue, order_count),
        "active_customer_count": len(active),
        "new_customer_count": len(new),
        "returning_customer_count": len(active - new),
        "revenue_per_active_customer_amount": ratio(customer_revenue, len(active)),
        "trailing_customer_count": int((window_counts >= 1).sum()),
        "trailing_repeat_customer_count": int((window_counts >= 2).sum()),
        "repeat_rate": ratio((window_counts >= 2).sum(), (window_counts >= 1).sum()),
        "not_churned_at_month_start_count": len(at_start),
        "churned_customer_count": len(churned),
        "churn_rate": ratio(len(churned), len(at_start)),
        "not_churned_at_month_end_count": len(at_end),
        "activity_rate": ratio(len(active), len(at_end)),
        "second_purchase_customer_count": len(second_gaps),
        "median_days_first_to_second_purchase": (float(pd.Series(second_gaps).median())
                                                 if second_gaps else None),
        "lifetime_customer_count": len(lifetime_customers),
        "lifetime_net_revenue_amount": lifetime_orders.net_revenue.sum(),
        "historical_clv_amount": ratio(lifetime_orders.net_revenue.sum(),
                                       len(lifetime_customers)),
        "lifetime_gross_margin_amount": lifetime_orders.gross_margin_amount.sum(),
        "acquisition_cost_amount": lifetime_cac,
        "seed_formula_clv_amount": ratio(lifetime_orders.gross_margin_amount.sum()
                                         - lifetime_cac, len(lifetime_customers)),
        "gross_margin_amount": gross_margin,
        "gross_margin_rate": ratio(gross_margin, net_revenue),
    }


def load_orders(workspace: Workspace) -> pd.DataFrame:
    rows = workspace.query(
        "select order_id, customer_id, is_guest, ordered_at, ordered_on, is_purchase, "
        "cast(net_revenue as double), cast(gross_margin_amount as double) "
        "from intermediate.int_orders_netted")
    return pd.DataFrame(rows, columns=["order_id", "customer_id", "is_guest", "ordered_at",
                                       "ordered_on", "is_purchase", "net_revenue",
                                       "gross_margin_amount"])


def load_cac(workspace: Workspace) -> dict[str, float]:
    return {customer: float(cost or 0) for customer, cost in workspace.query(
        "select customer_id, acquisition_cost from staging.stg_customers "
        "where quarantine_reason is null")}


def test_every_kpi_matches_an_independent_computation(generated: Workspace) -> None:
    orders = load_orders(generated)
    cac = load_cac(generated)
    as_of = generated.scalar("select as_of_date from intermediate.int_run_dates")
    months = [row[0] for row in generated.query(
        "select month_start_on from main.monthly_kpis order by month_start_on")]
    assert months[-1] == date(as_of.year, as_of.month, 1)
    # the as-of month and one a year earlier (both with churners, second purchases, returns)
    checked = [months[-1], months[-13]]
    orders = orders[orders.ordered_on <= as_of]
    columns = list(expected_kpis(orders, cac, checked[0]))
    for start in checked:
        expected = expected_kpis(orders, cac, start)
        actual = dict(zip(columns, generated.query(
            f"select {', '.join(columns)} from main.monthly_kpis where month_start_on = ?",
            [start])[0], strict=True))
        assert expected["churned_customer_count"] > 0 and expected["second_purchase_customer_count"]
        for column in columns:
            want, got = expected[column], actual[column]
            if want is None or got is None:
                assert want is None and got is None, (start, column, want, got)
            elif column.endswith("_count"):
                assert got == want, (start, column, want, got)
            elif column.endswith("_amount") and not column.startswith(
                    ("aov", "revenue_per", "historical", "seed")):
                assert abs(float(got) - want) < 0.005, (start, column, want, got)
            else:
                assert math.isclose(float(got), want, rel_tol=1e-9, abs_tol=1e-9), (
                    start, column, want, got)


def test_cohort_retention_matches_an_independent_computation(generated: Workspace) -> None:
    orders = load_orders(generated)
    as_of = generated.scalar("select as_of_date from intermediate.int_run_dates")
    customer_orders = orders[~orders.is_guest & (orders.ordered_on <= as_of)].copy()
    customer_orders["month"] = customer_orders.ordered_on.map(lambda day: (day.year, day.month))
    first = customer_orders[customer_orders.is_purchase].groupby("customer_id").month.min()
    cohorts = sorted(set(first))
    for cohort in (cohorts[0], cohorts[len(cohorts) // 2]):
        members = set(first[first == cohort].index)
        mine = customer_orders[customer_orders.customer_id.isin(members)]
        cumulative = 0.0
        rows = generated.query(
            "select months_since_first_purchase, cohort_customer_count, active_customer_count, "
            "retention_rate, cumulative_revenue_per_customer_amount from main.cohort_retention "
            "where cohort_month_start_on = ? order by months_since_first_purchase",
            [date(cohort[0], cohort[1], 1)])
        for k, size, active, retention, revenue_per_customer in rows:
            month_index = cohort[0] * 12 + cohort[1] - 1 + k
            month = (month_index // 12, month_index % 12 + 1)
            in_month = mine[mine.month == month] if k else mine[mine.month <= month]
            buyers = set(in_month[in_month.is_purchase & (in_month.month == month)].customer_id)
            cumulative += in_month.net_revenue.sum()
            assert size == len(members)
            assert active == len(buyers)
            assert math.isclose(retention, len(buyers) / len(members), abs_tol=1e-12)
            assert math.isclose(revenue_per_customer, cumulative / len(members), abs_tol=1e-9)
        assert rows[0][3] == 1.0
        assert len(rows) == (as_of.year * 12 + as_of.month) - (cohort[0] * 12 + cohort[1]) + 1


# ---- the command --------------------------------------------------------------------------

def kpi_row(workspace: Workspace, month: date) -> dict[str, object]:
    columns = [kpi.column for kpi in KPIS]
    values = workspace.query(f"select {', '.join(columns)} from main.monthly_kpis "
                             "where month_start_on = ?", [month])[0]
    return dict(zip(columns, values, strict=True))


def test_kpis_prints_the_as_of_month_and_its_change(demo_workspace: Workspace) -> None:
    months = [row[0] for row in demo_workspace.query(
        "select month_start_on from main.monthly_kpis order by month_start_on")]
    result = run_cli(["kpis"], demo_workspace)
    assert result.exit_code == 0, result.stderr
    current, previous = kpi_row(demo_workspace, months[-1]), kpi_row(demo_workspace, months[-2])
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"KPIs for {months[-1]:%Y-%m}, as of ")
    assert f"change against {months[-2]:%Y-%m}" in lines[0]
    for kpi in KPIS:
        line = next(line for line in lines if line.startswith(kpi.label + " "))
        cells = line[len(kpi.label):].split()
        now, before = current[kpi.column], previous[kpi.column]
        assert cells[0] == format_value(now, kpi.kind), line
        assert cells[1] == format_value(before, kpi.kind), line
        assert " ".join(cells[2:]) == format_change(now, before, kpi.kind), line


def test_kpis_for_a_chosen_month(demo_workspace: Workspace) -> None:
    months = [row[0] for row in demo_workspace.query(
        "select month_start_on from main.monthly_kpis order by month_start_on")]
    result = run_cli(["kpis", "--month", f"{months[0]:%Y-%m}"], demo_workspace)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"KPIs for {months[0]:%Y-%m}, as of ")
    assert "no previous month" in result.stdout.splitlines()[0]


def test_kpis_unknown_month_lists_the_months(demo_workspace: Workspace) -> None:
    months = [f"{row[0]:%Y-%m}" for row in demo_workspace.query(
        "select month_start_on from main.monthly_kpis order by month_start_on")]
    result = run_cli(["kpis", "--month", "1999-01"], demo_workspace, in_process=False)
    assert result.exit_code == 1
    assert result.error == ("error: --month 1999-01: not in the warehouse; available months: "
                            + ", ".join(months))
    assert result.stdout == ""


@pytest.mark.parametrize("month", ["2024-13", "2024-1", "March", "2024-03-01"])
def test_kpis_bad_month_is_one_line(demo_workspace: Workspace, month: str) -> None:
    result: CliResult = run_cli(["kpis", "--month", month], demo_workspace)
    assert result.exit_code == 1
    assert result.error == f"error: --month {month}: expected a month as YYYY-MM, e.g. 2024-03"


def test_kpis_without_warehouse_is_one_line(workspace: Workspace) -> None:
    result = run_cli(["kpis"], workspace)
    assert result.exit_code == 1
    assert result.error.startswith(f"error: no warehouse at {workspace.warehouse}")


def test_parse_month() -> None:
    assert parse_month("2024-02") == date(2024, 2, 1)
    assert parse_month(" 1999-12 ") == date(1999, 12, 1)


@pytest.mark.parametrize(("current", "previous", "kind", "text"), [
    (110, 100, "amount", "+10.0%"),
    (90, 120, "count", "-25.0%"),
    (5, 0, "count", "-"),
    (0.35, 0.3, "rate", "+5.0 pp"),
    (0.25, None, "rate", "-"),
    (12.5, 15, "days", "-2.5 days"),
])
def test_format_change(current: float, previous: float | None, kind: str, text: str) -> None:
    assert format_change(current, previous, kind) == text


def test_format_value() -> None:
    assert format_value(1234567.891, "amount") == "1,234,567.89"
    assert format_value(1234, "count") == "1,234"
    assert format_value(0.4567, "rate") == "45.7%"
    assert format_value(None, "rate") == "-"
