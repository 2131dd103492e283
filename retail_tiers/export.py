"""`retail-tiers export`: a segment's customers (or the churn watchlist) as a CSV file for a
campaign tool, or an Excel workbook (`--format xlsx`: typed cells, retail_tiers/workbook.py),
as of the build's as-of date. `--lang zh` gives the columns Chinese titles; a segment may be
named by its code, English or Chinese name (`--segment 核心价值客户`).

DuckDB writes the file itself (COPY ... TO), so a million-customer segment never passes
through Python; it writes to a temporary file beside the target that is then renamed over it,
so a failed export leaves no partial file. The file starts with a UTF-8 byte order mark (so
Excel shows Chinese names), and text cells a spreadsheet would run as a formula are prefixed
with an apostrophe.
"""

from __future__ import annotations

import codecs
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from retail_tiers.errors import RetailTiersError
from retail_tiers.tempfiles import remove_stale_temp_files, temp_path
from retail_tiers.warehouse import build_notice, connect, require_tables

SCHEMES = ("rfm_grid", "rfm8")
WATCHLIST = "watchlist"
SCHEME_COLUMNS = {"rfm_grid": "rfm_grid_segment_code", "rfm8": "rfm8_segment_code"}

FORMULA_START = r"^[=+\-@\t\r]"


def text_cell(column: str, alias: str, safe: bool = True) -> str:
    """A text column made safe for spreadsheets: a value starting with = + - @ (or a tab or
    carriage return) would be run as a formula by Excel (`=HYPERLINK(...)`, `@SUM(...)`), so
    it gets a leading apostrophe, which Excel shows as text. Number columns are left as they
    are (a negative amount is a number, not a formula). Without `safe` (Excel output, whose
    text cells are never formulas) the column as it is."""
    if not safe:
        return f"{column} as {alias}"
    return (f"case when regexp_matches({column}, '{FORMULA_START}') "
            f"then chr(39) || {column} else {column} end as {alias}")


def customer_columns(safe: bool = True) -> str:
    """The exported columns; `safe`: text cells guarded against formulas (CSV)."""
    return f"""
    {text_cell("customers.customer_id", "customer_id", safe)},
    {text_cell("rules.segment_code", "segment_code", safe)},
    {text_cell("rules.segment_name_en", "segment_name_en", safe)},
    {text_cell("rules.segment_name_zh", "segment_name_zh", safe)},
    customers.lifecycle_stage,
    customers.as_of_date,
    customers.last_order_on,
    customers.days_since_last_order,
    customers.lifetime_orders,
    customers.lifetime_net_revenue,
    round(customers.average_order_value_amount, 2) as average_order_value_amount,
    customers.frequency_orders,
    customers.monetary_amount,
    customers.r_score,
    customers.f_score,
    customers.m_score,
    round(predictions.predicted_clv, 2) as predicted_clv,
    round(predictions.churn_probability, 4) as churn_probability
"""


CUSTOMER_COLUMNS = customer_columns()


@dataclass(frozen=True)
class ExportResult:
    path: Path
    rows: int
    description: str
    as_of: str
    notice: str | None = None  # a later build failed; this export is from the previous one


def active_scheme(con: duckdb.DuckDBPyConnection) -> str:
    found = con.execute(
        "select scheme from main.segment_summary where is_active_scheme limit 1").fetchall()
    return str(found[0][0]) if found else "rfm_grid"


def resolve_segment(con: duckdb.DuckDBPyConnection, scheme: str, name: str) -> tuple[str, str]:
    """(segment_code, English name) for a code, English or Chinese name, case-insensitively."""
    segments = con.execute("""
        select segment_code, segment_name_en, segment_name_zh
        from main.segment_summary
        where scheme = ?
        order by segment_priority, segment_code
    """, [scheme]).fetchall()
    wanted = " ".join(name.split()).casefold()
    for code, english, chinese in segments:
        names = (str(code), str(english or ""), str(chinese or ""))
        if wanted in {" ".join(found.split()).casefold() for found in names if found}:
            return str(code), str(english or code)
    valid = ", ".join(f"{code} ({english}, {chinese})" for code, english, chinese in segments)
    raise RetailTiersError(
        f"--segment {name}: no such segment in scheme {scheme}; valid: {valid}, or {WATCHLIST}")


def segment_query(scheme: str, safe: bool = True) -> str:
    column = SCHEME_COLUMNS.get(scheme, "segment_code")
    return f"""
        select {customer_columns(safe)}
        from main.customers as customers
        inner join main.segment_summary as rules
            on rules.scheme = '{scheme}'
            and customers.{column} = rules.segment_code
        left join main.customer_predictions as predictions
            on customers.customer_id = predictions.customer_id
        where customers.{column} = $segment
        order by customers.monetary_amount desc, customers.customer_id
    """


def watchlist_query(safe: bool = True) -> str:
    return f"""
    select
        watchlist.watchlist_rank,
        {customer_columns(safe)},
        round(watchlist.value_at_risk_amount, 2) as value_at_risk_amount
    from main.churn_watchlist as watchlist
    inner join main.customers as customers
        on watchlist.customer_id = customers.customer_id
    inner join main.segment_summary as rules
        on rules.scheme = customers.segment_scheme
        and customers.segment_code = rules.segment_code
    left join main.customer_predictions as predictions
        on customers.customer_id = predictions.customer_id
    order by watchlist.watchlist_rank
"""


