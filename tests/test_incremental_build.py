"""Monthly increments end to end: a build that appends a new month's transactions file gives
the same warehouse, table for table in every schema, as a full build of all the files; a
changed setting or segment rule, a changed or removed file, another --as-of date, or
--full-refresh read everything again (and a changed setting and rule give the same warehouse
as a full build with them).

One generated dataset split by month (`generate --split-by month`): the first build has all
months but the last; the last month's file then arrives, with one more line that repeats the
id of a clean line of the first month (a duplicate across files, which only the appending
build's look at the loaded ids can catch), a purchase dated in the last month the first
build covered (late: the month ends it reaches must be recomputed, not kept), and a return of
an order the first build holds. The first build also holds a return-only order, months
earlier, of a customer whose first purchase is in the last month: the month kept by the
appending build learns the customer's first purchase month.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from pathlib import Path

import duckdb
import pytest
from conftest import Workspace, copy_project, edit_row, parse_of, run_cli

from retail_tiers.build import KEPT_WHEN_UNCHANGED
from retail_tiers.compare import compare
from retail_tiers.generate import GeneratorConfig, write_dataset

SCHEMAS = ("main", "staging", "intermediate", "predictions")
# a history shorter than the data, so that the appended month moves the window: the first
# month end changes its meaning and one month end leaves the history; of the 4 month ends
# after it, one is new, one gets the late purchase below, and one is kept as it was (models by
# month end keep it); and an RFM window of 120 days, so that orders of customers with no new
# order leave it in the appended month (int_appended_customers)
WINDOW = ("--var", "history_months=4", "--var", "rfm_window_days=120")


@pytest.fixture(scope="module")
def months(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """The input folder without its last month, that month's file (with the repeated id
    appended), and the repeated id."""
    root = tmp_path_factory.mktemp("increments")
    data = root / "data"
    write_dataset(GeneratorConfig(customers=300, months=6, seed=11, end_month="2024-06",
                                  split_by="month"), data)
    parts = sorted((data / "transactions").iterdir())
    last = root / parts[-1].name
    shutil.move(parts[-1], last)
    with parts[0].open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    clean = next(row for row in rows[1:] if row[0] and row[1] and row[3].startswith("2024"))
    with last.open("a", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerow(clean)
    add_early_return(parts[1], last)
    return data, last, clean[0]


@pytest.fixture(scope="module")
def first_build(months: tuple[Path, Path, str],
                tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The first, full build of the input folder without its last month (history_months 4),
    which both tests start from (each on a copy)."""
    data, _, _ = months
    built = Workspace(tmp_path_factory.mktemp("first_build"))
    output = build(built, data, *WINDOW)
    assert "full build: the warehouse records no earlier build from files" in output
    return built


