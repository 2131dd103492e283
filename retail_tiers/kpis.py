"""`retail-tiers kpis`: one month's KPIs from the monthly_kpis mart, with month-over-month change.

Read-only: every figure comes from the mart; this module only picks two rows and formats them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from retail_tiers.errors import RetailTiersError
from retail_tiers.warehouse import build_notice, connect, require_tables

MONTH_PATTERN = re.compile(r"(\d{4})-(\d{2})")


@dataclass(frozen=True)
class Kpi:
    """One line of the table: a label and the monthly_kpis column it shows."""

    label: str
    column: str
    kind: str  # amount | count | rate | days


KPIS: tuple[Kpi, ...] = (
    Kpi("Net revenue 净收入", "net_revenue_amount", "amount"),
    Kpi("Orders (guests included) 订单数", "order_count", "count"),
    Kpi("AOV, revenue per order 客单价", "aov_amount", "amount"),
    Kpi("Active customers 活跃客户", "active_customer_count", "count"),
    Kpi("New customers 新客户", "new_customer_count", "count"),
    Kpi("Returning customers 老客户", "returning_customer_count", "count"),
    Kpi("Revenue per active customer 人均收入", "revenue_per_active_customer_amount", "amount"),
    Kpi("Repeat rate, trailing window 复购率", "repeat_rate", "rate"),
    Kpi("Churned customers 流失客户", "churned_customer_count", "count"),
    Kpi("Churn rate 流失率", "churn_rate", "rate"),
    Kpi("Activity rate 活跃度", "activity_rate", "rate"),
    Kpi("Median days first to second order 首购到复购天数", "median_days_first_to_second_purchase",
        "days"),
    Kpi("Historical CLV 历史客户价值", "historical_clv_amount", "amount"),
    Kpi("Seed-formula CLV 公式客户价值", "seed_formula_clv_amount", "amount"),
    Kpi("Gross margin 毛利", "gross_margin_amount", "amount"),
    Kpi("Gross margin rate 毛利率", "gross_margin_rate", "rate"),
)


@dataclass(frozen=True)
class MonthKpis:
    """The chosen month's row and the previous month's row (None for the first month)."""

    month: date
    month_end_on: date
    is_complete_month: bool
    current: dict[str, Any]
    previous: dict[str, Any] | None


def parse_month(text: str) -> date:
    """'2024-03' -> date(2024, 3, 1); anything else is a one-line RetailTiersError."""
    match = MONTH_PATTERN.fullmatch(text.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise RetailTiersError(f"--month {text}: expected a month as YYYY-MM, e.g. 2024-03")
    return date(int(match.group(1)), int(match.group(2)), 1)


def load_month_kpis(con: duckdb.DuckDBPyConnection, month: str | None) -> MonthKpis:
    """The rows of `month` (YYYY-MM; default the latest = the as-of month) and the month before."""
    columns = ["month_start_on", "month_end_on", "is_complete_month"] + [k.column for k in KPIS]
    cursor = con.execute(
        f"select {', '.join(columns)} from main.monthly_kpis order by month_start_on"
    )
    rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    if not rows:
        raise RetailTiersError("monthly_kpis: no months (the data has no clean order on or before "
                               "the as-of date)")
    by_month = {row["month_start_on"]: index for index, row in enumerate(rows)}
    wanted = parse_month(month) if month else rows[-1]["month_start_on"]
    if wanted not in by_month:
        available = ", ".join(f"{row['month_start_on']:%Y-%m}" for row in rows)
        raise RetailTiersError(f"--month {wanted:%Y-%m}: not in the warehouse; "
                               f"available months: {available}")
    index = by_month[wanted]
    current = rows[index]
    return MonthKpis(
        month=wanted,
        month_end_on=current["month_end_on"],
        is_complete_month=bool(current["is_complete_month"]),
        current=current,
        previous=rows[index - 1] if index > 0 else None,
    )


def format_value(value: Any, kind: str) -> str:
    """A KPI value for the table: amounts with 2 decimals, counts whole, rates in percent."""
    if value is None:
        return "-"
    if kind == "amount":
        return f"{float(value):,.2f}"
    if kind == "count":
        return f"{int(value):,}"
    if kind == "rate":
        return f"{float(value):.1%}"
    return f"{float(value):,.1f}"


def format_change(current: Any, previous: Any, kind: str) -> str:
    """Month-over-month change: percentage points for rates, days for days, else percent."""
    if current is None or previous is None:
        return "-"
    difference = float(current) - float(previous)
    if kind == "rate":
        return f"{difference * 100:+.1f} pp"
    if kind == "days":
        return f"{difference:+.1f} days"
    if float(previous) == 0:
        return "-"
    return f"{difference / abs(float(previous)):+.1%}"


def display_width(text: str) -> int:
    """Terminal columns taken by `text` (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def pad(text: str, width: int, right: bool = False) -> str:
    fill = " " * max(width - display_width(text), 0)
    return fill + text if right else text + fill


def format_kpis(kpis: MonthKpis) -> str:
    """The table printed by `retail-tiers kpis`."""
    month = f"{kpis.month:%Y-%m}"
    previous = f"{kpis.previous['month_start_on']:%Y-%m}" if kpis.previous else "previous"
    title = f"KPIs for {month}, as of {kpis.month_end_on:%Y-%m-%d}"
    if not kpis.is_complete_month:
        title += " (part of the month)"
    title += f"; change against {previous}" if kpis.previous else "; no previous month"
    header = ("KPI", month, previous, "change")
    lines = [header]
    for kpi in KPIS:
        now = kpis.current[kpi.column]
        before = kpis.previous[kpi.column] if kpis.previous else None
        lines.append((kpi.label, format_value(now, kpi.kind), format_value(before, kpi.kind),
                      format_change(now, before, kpi.kind)))
    widths = [max(display_width(line[i]) for line in lines) for i in range(len(header))]
    table = [
        "  ".join([pad(line[0], widths[0])]
                  + [pad(cell, width, right=True) for cell, width in zip(line[1:], widths[1:],
                                                                         strict=True)])
        for line in lines
    ]
    table.insert(1, "  ".join("-" * width for width in widths))
    notes = [
        "AOV = net revenue / orders (guest orders included).",
        "Revenue per active customer = customers' net revenue / active customers.",
        "Change: percent for amounts and counts, percentage points (pp) for rates.",
    ]
    return "\n".join([title, "", *table, "", *notes])


def show_kpis(warehouse: Path, month: str | None = None) -> str:
    """Open the warehouse read-only and return the formatted KPI table of `month`."""
    con = connect(warehouse, read_only=True)
    try:
        require_tables(con, warehouse, ["monthly_kpis"])
        table = format_kpis(load_month_kpis(con, month))
        notice = build_notice(con, warehouse)
        return f"note: {notice}\n{table}" if notice else table
    finally:
        con.close()
