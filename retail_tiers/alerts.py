"""`retail-tiers alerts` (预警): what to act on in a month, for a scheduler or a chat bot.

One implementation for the command and the report: `notable_changes` picks and ranks the
month's notable KPI changes (report_kpi_changes.is_notable: more than twice the KPI's usual
month-to-month change), and the report's summary leads with the same list.

Exit codes (documented in the README and `retail-tiers alerts --help`):
    0  nothing to act on: no notable change for the worse, every data check passed
    3  a notable change for the worse (a KPI moved the bad way beyond its usual variation)
    4  the last build's data checks failed (takes precedence: fix the data first)
    1  the alerts could not be read (no warehouse, unknown month, ...): one line on stderr
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reports.data import available_months, pick_month
from retail_tiers.warehouse import connect, require_tables

if TYPE_CHECKING:  # annotations only: the connection comes from retail_tiers.warehouse
    import duckdb

EXIT_NOTHING = 0
EXIT_WORSE = 3
EXIT_DATA_CHECKS = 4
Row = dict[str, Any]
TABLES = ["report_kpi_changes", "churn_watchlist", "build_results", "report_months"]
FAILED_STATUSES = ("fail", "error", "runtime error")


def notable_changes(rows: Iterable[Row]) -> list[Row]:
    """The KPI rows whose change is notable, the most unusual first (a change of a KPI that
    never moved before has no ratio and counts as the most unusual); ties keep KPI order."""
    notable = [row for row in rows if row.get("is_notable")]

    def unusualness(row: Row) -> float:
        ratio = row.get("change_to_typical_ratio")
        return math.inf if ratio is None else float(ratio)

    return sorted(notable, key=lambda row: (-unusualness(row), row.get("kpi_order") or 0))


@dataclass(frozen=True)
class MonthAlerts:
    month: dt.date
    month_end_on: dt.date
    notable: list[Row]
    watchlist_as_of: dt.date | None
    watchlist_customers: int
    value_at_risk_amount: float
    failed_checks: list[Row] = field(default_factory=list)

    @property
    def worse(self) -> list[Row]:
        return [row for row in self.notable if row.get("is_improvement") is False]

    @property
    def exit_code(self) -> int:
        if self.failed_checks:
            return EXIT_DATA_CHECKS
        return EXIT_WORSE if self.worse else EXIT_NOTHING


def _rows(con: duckdb.DuckDBPyConnection, sql: str, parameters: list[Any] | None = None
          ) -> list[Row]:
    cursor = con.execute(sql, parameters or [])
    columns = [column[0] for column in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def load_alerts(con: duckdb.DuckDBPyConnection, month: str | None) -> MonthAlerts:
    # the month as the report picks it (same default, same one-line errors)
    chosen = pick_month(available_months(con), month)
    changes = _rows(con, """
        select kpi_code, kpi_order, value_kind, value, previous_value, change_amount,
               change_rate, typical_change_amount, change_to_typical_ratio, is_notable,
               is_improvement, trailing_extreme, year_ago_value, year_over_year_change_amount
        from main.report_kpi_changes
        where month_start_on = ?
        order by kpi_order
    """, [chosen.month_start_on])
    watchlist = _rows(con, """
        select count(*) as customers, coalesce(sum(value_at_risk_amount), 0) as value_at_risk,
               max(as_of_date) as as_of_date
        from main.churn_watchlist
    """)[0]
    failed = _rows(con, f"""
        select resource_type, name, status, failures
        from main.build_results
        where status in ({", ".join(f"'{status}'" for status in FAILED_STATUSES)})
        order by name
    """)
    return MonthAlerts(
        month=chosen.month_start_on,
        month_end_on=chosen.month_end_on,
        notable=notable_changes(changes),
        watchlist_as_of=watchlist["as_of_date"],
        watchlist_customers=int(watchlist["customers"]),
        value_at_risk_amount=float(watchlist["value_at_risk"]),
        failed_checks=failed,
    )


def read_alerts(warehouse: Path, month: str | None) -> MonthAlerts:
    con = connect(warehouse)
    try:
        require_tables(con, warehouse, TABLES)
        return load_alerts(con, month)
    finally:
        con.close()


def change_text(row: Row) -> str:
    """'+12.3%' / '−1.6 pp' / '+3.5 days': how the KPI moved this month."""
    amount = row["change_amount"]
    if row["value_kind"] == "rate":
        return f"{amount * 100:+.1f} pp".replace("-", "\u2212")
    if row["value_kind"] == "days":
        return f"{amount:+.1f} days".replace("-", "\u2212")
    if row.get("change_rate") is not None:
        return f"{row['change_rate'] * 100:+.1f}%".replace("-", "\u2212")
    decimals = 2 if row["value_kind"] == "money" else (0 if float(amount).is_integer() else 1)
    return f"{amount:+,.{decimals}f}".replace("-", "\u2212")


def format_alerts(alerts: MonthAlerts) -> list[str]:
    """The lines `retail-tiers alerts` prints."""
    lines = [f"alerts for {alerts.month:%Y-%m} (month end {alerts.month_end_on:%Y-%m-%d})"]
    if alerts.notable:
        lines.append(f"notable changes ({len(alerts.notable)}; beyond 2x the usual monthly "
                     "change of the last 12 months):")
        for row in alerts.notable:
            judgement = {True: "better", False: "WORSE"}.get(row.get("is_improvement"), "")
            extreme = (f", a 13-month {row['trailing_extreme']}"
                       if row.get("trailing_extreme") else "")
            typical = row.get("typical_change_amount")
            usual = (f"usual {change_text({**row, 'change_amount': typical, 'change_rate': None})}"
                     .replace("+", "±") if typical else "never moved before")
            lines.append(f"  {judgement:<6} {row['kpi_code']}: {change_text(row)} "
                         f"({usual}{extreme})")
    else:
        lines.append("notable changes: none (every KPI moved within its usual variation)")
    as_of = f" as of {alerts.watchlist_as_of:%Y-%m-%d}" if alerts.watchlist_as_of else ""
    lines.append(f"churn watchlist{as_of}: {alerts.watchlist_customers:,} customers, "
                 f"{alerts.value_at_risk_amount:,.2f} predicted value at risk "
                 "(retail-tiers export --segment watchlist --out watchlist.csv)")
    if alerts.failed_checks:
        lines.append(f"data checks failed in the last build: {len(alerts.failed_checks)}")
        lines.extend(f"  {row['status']} {row['name']}" for row in alerts.failed_checks[:10])
    else:
        lines.append("data checks: all passed in the last build")
    lines.append(f"exit code {alerts.exit_code}: " + {
        EXIT_NOTHING: "nothing to act on",
        EXIT_WORSE: "a notable change for the worse",
        EXIT_DATA_CHECKS: "data checks failed",
    }[alerts.exit_code])
    return lines


def alerts_json(alerts: MonthAlerts) -> str:
    payload = {**asdict(alerts), "exit_code": alerts.exit_code,
               "worse": [row["kpi_code"] for row in alerts.worse]}
    return json.dumps(payload, default=str, ensure_ascii=False, indent=2)
