"""Paid amounts (`line_amount`): a file that gives what each line was paid, not a unit price.

The fixture is a clean generated dataset whose transactions are rewritten to the paid form:
no unit_price column, each line's `line_amount` an amount in cents that most quantities do
not divide (3 units for 38.90 is a unit price of 12.966666...). Monthly revenue in the
warehouse must equal the file's own sums, computed here with Python's Decimal, to the cent.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from decimal import Decimal

import pytest
from conftest import CliResult, Workspace, csv_text, run_cli, transaction

from retail_tiers.check import check_input, format_report
from retail_tiers.generate import GeneratorConfig, write_dataset

BASE = {"customers": 150, "months": 14, "seed": 11, "end_month": "2024-06", "dirty_rate": 0}
PAID_COLUMNS = ["transaction_id", "order_id", "customer_id", "ordered_at", "product_id",
                "category", "quantity", "line_amount", "discount_amount", "channel", "store_id"]
# lines that must be quarantined, never counted: (line_amount, reason)
BROKEN = [("12,30", "non_numeric_value"), ("-5.00", "negative_price"), ("", "non_numeric_value")]


def ordered_month(text: str) -> dt.date:
    """The month of a generated ordered_at (the generator writes three formats)."""
    for pattern in ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y%m%d"):
        try:
            return dt.datetime.strptime(text, pattern).date().replace(day=1)
        except ValueError:
            continue
    raise AssertionError(f"unexpected ordered_at {text!r}")


def paid_rows(generated: str) -> list[dict[str, str]]:
    """The generated lines in paid form: the amount paid (what quantity x price less the
    discount came to) moved by a few cents so it is rarely a multiple of the quantity."""
    rows = []
    for number, row in enumerate(csv.DictReader(io.StringIO(generated))):
        quantity = int(row["quantity"])
        paid = (abs(quantity) * Decimal(row["unit_price"])
                - Decimal(row["discount_amount"] or "0"))
        paid = max(paid + Decimal(number % 7 - 3) / 100, Decimal("0.01"))
        row = {column: row.get(column, "") for column in PAID_COLUMNS}
        row["line_amount"] = f"{paid:.2f}"
        row["discount_amount"] = ""
        rows.append(row)
    return rows


@pytest.fixture(scope="module")
def paid_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, CliResult, list]:
    root = tmp_path_factory.mktemp("paid")
    generated = root / "generated"
    write_dataset(GeneratorConfig(**BASE), generated)
    rows = paid_rows((generated / "transactions.csv").read_text(encoding="utf-8"))
    for number, (amount, _) in enumerate(BROKEN, start=1):
        rows.append({**rows[number], "transaction_id": f"BROKEN{number}", "line_amount": amount})
    folder = root / "input"
    folder.mkdir()
    (folder / "transactions.csv").write_text(csv_text(rows, PAID_COLUMNS), encoding="utf-8")
    workspace = Workspace(root / "workspace")
    result = run_cli(["build", "--input", str(folder)], workspace)
    assert result.exit_code == 0, result.stderr + result.stdout[-2000:]
    return workspace, result, rows


def test_monthly_revenue_equals_the_files_paid_amounts_to_the_cent(paid_build) -> None:
    workspace, _, rows = paid_build
    expected: dict[dt.date, Decimal] = defaultdict(Decimal)
    for row in rows:
        if row["transaction_id"].startswith("BROKEN"):
            continue
        sign = -1 if int(row["quantity"]) < 0 else 1
        expected[ordered_month(row["ordered_at"])] += sign * Decimal(row["line_amount"])
    found = dict(workspace.query(
        "select month_start_on, net_revenue_amount from main.monthly_kpis"))
    assert found, "monthly_kpis is empty"
    assert set(found) <= set(expected)
    for month, revenue in found.items():
        assert Decimal(revenue) == expected[month], month
    # every month of the data up to the as-of date is there
    as_of = workspace.scalar("select as_of_date from intermediate.int_run_dates")
    assert set(found) == {month for month in expected if month <= as_of}


def test_paid_amounts_are_stored_as_written(paid_build) -> None:
    workspace, _, rows = paid_build
    stored = dict(workspace.query(
        "select transaction_id, line_amount from staging.stg_transactions "
        "where quarantine_reason is null"))
    written = {row["transaction_id"]: Decimal(row["line_amount"]) for row in rows
               if not row["transaction_id"].startswith("BROKEN")}
    assert stored == written
    assert all(value.as_tuple().exponent == -4 for value in stored.values())  # decimal(18,4)


def test_bad_paid_amounts_are_quarantined_with_their_reason(paid_build) -> None:
    workspace, _, _ = paid_build
    reasons = dict(workspace.query(
        "select transaction_id, quarantine_reason from staging.stg_transactions "
        "where transaction_id like 'BROKEN%'"))
    assert reasons == {f"BROKEN{number}": reason
                       for number, (_, reason) in enumerate(BROKEN, start=1)}
    raw, clean, quarantined = workspace.query(
        "select raw_rows, clean_rows, quarantined_rows from main.row_accounting "
        "where source_file = 'transactions'")[0]
    assert (raw, quarantined) == (clean + len(BROKEN), len(BROKEN))


def test_check_explains_which_form_the_file_uses(make_raw) -> None:
    paid = make_raw({"transactions.csv": [
        {key: value for key, value in transaction(1, line_amount="38.90").items()
         if key != "unit_price"}]})
    text = format_report(check_input(paid))
    assert "amounts: paid amounts (line_amount)" in text
    assert "the input is usable" in text

    priced = make_raw({"transactions.csv": [transaction(1)]})
    assert "amounts: unit prices" in format_report(check_input(priced))

    both = make_raw({"transactions.csv": [transaction(1, line_amount="38.90")]})
    assert "line_amount (paid) where a line gives it" in format_report(check_input(both))


def test_a_file_with_neither_form_is_refused_in_one_line(workspace: Workspace,
                                                         make_raw) -> None:
    rows = [{key: value for key, value in transaction(1).items() if key != "unit_price"}]
    result = run_cli(["check", "--input", str(make_raw({"transactions.csv": rows}))],
                     workspace)
    assert result.exit_code != 0
    assert "missing required column unit_price or line_amount" in result.stdout + result.stderr
