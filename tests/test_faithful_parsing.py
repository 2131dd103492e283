"""Values are read as they were meant or quarantined with their own reason, never silently
changed: one build of a CSV folder and one of a Parquet folder, each line a case.

CSV: upper-case and padded optional headers, blank and repeated extra column names, UTC
offsets, a 12-hour clock, a BC date and year 1, a barcode in `quantity`, a price too large
to read, amounts a hair above one billion, a repeated id whose first line is broken.
Parquet: TIMESTAMPTZ and DOUBLE columns.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from conftest import TRANSACTION_COLUMNS, CliResult, Workspace, csv_text, run_cli, transaction

from retail_tiers.generate import GeneratorConfig, write_dataset

CASES = {
    # id: (overrides, expected quarantine_reason)
    "Z01": ({"ordered_at": "2024-03-31T20:00:00Z"}, None),
    "Z02": ({"ordered_at": "2024-03-01T23:30:00+08:00"}, None),
    "Z03": ({"ordered_at": "2024-03-01 10:00 PM"}, None),
    "Z04": ({"ordered_at": "2026-06-15 (BC)"}, "implausible_timestamp"),
    "Z05": ({"ordered_at": "0001-01-01"}, "implausible_timestamp"),
    "Z06": ({"quantity": "6901234567890", "unit_price": "25.00"}, "amount_out_of_range"),
    "Z07": ({"unit_price": "999999999999999999999.99"}, "amount_out_of_range"),
    "Z08": ({"unit_cost": "1e-05"}, None),
    # just above one billion: rounded to 4 decimals it is 1,000,000,000.0000, not above the
    # limit, so the size is judged on the value as written (either sign)
    "Z09": ({"quantity": "1", "unit_price": "1000000000.00004"}, "amount_out_of_range"),
    "Z10": ({"quantity": "1", "unit_cost": "-1000000000.00004"}, "amount_out_of_range"),
}
EXPECTED_AT = {
    "Z01": dt.datetime(2024, 4, 1, 4, 0),   # 20:00 UTC on 31 March is 04:00 in Shanghai
    "Z02": dt.datetime(2024, 3, 1, 23, 30),
    "Z03": dt.datetime(2024, 3, 1, 22, 0),
}


# The generated local times as naive timestamps (the generator writes several formats).
NAIVE = ("coalesce(try_cast(ordered_at as timestamp), try_strptime(ordered_at, "
         "['%Y%m%d', '%Y/%m/%d %H:%M:%S', '%Y/%m/%d %H:%M', '%Y/%m/%d']))")
BASE = {"customers": 150, "months": 14, "seed": 5, "end_month": "2024-06", "dirty_rate": 0}


def generated_base(folder: Path) -> str:
    """A clean generated dataset (enough customers for every model to fit) in `folder`;
    returns its transactions.csv text, which the tests extend with their cases."""
    write_dataset(GeneratorConfig(**BASE), folder)
    return (folder / "transactions.csv").read_text(encoding="utf-8")


def case_rows() -> list[dict[str, str]]:
    rows = []
    for number, (transaction_id, (overrides, _)) in enumerate(CASES.items(), start=20):
        rows.append(transaction(number, transaction_id=transaction_id, order_id=f"OZ{number}",
                                **overrides))
    # a repeated id whose first line is broken: the later clean line keeps the sale
    rows.append(transaction(40, transaction_id="D01", order_id="", category="first"))
    rows.append(transaction(41, transaction_id="D01", order_id="OD1", category="second"))
    rows.append(transaction(42, transaction_id="D01", order_id="OD2", category="third"))
    # a sale on 20 March whose return reuses the order id on 5 April
    rows.append(transaction(43, transaction_id="R01", order_id="OR1", customer_id="C900",
                            ordered_at="2024-03-20 10:00:00", quantity="2", unit_price="10.00"))
    rows.append(transaction(44, transaction_id="R02", order_id="OR1", customer_id="C900",
                            ordered_at="2024-04-05 11:00:00", quantity="-2", unit_price="10.00"))
    return rows


def header_mangled_csv(base: str, rows: list[dict[str, str]]) -> str:
    """The base file and the case rows with CATEGORY and ' Unit_Cost ' headers, and extra
    columns named '', 'note', '' and 'note'."""
    lines = base.splitlines() + csv_text(rows, TRANSACTION_COLUMNS).splitlines()[1:]
    assert lines[0] == ",".join(TRANSACTION_COLUMNS)
    header = lines[0].replace("category", "CATEGORY").replace("unit_cost", " Unit_Cost ")
    out = [header + ",,note,,note"]
    out += [line + ",x,y,z,w" for line in lines[1:]]
    return "\n".join(out) + "\n"


def append_row(path: Path, **values: str) -> None:
    """Append a row to a generated CSV file, empty in every column not given."""
    header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert set(values) <= set(header), header
    with path.open("a", encoding="utf-8") as out:
        out.write(",".join(values.get(name, "") for name in header) + "\n")


@pytest.fixture(scope="module")
def csv_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, CliResult]:
    folder = tmp_path_factory.mktemp("faithful_csv")
    base = generated_base(folder)
    (folder / "transactions.csv").write_text(header_mangled_csv(base, case_rows()),
                                             encoding="utf-8")
    append_row(folder / "customers.csv", customer_id="CZ1", acquisition_cost="9e15")
    append_row(folder / "campaigns.csv", campaign_id="KZ1", cost="12345678901234567890",
               starts_on="2024-01-01", ends_on="2024-01-31")
    workspace = Workspace(tmp_path_factory.mktemp("faithful_csv_build"))
    result = run_cli(["build", "--input", str(folder), "--as-of", "2024-06-30"], workspace)
    assert result.exit_code == 0, result.stderr + "\n".join(result.stdout.splitlines()[-10:])
    return workspace, result


def staged(workspace: Workspace, transaction_id: str) -> list[tuple]:
    return workspace.query(
        "select quarantine_reason, ordered_at, quantity, unit_price, unit_cost, category "
        "from staging.stg_transactions where transaction_id = ? order by source_row_number",
        [transaction_id])


@pytest.mark.parametrize("transaction_id", sorted(CASES))
def test_each_case_is_kept_or_quarantined_with_its_reason(
        csv_build: tuple[Workspace, CliResult], transaction_id: str) -> None:
    workspace, _ = csv_build
    [(reason, ordered_at, *_)] = staged(workspace, transaction_id)
    assert reason == CASES[transaction_id][1]
    if transaction_id in EXPECTED_AT:
        assert ordered_at == EXPECTED_AT[transaction_id]


def test_utc_offset_moves_the_sale_to_the_local_month(
        csv_build: tuple[Workspace, CliResult]) -> None:
    workspace, _ = csv_build
    assert workspace.scalar("select ordered_on from intermediate.int_orders_netted "
                            "where order_id = ?", ["OZ20"]) == dt.date(2024, 4, 1)


def test_scientific_notation_is_a_number(csv_build: tuple[Workspace, CliResult]) -> None:
    workspace, _ = csv_build
    [(_, _, _, _, unit_cost, _)] = staged(workspace, "Z08")
    assert unit_cost == Decimal("0.0000")


def test_upper_case_optional_headers_are_read(csv_build: tuple[Workspace, CliResult],
                                              tmp_path: Path) -> None:
    workspace, _ = csv_build
    base = generated_base(tmp_path / "expected").splitlines()[1:]
    categories = sum(1 for line in base if line.split(",")[5])
    costs = sum(1 for line in base if line.split(",")[9])
    found = workspace.query("select count(category), count(unit_cost) "
                            "from staging.stg_transactions where transaction_id like 'T%'")
    assert found == [(categories, costs)] and costs > 0


def test_first_clean_line_keeps_a_repeated_id(csv_build: tuple[Workspace, CliResult]) -> None:
    workspace, _ = csv_build
    rows = staged(workspace, "D01")
    assert [(row[0], row[5]) for row in rows] == [
        ("missing_order_id", "first"), (None, "second"), ("duplicate_transaction_id", "third")]


def test_customer_and_campaign_amounts_out_of_range_are_quarantined(
        csv_build: tuple[Workspace, CliResult]) -> None:
    workspace, _ = csv_build
    assert workspace.query("select quarantine_reason from staging.stg_customers "
                           "where customer_id = 'CZ1'") == [("amount_out_of_range",)]
    assert workspace.query("select quarantine_reason from staging.stg_campaigns "
                           "where campaign_id = 'KZ1'") == [("amount_out_of_range",)]


def test_a_later_return_is_booked_on_its_own_date(
        csv_build: tuple[Workspace, CliResult]) -> None:
    workspace, _ = csv_build
    orders = workspace.query(
        "select ordered_on, net_revenue, is_purchase, is_later_return "
        "from intermediate.int_orders_netted where order_id = 'OR1' order by ordered_on")
    assert orders == [(dt.date(2024, 3, 20), Decimal("20.0000"), True, False),
                      (dt.date(2024, 4, 5), Decimal("-20.0000"), False, True)]
    # each month's revenue is the sum of the clean lines dated in it (recomputed from staging)
    by_line_month = dict(workspace.query(
        "select date_trunc('month', ordered_at)::date, sum(case when quantity < 0 "
        "then quantity * unit_price + coalesce(discount_amount, 0) "
        "else quantity * unit_price - coalesce(discount_amount, 0) end) "
        "from staging.stg_transactions where quarantine_reason is null group by 1"))
    kpis = dict(workspace.query("select month_start_on, net_revenue_amount "
                                "from main.monthly_kpis"))
    assert kpis, "monthly_kpis is empty"
    for month, revenue in kpis.items():
        assert revenue == by_line_month.get(month, 0), month


def test_every_row_is_accounted_for(csv_build: tuple[Workspace, CliResult]) -> None:
    workspace, result = csv_build
    raw, clean, quarantined = workspace.query(
        "select raw_rows, clean_rows, quarantined_rows from main.row_accounting "
        "where source_file = 'transactions'")[0]
    base_rows = workspace.scalar("select count(*) from staging.stg_transactions "
                                 "where transaction_id like 'T%'")
    assert raw == base_rows + len(case_rows()) == clean + quarantined
    assert "amount_out_of_range 4" in result.stdout and "implausible_timestamp 2" in result.stdout
    # a user build runs no unit tests, and says so instead of "0 passed / 0 failed"
    assert "(dbt unit tests run in `make test`)" in result.stdout
    assert "unit tests 0 passed" not in result.stdout


# ---- Parquet: typed columns -------------------------------------------------------------------


@pytest.fixture(scope="module")
def parquet_build(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The base dataset as Parquet: ordered_at TIMESTAMPTZ (the local times at +08:00, and
    five lines at 17:30 UTC), unit_price and unit_cost DOUBLE (one cost 0.00001), the
    optional column category named CATEGORY."""
    folder = tmp_path_factory.mktemp("faithful_parquet")
    generated_base(folder)
    source = str(folder / "transactions.csv").replace("'", "''")
    target = str(folder / "transactions.parquet").replace("'", "''")
    con = duckdb.connect()
    try:
        con.execute(f"""
            copy (
                select
                    transaction_id, order_id, customer_id,
                    timezone('Asia/Shanghai', {NAIVE}) as ordered_at,
                    product_id, category as "CATEGORY",
                    cast(quantity as bigint) as quantity,
                    cast(nullif(unit_price, '') as double) as unit_price,
                    cast(nullif(discount_amount, '') as double) as discount_amount,
                    cast(nullif(unit_cost, '') as double) as unit_cost,
                    channel, store_id
                from read_csv('{source}', all_varchar = true)
                union all
                select
                    'UTC' || i, 'OU' || i, 'C0000001',
                    timestamptz '2024-05-31 17:30:00+00' + to_days(i),
                    'SKU1', 'food', 1, 10.5, 0, case when i = 1 then 0.00001 end, 'store', 'S1'
                from range(1, 6) as t(i)
            ) to '{target}' (format parquet)
        """)
    finally:
        con.close()
    (folder / "transactions.csv").unlink()
    workspace = Workspace(tmp_path_factory.mktemp("faithful_parquet_build"))
    result = run_cli(["build", "--input", str(folder), "--as-of", "2024-06-30"], workspace)
    assert result.exit_code == 0, result.stderr + "\n".join(result.stdout.splitlines()[-10:])
    return workspace