def add_early_return(early: Path, last: Path) -> None:
    """A return-only order (ZZ-EARLY-O1: not the first order id, which moving_line moves) in
    the file `early`, of a customer whose first purchase
    is in the file `last`."""
    def read(path: Path) -> tuple[list[str], list[list[str]]]:
        with path.open(encoding="utf-8", newline="") as handle:
            header, *rows = list(csv.reader(handle))
        return header, rows

    header, early_rows = read(early)
    column = {name: index for index, name in enumerate(header)}
    customer = column["customer_id"]
    earlier = {row[customer] for part in sorted(early.parent.iterdir()) for row in read(part)[1]}
    first_buyer = next(row for row in read(last)[1] if row[customer]
                       and row[customer] not in earlier and row[column["quantity"]].isdigit()
                       and row[column["ordered_at"]].startswith(last.stem))
    returned = list(next(row for row in early_rows if row[0] and row[1]
                         and row[column["quantity"]].isdigit()))
    returned[column["transaction_id"]] = "ZZ-EARLY-R1"
    returned[column["order_id"]] = "ZZ-EARLY-O1"
    returned[customer] = first_buyer[customer]
    returned[column["quantity"]] = "-1"
    with early.open("a", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerow(returned)


def late_lines(data: Path, month_end: dt.date, new_month: str) -> list[list[str]]:
    """Two lines about a clean purchase of `month_end`'s month: a copy with new ids (a late
    purchase), and a return of one unit of it under its own order id, dated in `new_month`
    (a later return: the earlier order gains a row of its own)."""
    month = f"{month_end:%Y-%m}"
    with (data / "transactions" / f"{month}.csv").open(encoding="utf-8", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    column = {name: index for index, name in enumerate(header)}
    found = next(row for row in rows if row[0] and row[1] and row[2]
                 and row[column["ordered_at"]].startswith(month)
                 and row[column["quantity"]].isdigit() and int(row[column["quantity"]]) > 0)
    late = ["LATE-T1", "LATE-O1", *found[2:]]
    returned = list(found)
    returned[column["transaction_id"]] = "LATE-R1"
    returned[column["quantity"]] = "-1"
    returned[column["ordered_at"]] = f"{new_month}-05 10:00:00"
    return [late, returned]


def moving_line(built: Workspace, data: Path) -> list[str]:
    """A copy, with a new id, of a line of the only order of a customer who has one (the
    latest such order: the months before it are kept by models by month), naming a customer id
    that sorts first: the order's customer becomes that id (the smallest of its lines'), and
    the first customer is left with no order."""
    order_id, ordered_on = built.query(
        "select min(order_id), min(ordered_on) from intermediate.int_customer_orders "
        "group by customer_id having count(*) = 1 order by 2 desc, 1 limit 1")[0]
    with (data / "transactions" / f"{ordered_on:%Y-%m}.csv").open(
            encoding="utf-8", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    column = {name: index for index, name in enumerate(header)}
    found = next(row for row in rows if row[column["order_id"]] == order_id)
    moved = list(found)
    moved[column["transaction_id"]] = "LATE-M1"
    moved[column["customer_id"]] = "0-MOVED"
    return moved


def build(workspace: Workspace, data: Path, *args: str, project: Path | None = None) -> str:
    """`retail-tiers build --input data ARGS`, with the dbt project `project` (default: this
    repository's); appending or full, dbt raises no warning of its own."""
    extra_env = {"RETAIL_TIERS_PROJECT_DIR": str(project)} if project else None
    result = run_cli(["build", "--input", str(data), *args], workspace, extra_env=extra_env)
    assert result.exit_code == 0, result.stderr + result.stdout[-3000:]
    assert "dbt warning:" not in result.stdout, result.stdout
    return result.stdout


# what the build appended, by definition (empty in a full build): every other table is equal
BUILD_SCOPE_TABLES = {"intermediate.int_appended_orders", "intermediate.int_appended_customers"}


def assert_same_warehouse(one: Workspace, other: Workspace) -> None:
    different = {f"{item.schema}.{item.table}": item.examples for item in
                 compare(one.warehouse, other.warehouse, SCHEMAS) if not item.equal}
    assert {name: rows for name, rows in different.items()
            if name not in BUILD_SCOPE_TABLES} == {}


# The data tests of an appending build read only the rows it wrote (row_rules appended_rows,
# macros/month_increments.sql rows_written_by_append): each model's rows that differ from the
# warehouse before the append, worked out here from the appended file, and the test's filter.
APPENDED_ROWS = {
    "staging.stg_transactions": ("raw_file_name in (", "raw_file_name = $new_file"),
    "intermediate.int_orders_netted": (
        "order_id in (", "order_id in (select order_id from new_orders)"),
    # by customer: the test reads the rows of the customers the build recomputed
    "intermediate.int_customer_state_changes": (
        "customer_id in (", "customer_id in (select customer_id from "
        "intermediate.int_appended_customers)"),
    "intermediate.int_customer_purchase_days": (
        "customer_id in (", "customer_id in (select customer_id from "
        "intermediate.int_appended_customers)"),
    "intermediate.int_customer_months_classified": (
        "month_end_on in (cast(",
        "month_end_on = (select min(month_end_on) from intermediate.int_month_ends) "
        "or month_end_on >= (select min(ordered_on) from staging.stg_transactions where "
        "quarantine_reason is null and order_id in (select order_id from new_orders))"),
}


def assert_appended_rows_are_tested(appended: Workspace, before: Path, new_file: str) -> None:
    """Every row the appending build wrote (in the table now, not before: `except all`) is in
    the rows its row_rules test read, and that test's SQL filters by them."""
    con = duckdb.connect(str(appended.warehouse), read_only=True)
    try:
        con.execute(f"attach '{before}' as before (read_only)")
        con.execute(
            "create temp table new_orders as select distinct order_id "
            "from staging.stg_transactions where quarantine_reason is null "
            "and raw_file_name = $new_file", {"new_file": f"transactions/{new_file}"})
        for table, (test_filter, scope) in APPENDED_ROWS.items():
            parameters = {"new_file": f"transactions/{new_file}"} if "$" in scope else {}
            written, outside = con.execute(
                f"select count(*), count(*) filter (where not ({scope})) from "
                f"(select * from {table} except all select * from before.{table})",
                parameters).fetchone()
            assert written > 0 and outside == 0, (table, written, outside)
            name = table.split(".")[1]
            compiled = next(appended.root.glob(f"target/compiled/**/{name}_row_rules.sql"))
            counted = compiled.read_text(encoding="utf-8").split("from ", 1)[1].split("\n)", 1)[0]
            assert f"where {test_filter}" in " ".join(counted.split()), counted
    finally:
        con.close()
    # the view of the clean lines, a function of each line (the identities file, the other
    # input, makes a full build when it changes): its test reads the appended files' lines,
    # which the view names by file
    compiled = next(appended.root.glob("target/compiled/**/int_transaction_lines_row_rules.sql"))
    assert "where raw_file_name in (" in " ".join(compiled.read_text(encoding="utf-8").split())
    assert appended.scalar(
        "select count(*) from intermediate.int_transaction_lines where raw_file_name = ?",
        [f"transactions/{new_file}"]) == appended.scalar(
        "select count(*) from staging.stg_transactions where raw_file_name = ? "
        "and quarantine_reason is null", [f"transactions/{new_file}"]) > 0
    # the clean lines' ids: only the appended lines' ids are counted, among all lines
    compiled = next(appended.root.glob(
        "target/compiled/**/unique_stg_transactions_transaction_id.sql"))
    assert "and raw_file_name in (" in " ".join(compiled.read_text(encoding="utf-8").split())


def test_appending_a_month_equals_a_full_build_and_a_setting_reads_everything(
        months: tuple[Path, Path, str], first_build: Workspace, tmp_path: Path) -> None:
    data, last, repeated_id = months
    appended = first_build.copy_to(tmp_path / "appended", with_target=True)
    kept_month_ends = appended.query(
        "select distinct month_end_on from intermediate.int_customer_months_classified")
    changed_setting = first_build.copy_to(tmp_path / "changed_setting", with_target=True)

    # the month's file, and in it a purchase of the last month end built, arriving late (the
    # month end it reaches is kept by the window but must be recomputed), and a return of an
    # order already built (the order is recomputed from all its lines, old and new), and a
    # line that moves a customer's only order to another customer
    previous_as_of = max(row[0] for row in kept_month_ends)
    arrived = data / "transactions" / last.name
    shutil.copy(last, arrived)
    late, returned = late_lines(data, previous_as_of, last.stem)
    moved = moving_line(appended, data)
    with arrived.open("a", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows([late, returned, moved])
    # and a campaign added to campaigns.csv: that file is staged again; the other raw files
    # are kept as staged, but for one with a row quarantined as future_timestamp (the load
    # date moves: the row may be clean now)
    with (data / "campaigns.csv").open("a", encoding="utf-8", newline="") as handle:
        handle.write("ZZ-LATE-C1,Late campaign,sms,2024-06-01,2024-06-10,100\n")
    with_future_rows = {name for name in KEPT_WHEN_UNCHANGED if appended.scalar(
        f"select count(*) from staging.stg_{name} "
        "where quarantine_reason = 'future_timestamp'")}
    assert "feedback" in with_future_rows
    output = build(appended, data, *WINDOW)
    assert f"appending 1 new file: transactions/{last.name}" in output
    kept = [name for name in KEPT_WHEN_UNCHANGED if name not in with_future_rows | {"campaigns"}]
    assert ("unchanged since the last build, kept as staged: "  # an absent file goes unnamed
            + ", ".join(f"{name}.csv" for name in kept if (data / f"{name}.csv").exists())
            + "\n") in output
    assert appended.query("select name from main.build_results where name like 'stg_%' "
                          "and resource_type = 'model' order by 1") == sorted(
        (f"stg_{name}",) for name in {*KEPT_WHEN_UNCHANGED, "transactions"} - set(kept))
    # the kept models' own tests are left out, but not a test that reads a rebuilt model too
    tests_run = {row[0] for row in appended.query(
        "select name from main.build_results where resource_type = 'test'")}
    assert "stg_customers_row_rules" not in tests_run
    assert "assert_raw_rows_reconcile" in tests_run
    assert appended.scalar("select count(*) from staging.stg_campaigns "
                           "where campaign_id = 'ZZ-LATE-C1'") == 1
    month_ends = appended.query(
        "select distinct month_end_on from intermediate.int_customer_months_classified")
    assert len(month_ends) == len(kept_month_ends) == 4
    assert min(month_ends) > min(kept_month_ends)  # the window moved
    assert appended.query(
        "select quarantine_reason from staging.stg_transactions where raw_file_name = ? "
        "and transaction_id = ? order by source_row_number",
        [f"transactions/{last.name}", repeated_id]) == [("duplicate_transaction_id",)]
    assert appended.scalar("select count(*) from main.build_runs") == 2
    # customers whose state is recomputed only because an order of theirs left the RFM window
    # in the new month (no line of an appended order names them)
    assert appended.scalar(
        "select count(*) from intermediate.int_appended_customers where customer_id not in ("
        "  select customer_id from intermediate.int_transaction_lines where order_id in ("
        "    select order_id from intermediate.int_appended_orders) and not is_guest)") > 0
    assert appended.query(
        "select is_later_return from intermediate.int_orders_netted where order_id = ? "
        "order by 1", [returned[1]]) == [(False,), (True,)]

    # the return-only month, kept (before every order the new lines reach), learns the first
    # purchase month found in the new file
    assert appended.query(
        "select activity.month_start_on < ("
        "    select min(ordered_on) from staging.stg_transactions "
        "    where quarantine_reason is null and order_id in ("
        "      select order_id from staging.stg_transactions "
        "      where raw_file_name = ? and quarantine_reason is null)), "
        "  activity.first_purchase_month_start_on = ? "
        "from intermediate.int_customer_month_activity as activity "
        "inner join intermediate.int_customer_orders as orders "
        "  on orders.customer_id = activity.customer_id "
        "  and orders.order_month = activity.month_start_on "
        "where orders.order_id = 'ZZ-EARLY-O1'",
        [f"transactions/{last.name}", dt.date.fromisoformat(f"{last.stem}-01")]
    ) == [(True, True)]

    assert_appended_rows_are_tested(appended, changed_setting.warehouse, last.name)

    # the first build's warehouse read again from every file (--full-refresh) equals the
    # appended one; its build record says how the files were read and the as-of date it was
    # given (a changed encoding, sheet or --as-of reads everything again:
    # tests/test_increments.py, and the as-of date below)
    full = first_build.copy_to(tmp_path / "full", with_target=True)
    output = build(full, data, *WINDOW, "--full-refresh")
    assert "full build: --full-refresh" in output
    recorded = json.loads(full.scalar(
        "select vars_json from main.build_runs order by started_at desc limit 1"))
    assert (recorded["input_digests"]["read_as"], recorded["input_digests"]["as_of"]) == (
        "utf-8", "")  # "": the default as-of date
    assert_same_warehouse(appended, full)

    # a new file, a changed setting and an edited segment rule (Champions: R 5 -> R 4-5, in a
    # copy of the project): everything is read again, as a full build does
    project = copy_project(tmp_path / "project")
    edit_row(project / "seeds" / "segment_rules.csv", "rfm_grid,10,champions,", ",5,5,4,5,,",
             ",4,5,4,5,,")
    output = build(changed_setting, data, *WINDOW, "--var", "churn_days=150", project=project)
    assert "full build: the models, rules or settings changed since the last build" in output
    assert changed_setting.scalar(
        "select count(*) from main.customers where rfm_grid_segment_code = 'champions' "
        "and r_score = 4") > 0  # the edited rule holds
    output = build(parse_of(changed_setting, full), data, *WINDOW, "--var", "churn_days=150",
                   project=project)
    assert "full build: the models, rules or settings changed since the last build" in output
    assert_same_warehouse(changed_setting, full)


def test_a_changed_or_removed_file_or_another_as_of_date_reads_everything(
        months: tuple[Path, Path, str], first_build: Workspace, tmp_path: Path) -> None:
    data, last, _ = months
    folder = tmp_path / "data"  # the first build's files, in this test's own folder
    shutil.copytree(data, folder)
    (folder / "transactions" / last.name).unlink(missing_ok=True)  # added by the test above
    workspace = first_build.copy_to(tmp_path / "workspace", with_target=True)
    parts = sorted((folder / "transactions").iterdir())
    # dbt's parse of the project, made by the first build in another folder
    parsed = workspace.root / "target" / "partial_parse.msgpack"
    parsed_project = parsed.read_bytes()
    # one file changed and another removed (the plan names the changed one: which of a
    # plan's reasons wins is tests/test_increments.py's)
    with parts[1].open("a", encoding="utf-8") as handle:
        handle.write(parts[1].read_text(encoding="utf-8").splitlines()[1] + "\n")
    parts[2].unlink()
    output = build(workspace, folder, *WINDOW)
    assert f"full build: transactions/{parts[1].name} changed since the last build" in output
    # a warehouse in another folder and other files, with the same settings: dbt reused its
    # parse (it rewrites the file after parsing), as dbt's profile names the warehouse by its
    # file name in its folder and the files reach dbt as build inputs, not --vars
    assert parsed.read_bytes() == parsed_project
    # the removed file's lines are gone, the changed file's new line is there
    assert workspace.query("select raw_file_name, count(*) from staging.stg_transactions "
                           "group by 1 order by 1") == [
        (f"transactions/{part.name}", count_lines(part)) for part in parts if part.exists()]
    # a new month's file under another as-of date than the last build's: each customer's state
    # was kept as of that build's date, so everything is read again (an append worked out the
    # customers to recompute from the wrong date, and its window test failed)
    shutil.copy(last, folder / "transactions" / last.name)
    as_of = f"{last.stem}-20"  # the new month's 20th (the last build's: the month before's end)
    output = build(workspace, folder, *WINDOW, "--as-of", as_of)
    assert (f"full build: the as-of date is --as-of {as_of} now, the default (the latest "
            "complete month) before") in output
    recorded = json.loads(workspace.scalar(
        "select vars_json from main.build_runs order by started_at desc limit 1"))
    assert recorded["input_digests"]["as_of"] == as_of


def count_lines(path: Path) -> int:
    """The data lines of a CSV file (its rows after the header)."""
    with path.open(encoding="utf-8", newline="") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1