def left_query(safe: bool = True) -> str:
    return f"""
    select {customer_columns(safe)}
    from main.customers as customers
    inner join main.customer_monthly_history as history
        on customers.customer_id = history.customer_id
        and customers.as_of_date = history.month_end_on
    inner join main.segment_summary as rules
        on rules.scheme = customers.segment_scheme
        and customers.segment_code = rules.segment_code
    left join main.customer_predictions as predictions
        on customers.customer_id = predictions.customer_id
    where history.previous_segment_code = $segment
        and history.segment_code <> $segment
    order by predictions.predicted_clv desc nulls last, customers.customer_id
"""


WATCHLIST_QUERY = watchlist_query()
LEFT_QUERY = left_query()


def column_titles(columns: list[str], lang: str) -> list[str]:
    """Column titles: `column.<name>` of the messages (in English the column names)."""
    from reports.i18n import Messages

    t = Messages(lang)  # type: ignore[arg-type]
    return [t(f"column.{name}") if t.has(f"column.{name}") else name for name in columns]


def write_atomic(con: duckdb.DuckDBPyConnection, query: str, parameters: dict[str, str],
                 target: Path, file_format: str, lang: str, sheet: str) -> int:
    """The query's rows to `target`: CSV (DuckDB's COPY) or an Excel sheet of typed cells."""
    if file_format == "csv":
        if lang == "en":
            return copy_atomic(con, query, parameters, target)
        renamed = ", ".join(f'"{name}" as "{title}"' for name, title in zip(
            *_names_and_titles(con, query, parameters, lang), strict=True))
        return copy_atomic(con, f"select {renamed} from ({query})", parameters, target)
    from retail_tiers.workbook import Sheet, write_workbook

    names, titles = _names_and_titles(con, query, parameters, lang)
    result = con.execute(query, parameters)

    def batches() -> Iterator[tuple[Any, ...]]:
        while True:
            batch = result.fetchmany(10_000)
            if not batch:
                return
            yield from batch

    return write_workbook(target, [Sheet(sheet, names, titles, batches())])[0]


def _names_and_titles(con: duckdb.DuckDBPyConnection, query: str,
                      parameters: dict[str, str], lang: str) -> tuple[list[str], list[str]]:
    described = con.execute(f"select * from ({query}) limit 0", parameters).description
    names = [str(column[0]) for column in described or []]
    return names, column_titles(names, lang)


def copy_atomic(con: duckdb.DuckDBPyConnection, query: str, parameters: dict[str, str],
                target: Path) -> int:
    """COPY the query's rows to a temp CSV beside `target`, then rename it; returns rows."""
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(target)
    temp = temp_path(target)
    body = temp.with_name(temp.name[:-len(".tmp")] + ".body.tmp")
    try:
        literal = str(body).replace("'", "''")
        rows = con.execute(f"copy ({query}) to '{literal}' (format csv, header)",
                           parameters).fetchall()
        with temp.open("wb") as out, body.open("rb") as copied:
            out.write(codecs.BOM_UTF8)  # Excel reads the Chinese names as UTF-8 only with it
            shutil.copyfileobj(copied, out, 1 << 20)
        body.unlink()
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        body.unlink(missing_ok=True)
        raise
    return int(rows[0][0]) if rows else 0


def export_segment(warehouse: Path, segment: str, out: Path,
                   scheme: str | None = None, left: bool = False, file_format: str = "csv",
                   lang: str = "en") -> ExportResult:
    """Write the customers of `segment` (code, English name or 'watchlist') to `out`; with
    `left`, the customers who were in `segment` (of the build's scheme) at the end of the month
    before the as-of month and are no longer (the report's win-back action)."""
    if scheme is not None and scheme not in SCHEMES:
        raise RetailTiersError(f"--scheme {scheme}: expected one of {', '.join(SCHEMES)}")
    if out.exists() and out.is_dir():
        raise RetailTiersError(f"--out {out}: is a folder; give a file name such as segment.csv")
    safe = file_format == "csv"

    def write(query: str, parameters: dict[str, str], sheet: str) -> int:
        return write_atomic(con, query, parameters, out, file_format, lang, sheet)

    con = connect(warehouse)
    try:
        require_tables(con, warehouse, ["customers", "segment_summary", "customer_predictions"])
        latest = con.execute("select max(as_of_date) from main.customers").fetchall()[0][0]
        if latest is None:
            raise RetailTiersError(f"warehouse {warehouse} has no customers (no purchase up to "
                                   "its as-of date): nothing to export; check the input and "
                                   "--as-of of the build")
        as_of = str(latest)
        notice = build_notice(con, warehouse)
        if segment.strip().casefold() == WATCHLIST:
            require_tables(con, warehouse, ["churn_watchlist"])
            rows = write(watchlist_query(safe), {}, "watchlist")
            return ExportResult(out, rows, "the churn watchlist", as_of, notice)
        if left:
            require_tables(con, warehouse, ["customer_monthly_history"])
            scheme = active_scheme(con)
            code, english = resolve_segment(con, scheme, segment)
            rows = write(left_query(safe), {"segment": code}, f"left {code}")
            return ExportResult(out, rows, f"those who left {english} ({scheme})",
                                as_of, notice)
        scheme = scheme or active_scheme(con)
        code, english = resolve_segment(con, scheme, segment)
        rows = write(segment_query(scheme, safe), {"segment": code}, code)
        return ExportResult(out, rows, f"segment {english} ({scheme})", as_of, notice)
    finally:
        con.close()
