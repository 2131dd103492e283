"""Excel input: `transactions.xlsx` (and the optional files as .xlsx) read from typed cells.

The demo data saved as workbooks the way Excel would hold it (numbers as numbers, dates and
times as date cells, true/false as booleans, everything else text: the demo's deliberately
broken values stay text) must build to the same warehouse as the CSV demo, except for the
recorded source files. Smaller cases: money as floats stays exact, a named sheet, a header
that starts lower in the sheet, and one-line errors.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
import xlsxwriter
from conftest import PROJECT_DIR, CliResult, Workspace, run_cli, transaction

from retail_tiers.check import _parsing_macros, check_input, format_report
from retail_tiers.compare import compare
from retail_tiers.excel import sheet_to_parquet

DEMO = PROJECT_DIR / "seeds" / "demo"
DEMO_FILES = ("transactions", "customers", "campaigns", "campaign_contacts", "feedback")
DATETIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
INTEGER = re.compile(r"-?[1-9][0-9]{0,14}|0")
DECIMAL = re.compile(r"-?(0|[1-9][0-9]{0,12})\.[0-9]{1,4}")


def excel_value(text: str) -> Any:
    """A CSV value as Excel would type it on opening the file: a plain number (no leading
    zero, no thousands separator) is a number, an ISO date or date-time a date cell,
    true/false a boolean; anything else stays text, exactly as written."""
    if INTEGER.fullmatch(text):
        return int(text)
    if DECIMAL.fullmatch(text):
        return float(text)
    if text in ("true", "false"):
        return text == "true"
    for pattern, form in ((DATETIME, "%Y-%m-%d %H:%M:%S"), (DATE, "%Y-%m-%d")):
        if pattern.fullmatch(text):
            try:
                return dt.datetime.strptime(text, form)
            except ValueError:
                return text  # 2026-02-30: Excel keeps it as text too
    return text


def write_workbook(rows: list[list[str]], path: Path, sheet: str = "Sheet1",
                   first_row: int = 0, other_sheet: bool = False) -> None:
    """The rows (header first) as a workbook, each value typed by `excel_value`."""
    workbook = xlsxwriter.Workbook(str(path))
    if other_sheet:
        workbook.add_worksheet("notes").write(0, 0, "not the data")
    sheet_ = workbook.add_worksheet(sheet)
    date_time = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    for number, row in enumerate(rows):
        for column, text in enumerate(row):
            value = text if number == 0 else excel_value(text)
            if value == "":
                continue
            if isinstance(value, dt.datetime):
                sheet_.write_datetime(first_row + number, column, value, date_time)
            elif isinstance(value, str):
                sheet_.write_string(first_row + number, column, value)
            else:
                sheet_.write(first_row + number, column, value)
    workbook.close()


def csv_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


@pytest.fixture(scope="module")
def excel_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, CliResult]:
    folder = tmp_path_factory.mktemp("excel_demo")
    for name in DEMO_FILES:
        write_workbook(csv_rows(DEMO / f"raw_{name}.csv"), folder / f"{name}.xlsx")
    workspace = Workspace(tmp_path_factory.mktemp("excel_demo_build"))
    result = run_cli(["build", "--input", str(folder)], workspace)
    assert result.exit_code == 0, result.stderr + result.stdout[-3000:]
    return workspace, result


def test_the_demo_as_workbooks_builds_the_same_warehouse_as_the_csv_demo(
        excel_demo: tuple[Workspace, CliResult], demo_workspace: Workspace) -> None:
    """Every table of the marts and staging is equal, except the raw record of a quarantined
    row: it holds each value as the file holds it, and a workbook holds the number 129.9
    where the CSV text was `129.90`; those values are equal as numbers. And the name of the
    file a transactions line came from (raw_file_name) is the workbook's."""
    workspace, result = excel_demo
    assert "input transactions.xlsx: 26,455 rows, Excel sheet 'Sheet1'" in result.stdout
    tables = compare(demo_workspace.warehouse, workspace.warehouse,
                     schemas=("main", "staging"))
    assert len(tables) > 30
    different = {f"{table.schema}.{table.table}" for table in tables if not table.equal}
    raw_record_tables = {"main.quarantined_rows", "staging.stg_transactions",
                         "staging.stg_customers", "staging.stg_campaigns",
                         "staging.stg_campaign_contacts", "staging.stg_feedback"}
    con = duckdb.connect()
    try:
        con.execute(f"attach '{demo_workspace.warehouse}' as csv_wh (read_only)")
        con.execute(f"attach '{workspace.warehouse}' as xlsx_wh (read_only)")
        for name in different - raw_record_tables:
            assert_equal_but_for_float_noise(con, name)
        for name in different & raw_record_tables:
            columns = [row[0] for row in con.execute(
                "select column_name from information_schema.columns where table_catalog = "
                "'csv_wh' and table_schema || '.' || table_name = ? and column_name not in "
                "('raw_record', 'raw_file_name') order by ordinal_position",
                [name]).fetchall()]
            listed = ", ".join(f'"{column}"' for column in columns)
            for first, second in (("csv_wh", "xlsx_wh"), ("xlsx_wh", "csv_wh")):
                assert con.execute(
                    f"select count(*) from (select {listed} from {first}.{name} except all "
                    f"select {listed} from {second}.{name})").fetchone() == (0,), name
        pairs = con.execute(
            "select a.raw_record, b.raw_record from csv_wh.main.quarantined_rows a "
            "join xlsx_wh.main.quarantined_rows b using (source_file, source_row_number) "
            "where a.raw_record <> b.raw_record").fetchall()
    finally:
        con.close()
    assert pairs  # the demo's broken rows do hold numbers written as 129.90
    for csv_record, excel_record in pairs:
        written, typed = json.loads(csv_record), json.loads(excel_record)
        assert written.keys() == typed.keys()
        for key, text in written.items():
            if text != typed[key]:
                assert Decimal(text) == Decimal(typed[key]), (key, text, typed[key])


