"""Bad raw input: each case is either a one-line error naming the file and the cause (exit 1,
no traceback) or rows quarantined with the right reason, and no clean row is ever lost."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import (
    TRANSACTION_COLUMNS,
    CliResult,
    Workspace,
    csv_text,
    run_cli,
    transaction,
)

MakeRaw = Callable[..., Path]


def clean_rows(count: int) -> list[dict[str, str]]:
    return [transaction(number) for number in range(1, count + 1)]


def assert_one_line_error(result: CliResult, *fragments: str) -> str:
    assert result.exit_code == 1, result.stdout + result.stderr
    line = result.error
    assert line.startswith("error: ")
    for fragment in fragments:
        assert fragment in line, line
    return line


# ---- one-line errors ------------------------------------------------------------------------


def test_missing_input_folder_is_one_line_error(workspace: Workspace, tmp_path: Path) -> None:
    missing = tmp_path / "no_such_folder"
    result = run_cli(["build", "--input", str(missing)], workspace, in_process=False)
    assert_one_line_error(result, str(missing), "does not exist")
    assert not workspace.warehouse.exists()


def test_missing_transactions_file(workspace: Workspace, make_raw: MakeRaw) -> None:
    folder = make_raw({"customers.csv": [{"customer_id": "C1"}]})
    result = run_cli(["build", "--input", str(folder)], workspace)
    assert_one_line_error(result, "no transactions file", "transactions.csv")


def test_missing_required_column(workspace: Workspace, make_raw: MakeRaw) -> None:
    rows = [{key: value for key, value in row.items() if key != "order_id"}
            for row in clean_rows(3)]
    folder = make_raw({"transactions.csv": rows})
    for command in ("check", "build"):
        result = run_cli([command, "--input", str(folder)], workspace)
        assert_one_line_error(result, "transactions.csv", "missing required column order_id")
    assert not workspace.warehouse.exists()


def test_missing_required_column_in_optional_file(workspace: Workspace,
                                                  make_raw: MakeRaw) -> None:
    folder = make_raw({"transactions.csv": clean_rows(2),
                       "customers.csv": [{"city": "Shanghai", "signed_up_at": "2024-01-01"}]})
    result = run_cli(["build", "--input", str(folder)], workspace)
    assert_one_line_error(result, "customers.csv", "missing required column customer_id")


def test_empty_file(workspace: Workspace, make_raw: MakeRaw) -> None:
    folder = make_raw({"transactions.csv": b""})
    result = run_cli(["build", "--input", str(folder)], workspace)
    assert_one_line_error(result, "transactions.csv", "empty file")


def test_header_only_required_file(workspace: Workspace, make_raw: MakeRaw) -> None:
    folder = make_raw({"transactions.csv": ",".join(TRANSACTION_COLUMNS) + "\n"})
    result = run_cli(["build", "--input", str(folder)], workspace)
    assert_one_line_error(result, "transactions.csv", "no data rows")


def test_header_only_optional_file_is_an_empty_table(workspace: Workspace,
                                                     make_raw: MakeRaw) -> None:
    folder = make_raw({"transactions.csv": clean_rows(2),
                       "customers.csv": "customer_id,signed_up_at,city\n"})
    result = run_cli(["check", "--input", str(folder)], workspace)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "customers.csv (optional): 0 rows (header only" in result.stdout


def test_utf8_file_read_as_gb18030_is_an_error(workspace: Workspace, make_raw: MakeRaw) -> None:
    folder = make_raw({"transactions.csv": [transaction(1, category="服装鞋帽")]})
    result = run_cli(["check", "--input", str(folder), "--encoding", "gb18030"], workspace)
    assert_one_line_error(result, "transactions.csv", "UTF-8", "without --encoding")


def test_undecodable_byte_under_chosen_encoding(workspace: Workspace, make_raw: MakeRaw) -> None:
    # 0x80 on its own and 0xFF are never valid in GB18030.
    bad_line = b"T9,O9,C9,2024-01-01,P1,\x80\xff,1,2,,,store,S1\n"
    data = csv_text(clean_rows(2)).encode("ascii") + bad_line
    folder = make_raw({"transactions.csv": data})
    result = run_cli(["build", "--input", str(folder), "--encoding", "gb18030"], workspace)
    assert_one_line_error(result, "transactions.csv", "not valid GB18030", "line 4")


@pytest.mark.parametrize("junk", [
    pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" * 40, id="nul-bytes"),
    pytest.param(bytes(range(0x80, 0x100)) * 20 + b"\n", id="high-bytes"),
])
def test_binary_junk(workspace: Workspace, make_raw: MakeRaw, junk: bytes) -> None:
    folder = make_raw({"transactions.csv": junk})
    result = run_cli(["build", "--input", str(folder)], workspace)
    line = assert_one_line_error(result, "transactions.csv")
    assert "binary data" in line or "not valid UTF-8" in line


def test_wrong_number_of_fields(workspace: Workspace, make_raw: MakeRaw) -> None:
    text = csv_text(clean_rows(3))
    lines = text.splitlines()
    lines[2] += ",surplus"  # the second data row, line 3 of the file
    folder = make_raw({"transactions.csv": "\n".join(lines) + "\n"})
    result = run_cli(["build", "--input", str(folder)], workspace)
    assert_one_line_error(result, "transactions.csv", "line 3", "13 fields", "header has 12")


def test_two_formats_for_one_file(workspace: Workspace, make_raw: MakeRaw) -> None:
    text = csv_text(clean_rows(2))
    folder = make_raw({"transactions.csv": text, "transactions.parquet": b"PAR1"})
    result = run_cli(["check", "--input", str(folder)], workspace)
    assert_one_line_error(result, "transactions.csv and transactions.parquet", "only one")


def test_invalid_as_of_date(workspace: Workspace) -> None:
    result = run_cli(["build", "--as-of", "2025-13-45"], workspace)
    assert_one_line_error(result, "--as-of 2025-13-45")
    assert not workspace.warehouse.exists()


def test_locked_warehouse(workspace: Workspace) -> None:
    workspace.warehouse.parent.mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys; con = duckdb.connect(sys.argv[1]); "
         "print('ready', flush=True); sys.stdin.read()",
         str(workspace.warehouse)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        result = run_cli(["build"], workspace, in_process=False)
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=60)
    assert_one_line_error(result, str(workspace.warehouse), "locked by another process",
                          f"PID {holder.pid}")


# ---- one build of a dirty GB18030 folder, one test per kind of dirt -------------------------
# (one dbt build for all of them keeps the suite fast; each test checks its own rows)

CLEAN_COUNT = 20
UNPARSEABLE = {"T00101": "2024-02-30 10:00:00", "T00102": "not a date", "T00103": "2024-13-01"}
FUTURE = {"T00201": "2099-01-01 09:00:00", "T00202": "20990615"}
NON_NUMERIC_QUANTITY = {"T00301": "two", "T00302": "1.5", "T00303": "3 pcs"}
DUPLICATED = {"T00003": 1, "T00007": 2}  # id -> extra copies after the first line
# Row 1 gets 服装鞋帽: GB18030 byte 0xB7 (服) can never start a UTF-8 character, so the first
# non-ASCII byte of the file is where UTF-8 decoding fails. 𠀀 needs 4-byte GB18030.
CATEGORIES = ["食品饮料", "服装鞋帽", "美妆个护", "𠀀生僻字"]
CITIES = {"C000": "上海", "C001": "北京"}


def dirty_clean_rows() -> list[dict[str, str]]:
    return [transaction(number, category=CATEGORIES[number % 4], channel="门店")
            for number in range(1, CLEAN_COUNT + 1)]


def dirty_transactions() -> list[dict[str, str]]:
    rows = dirty_clean_rows()
    for position, (transaction_id, value) in enumerate(UNPARSEABLE.items()):
        rows.insert(2 + 5 * position, transaction(101 + position, transaction_id=transaction_id,
                                                  ordered_at=value))
    for position, (transaction_id, value) in enumerate(FUTURE.items()):
        rows.insert(4 + 3 * position, transaction(201 + position, transaction_id=transaction_id,
                                                  ordered_at=value))
    for position, (transaction_id, value) in enumerate(NON_NUMERIC_QUANTITY.items()):
        rows.insert(6 + 4 * position, transaction(301 + position, transaction_id=transaction_id,
                                                  quantity=value))
    for transaction_id, copies in DUPLICATED.items():
        number = int(transaction_id[1:])
        rows.extend(transaction(number, quantity="5", unit_price="99.00") for _ in range(copies))
    for row in rows:  # extra columns, accepted and ignored
        row["note"] = "礼品包装"
        row["loyalty_tier"] = "gold"
    return rows


@pytest.fixture(scope="module")
def dirty_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("dirty_input")
    (folder / "transactions.csv").write_bytes(csv_text(dirty_transactions()).encode("gb18030"))
    customers = "customer_id,signed_up_at,city\n" + "".join(
        f"{key},2023-05-01,{city}\n" for key, city in CITIES.items())
    (folder / "customers.csv").write_bytes(customers.encode("gb18030"))
    (folder / "campaigns.csv").write_bytes(
        b"campaign_id,campaign_name,channel,starts_on,ends_on,cost\n")  # header only
    return folder


@pytest.fixture(scope="module")
def dirty_build(tmp_path_factory: pytest.TempPathFactory,
                dirty_folder: Path) -> tuple[Workspace, CliResult]:
    workspace = Workspace(tmp_path_factory.mktemp("dirty_build"))
    result = run_cli(["build", "--input", str(dirty_folder), "--encoding", "gb18030",
                      "--as-of", "2024-06-30"], workspace)
    assert workspace.warehouse.exists(), result.stdout + result.stderr
    return workspace, result


def reasons_by_id(workspace: Workspace) -> dict[str, list[str | None]]:
    found: dict[str, list[str | None]] = {}
    for transaction_id, reason in workspace.query(
        "select transaction_id, quarantine_reason from staging.stg_transactions "
        "order by source_row_number"
    ):
        found.setdefault(transaction_id, []).append(reason)
    return found


def test_gb18030_file_without_encoding_is_an_error(workspace: Workspace,
                                                   dirty_folder: Path) -> None:
    data = (dirty_folder / "transactions.csv").read_bytes()
    first_bad = next(index for index, byte in enumerate(data) if byte >= 0x80)
    line = data[:first_bad].count(b"\n") + 1
    result = run_cli(["build", "--input", str(dirty_folder)], workspace)
    assert_one_line_error(result, "transactions.csv", "not valid UTF-8",
                          f"byte {first_bad} (line {line})", "--encoding gb18030")


def test_gb18030_file_with_encoding_builds(dirty_build: tuple[Workspace, CliResult]) -> None:
    workspace, result = dirty_build
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert workspace.scalar("select success from main.build_runs") is True


def test_gb18030_chinese_text_is_intact(dirty_build: tuple[Workspace, CliResult]) -> None:
    workspace, _ = dirty_build
    found = dict(workspace.query(
        "select transaction_id, category from staging.stg_transactions "
        "where quarantine_reason is null"))
    assert found == {row["transaction_id"]: row["category"] for row in dirty_clean_rows()}
    assert set(workspace.query(
        "select channel from staging.stg_transactions where quarantine_reason is null"
    )) == {("门店",)}
    assert dict(workspace.query("select customer_id, city from staging.stg_customers")) == CITIES


def test_extra_columns_are_accepted_and_ignored(dirty_build: tuple[Workspace, CliResult]) -> None:
    workspace, _ = dirty_build
    assert "note" in dirty_transactions()[0]
    columns = {row[0] for row in workspace.query(
        "select column_name from information_schema.columns "
        "where table_schema = 'staging' and table_name = 'stg_transactions'")}
    assert "note" not in columns and "loyalty_tier" not in columns
    assert workspace.scalar("select raw_rows from main.row_accounting "
                            "where source_file = 'transactions'") == len(dirty_transactions())


def test_unparseable_timestamps_are_quarantined(dirty_build: tuple[Workspace, CliResult]) -> None:
    workspace, _ = dirty_build
    reasons = reasons_by_id(workspace)
    for transaction_id in UNPARSEABLE:
        assert reasons[transaction_id] == ["unparseable_timestamp"]


def test_future_timestamps_are_quarantined(dirty_build: tuple[Workspace, CliResult]) -> None:
    workspace, _ = dirty_build
    reasons = reasons_by_id(workspace)
    for transaction_id in FUTURE:
        assert reasons[transaction_id] == ["future_timestamp"]


def test_non_numeric_quantities_are_quarantined(dirty_build: tuple[Workspace, CliResult]) -> None:
    workspace, _ = dirty_build
    reasons = reasons_by_id(workspace)
    for transaction_id in NON_NUMERIC_QUANTITY:
        assert reasons[transaction_id] == ["non_numeric_value"]


def test_duplicate_transaction_ids_keep_the_first(dirty_build: tuple[Workspace, CliResult]) -> None:
    workspace, _ = dirty_build
    reasons = reasons_by_id(workspace)
    for transaction_id, copies in DUPLICATED.items():
        assert reasons[transaction_id] == [None] + ["duplicate_transaction_id"] * copies
        # The kept line is the first one: its values, not the copies' (quantity 5, 99.00).
        number = int(transaction_id[1:])
        kept = workspace.query(
            "select quantity, unit_price from intermediate.int_transaction_lines "
            "where transaction_id = ?", [transaction_id])
        original = transaction(number)
        assert [(quantity, float(price)) for quantity, price in kept] == [
            (int(original["quantity"]), float(original["unit_price"]))]


def test_quarantine_counts_by_reason(dirty_build: tuple[Workspace, CliResult]) -> None:
    workspace, result = dirty_build
    expected = Counter({
        "unparseable_timestamp": len(UNPARSEABLE),
        "future_timestamp": len(FUTURE),
        "non_numeric_value": len(NON_NUMERIC_QUANTITY),
        "duplicate_transaction_id": sum(DUPLICATED.values()),
    })
    found = Counter(dict(workspace.query(
        "select quarantine_reason, count(*) from main.quarantined_rows "
        "where source_file = 'transactions' group by all")))
    assert found == expected
    assert f"duplicate_transaction_id {sum(DUPLICATED.values())}" in result.stdout


def test_no_clean_row_is_lost(dirty_build: tuple[Workspace, CliResult]) -> None:
    workspace, _ = dirty_build
    written_clean = dirty_clean_rows()
    clean_ids = {row[0] for row in workspace.query(
        "select transaction_id from staging.stg_transactions where quarantine_reason is null")}
    assert clean_ids == {row["transaction_id"] for row in written_clean}
    line_count, quantity = workspace.query(
        "select count(*), sum(quantity) from intermediate.int_transaction_lines")[0]
    assert line_count == CLEAN_COUNT
    assert quantity == sum(int(row["quantity"]) for row in written_clean)
    raw, clean, quarantined = workspace.query(
        "select raw_rows, clean_rows, quarantined_rows from main.row_accounting "
        "where source_file = 'transactions'")[0]
    assert (raw, clean) == (len(dirty_transactions()), CLEAN_COUNT)
    assert raw == clean + quarantined
    # The optional files: two clean customers, a header-only campaigns file, no contacts.
    accounting = {row[0]: row[1:] for row in workspace.query(
        "select source_file, raw_rows, clean_rows from main.row_accounting")}
    assert accounting["customers"] == (len(CITIES), len(CITIES))
    assert accounting["campaigns"] == (0, 0)
    assert accounting["campaign_contacts"] == (0, 0)
    assert accounting["feedback"] == (0, 0)


def test_without_a_feedback_file_the_feedback_marts_are_empty(
        dirty_build: tuple[Workspace, CliResult]) -> None:
    workspace, _ = dirty_build
    assert workspace.scalar("select count(*) from main.feedback_monthly") == 0
    assert workspace.scalar("select count(*) from main.segment_feedback_monthly") == 0
    customers, answered = workspace.query(
        "select count(*), count(latest_nps_score) from main.customers")[0]
    assert customers > 0 and answered == 0
    assert workspace.scalar("select count(*) from main.segment_category_mix") > 0


def test_build_with_input_records_vars_and_skips_demo(
        dirty_build: tuple[Workspace, CliResult], dirty_folder: Path) -> None:
    workspace, _ = dirty_build
    vars_json, input_description = workspace.query(
        "select vars_json, input_description from main.build_runs")[0]
    recorded = json.loads(vars_json)
    assert str(dirty_folder) in input_description
    # (each --var is recorded too: test_build.py, under an analyst's settings)
    assert recorded["as_of_date"] == "2024-06-30"
    assert set(recorded["raw_files"]) == {"transactions", "customers", "campaigns",
                                          "campaign_contacts", "feedback",
                                          "customer_identities"}
    assert recorded["raw_files"]["campaign_contacts"]["path"] is None
    kinds = {row[0] for row in workspace.query("select resource_type from main.build_results")}
    assert "model" in kinds
    assert "unit_test" not in kinds
    demo_seeds = workspace.scalar("select count(*) from main.build_results "
                                  "where unique_id like 'seed.%.raw_%'")
    assert demo_seeds == 0
    assert str(workspace.scalar("select as_of_date from intermediate.int_run_dates")) == \
        "2024-06-30"
