"""Data that leaves nothing to report ends in one clear line, and nothing is replaced: no
clean transaction line, an --as-of date before the first order, data without a complete
month (no default as-of date)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from conftest import PARSE_FILE, Workspace, parse_of, run_cli, transaction

from retail_tiers.build_state import read_state

MakeRaw = Callable[..., Path]


def with_previous_warehouse(source: Workspace, root: Path) -> Workspace:
    workspace = Workspace(root)
    workspace.warehouse.parent.mkdir(parents=True)
    shutil.copy(source.warehouse, workspace.warehouse)
    return workspace


def test_no_clean_rows_is_one_line(make_raw: MakeRaw, demo_workspace: Workspace,
                                   tmp_path: Path) -> None:
    rows = [transaction(1, quantity="two"), transaction(2, order_id=""),
            transaction(3, ordered_at="not a date"), transaction(4, quantity="three")]
    folder = make_raw({"transactions.csv": rows})
    workspace = with_previous_warehouse(demo_workspace, tmp_path / "workspace")
    before = workspace.warehouse.read_bytes()
    result = run_cli(["build", "--input", str(folder)], workspace)
    assert result.exit_code == 1
    assert result.error == (
        "error: transactions: none of the 4 lines is clean (non_numeric_value 2, "
        "missing_order_id 1, unparseable_timestamp 1): nothing to build a warehouse from; fix "
        "the lines (see quarantine reasons above) and build again")
    assert workspace.warehouse.read_bytes() == before
    assert (read_state(workspace.warehouse) or {}).get("state") == "failed"


def test_as_of_before_the_first_order_is_refused(make_raw: MakeRaw, demo_workspace: Workspace,
                                                 tmp_path: Path) -> None:
    rows = [transaction(number, ordered_at=f"2024-0{number % 5 + 1}-1{number % 9} 10:00:00")
            for number in range(1, 30)]
    folder = make_raw({"transactions.csv": rows})
    workspace = with_previous_warehouse(demo_workspace, tmp_path / "workspace")
    before = workspace.warehouse.read_bytes()
    # the demo build's parse of the project: a build with --as-of starts from it (the date
    # reaches dbt as a build input, not in --vars), so dbt leaves the file as it was
    parsed = parse_of(demo_workspace, workspace).root / "target" / PARSE_FILE
    parsed_project = parsed.read_bytes()
    result = run_cli(["build", "--input", str(folder), "--as-of", "2023-12-31"], workspace)
    assert result.exit_code == 1
    assert result.error == (
        "error: --as-of 2023-12-31: before the first clean order (2024-01-11), so every "
        "customer figure would be empty; give a date from 2024-01-11 to 2024-05-16")
    assert workspace.warehouse.read_bytes() == before
    assert parsed.read_bytes() == parsed_project
    kpis = run_cli(["kpis"], workspace)
    assert kpis.exit_code == 0 and kpis.stdout.startswith("note: the last build (started ")
    assert "--as-of 2023-12-31: before the first clean order" in kpis.stdout


def test_data_without_a_complete_month_needs_an_as_of_date(make_raw: MakeRaw,
                                                           workspace: Workspace) -> None:
    rows = [transaction(number, ordered_at=f"2024-05-15 1{number}:00:00")
            for number in range(1, 6)]
    result = run_cli(["build", "--input", str(make_raw({"transactions.csv": rows}))],
                     workspace)
    assert result.exit_code == 1
    assert result.error == (
        "error: the data (2024-05-15 to 2024-05-15) holds no complete month, so there is no "
        "default as-of date: give one, e.g. --as-of 2024-05-15")
    assert not workspace.warehouse.exists()


def test_one_customer_builds_everything_but_predictions(make_raw: MakeRaw,
                                                        workspace: Workspace) -> None:
    # one customer buying now and then over half a year: too few to fit any model
    rows = [transaction(number, customer_id="C001",
                        ordered_at=f"2024-0{number % 6 + 1}-{number % 20 + 5} 10:00:00")
            for number in range(1, 13)]
    result = run_cli(["build", "--input", str(make_raw({"transactions.csv": rows})),
                      "--as-of", "2024-06-30"], workspace)
    assert result.exit_code == 0, result.stderr + result.stdout[-2000:]
    fits = workspace.query("select model, fit_status, fit_message from main.clv_model_fit "
                           "order by model")
    assert [status for _, status, _ in fits] == ["insufficient_data"] * 3
    assert all("fewer than the" in message for _, _, message in fits
               if message and "customers" in message)
    assert workspace.scalar("select count(*) from main.customer_predictions") == 0
    assert workspace.scalar("select count(*) from main.customers") == 1
    assert workspace.scalar("select count(*) from main.monthly_kpis") > 0
    report = run_cli(["kpis"], workspace)
    assert report.exit_code == 0, report.stderr