def test_parquet_timestamptz_is_converted_not_shifted(parquet_build: Workspace) -> None:
    rows = parquet_build.query("select transaction_id, ordered_at, quarantine_reason "
                               "from staging.stg_transactions where transaction_id like 'UTC%' "
                               "order by source_row_number")
    # 17:30 UTC is 01:30 the next day in Shanghai
    assert rows[0] == ("UTC1", dt.datetime(2024, 6, 2, 1, 30), None)
    assert [row[2] for row in rows] == [None] * 5


def test_parquet_timestamps_match_the_csv_text(parquet_build: Workspace,
                                               tmp_path: Path) -> None:
    generated_base(tmp_path / "expected")
    source = str(tmp_path / "expected" / "transactions.csv").replace("'", "''")
    con = duckdb.connect()
    try:
        expected = dict(con.execute(f"select transaction_id, {NAIVE} "
                                    f"from read_csv('{source}', all_varchar = true)").fetchall())
    finally:
        con.close()
    found = dict(parquet_build.query("select transaction_id, ordered_at from "
                                     "staging.stg_transactions where transaction_id like 'T%'"))
    assert len(found) == len(expected) > 100
    assert found == expected


def test_parquet_upper_case_column_is_read(parquet_build: Workspace, tmp_path: Path) -> None:
    base = generated_base(tmp_path / "expected").splitlines()[1:]
    categories = sum(1 for line in base if line.split(",")[5])
    assert categories > 0
    assert parquet_build.scalar("select count(category) from staging.stg_transactions "
                                "where transaction_id like 'T%'") == categories


def test_parquet_double_is_read(parquet_build: Workspace) -> None:
    values = parquet_build.query("select unit_price, unit_cost from staging.stg_transactions "
                                 "where transaction_id = 'UTC1'")
    assert values == [(Decimal("10.5000"), Decimal("0.0000"))]