def assert_equal_but_for_float_noise(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """`name` holds the same rows in both warehouses, its doubles equal to 12 significant
    digits. compare() rounds doubles to 9 digits, and a mean that two builds add up in a
    different thread order can round either way there; such a table is compared again here,
    row by row in the order of its other columns (which must then be its key)."""
    described = con.execute(
        "select column_name, data_type from information_schema.columns where table_catalog = "
        "'csv_wh' and table_schema || '.' || table_name = ? order by ordinal_position",
        [name]).fetchall()
    exact = [f'"{column}"' for column, kind in described if kind not in ("DOUBLE", "FLOAT")]
    order = ", ".join(exact) or "all"
    first, second = (con.execute(f"select * from {catalog}.{name} order by {order}").fetchall()
                     for catalog in ("csv_wh", "xlsx_wh"))
    assert len(first) == len(second), name
    for left, right in zip(first, second, strict=True):
        for (column, kind), a, b in zip(described, left, right, strict=True):
            if kind in ("DOUBLE", "FLOAT") and a is not None and b is not None:
                assert a == pytest.approx(b, rel=1e-12, abs=1e-12), (name, column)
            else:
                assert a == b, (name, column)


def test_excel_rows_are_quarantined_and_counted_like_csv_rows(
        excel_demo: tuple[Workspace, CliResult], demo_workspace: Workspace) -> None:
    workspace, _ = excel_demo
    query = ("select source_file, source_row_number, quarantine_reason, record_key "
             "from main.quarantined_rows order by all")
    excel_rows = workspace.query(query)
    assert len(excel_rows) > 100
    assert excel_rows == demo_workspace.query(query)
    accounting = "select * from main.row_accounting order by source_file"
    assert workspace.query(accounting) == demo_workspace.query(accounting)


def test_money_as_floats_stays_exact(tmp_path: Path) -> None:
    """12.35 is a float in the workbook: the warehouse holds 12.3500, never 12.3499999."""
    amounts = ["12.35", "0.1", "38.9", "1234567.89", "0.07", "19.99"]
    rows = [list(transaction(1).keys())]
    rows += [list(transaction(number, unit_price=amount).values())
             for number, amount in enumerate(amounts, start=1)]
    write_workbook(rows, tmp_path / "transactions.xlsx")
    copy = sheet_to_parquet(tmp_path / "transactions.xlsx", "transactions.xlsx",
                            tmp_path / "copy.parquet", None, lambda header: header)
    assert copy.column_types["unit_price"] == "double"
    assert copy.column_types["quantity"] == "int64"  # whole numbers stay integers
    assert copy.column_types["ordered_at"] == "timestamp[us]"
    assert copy.column_types["transaction_id"] == "string"
    macros = _parsing_macros()
    parsed = duckdb.sql(
        f"select {macros.parse_decimal('cast(unit_price as varchar)')} "
        f"from read_parquet('{copy.path}')").fetchall()
    assert [row[0] for row in parsed] == [Decimal(amount).quantize(Decimal("0.0001"))
                                          for amount in amounts]
    assert pq.read_table(copy.path).num_rows == len(amounts)


def test_a_named_sheet_and_a_header_lower_in_the_sheet(tmp_path: Path,
                                                       workspace: Workspace) -> None:
    rows = [list(transaction(1).keys()), list(transaction(1).values()),
            list(transaction(2, quantity="two").values())]
    write_workbook(rows, tmp_path / "transactions.xlsx", sheet="订单", first_row=2,
                   other_sheet=True)
    report = check_input(tmp_path, sheet="订单")
    transactions = report.file("transactions")
    assert report.usable, report.first_error()
    assert transactions.rows == 2
    assert "Excel sheet '订单', header in row 3 (data row n is Excel row 3 + n)" \
        in transactions.encoding_note
    assert {stat.name: stat.unparseable for stat in transactions.column_stats}["quantity"] == 1
    assert "--sheet '订单'" in format_report(report)

    # the first sheet holds no transactions: a missing column, in one line
    first = run_cli(["check", "--input", str(tmp_path)], workspace)
    assert first.exit_code == 1
    assert first.error.startswith("error: transactions.xlsx: missing required columns")

    missing = run_cli(["build", "--input", str(tmp_path), "--sheet", "Orders"], workspace)
    assert missing.exit_code == 1
    assert missing.error == ("error: transactions.xlsx: no sheet named 'Orders' "
                             "(sheets: 'notes', '订单')")


def test_a_folder_with_a_workbook_is_not_told_there_is_no_transactions_file(
        tmp_path: Path, workspace: Workspace) -> None:
    write_workbook([list(transaction(1).keys()), list(transaction(1).values())],
                   tmp_path / "transactions.xlsx")
    result = run_cli(["check", "--input", str(tmp_path)], workspace)
    assert result.exit_code == 0, result.stderr
    assert "no transactions file" not in result.stdout
    assert "transactions.xlsx (required): 1 row" in result.stdout


def test_a_damaged_workbook_is_one_line(tmp_path: Path, workspace: Workspace) -> None:
    (tmp_path / "transactions.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    result = run_cli(["build", "--input", str(tmp_path)], workspace, in_process=False)
    assert result.exit_code == 1
    assert result.error.startswith("error: transactions.xlsx: not a readable Excel workbook")
