"""The row accounting test holds staging to the rows `retail-tiers check` counted in its own
full read of each file (raw_files entry `rows`): a count that differs from the staged rows by
one fails it, so the build does not need to read a large file a third time to prove nothing
was lost."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from conftest import (
    PROJECT_DIR,
    DbtRun,
    GeneratedBuild,
    Workspace,
    invoke_dbt,
    parse_of,
)

from retail_tiers.build import dbt_environment, prepare_input, split_build_input
from retail_tiers.build_state import temp_warehouse


def run_reconcile_test(built: Workspace, scratch: Workspace,
                       raw_files: dict[str, Any]) -> DbtRun:
    """`dbt test --select assert_raw_rows_reconcile` on a copy of the built warehouse, handed
    the files as `retail-tiers build` hands them (build inputs in the environment, dbt run in
    the warehouse's folder, the file named as the build names the one it writes), so that it
    starts from the build's parse of the project: the scratch target folder holds a copy of
    it, and the two runs share it."""
    warehouse = temp_warehouse(scratch.warehouse)
    if not warehouse.exists():
        warehouse.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built.warehouse, warehouse)
        parse_of(built, scratch)
    settings, build_input = split_build_input({"raw_files": raw_files})
    run = invoke_dbt(["test", "--select", "assert_raw_rows_reconcile",
                      "--vars", json.dumps(settings),
                      "--profiles-dir", str(PROJECT_DIR), "--project-dir", str(PROJECT_DIR),
                      "--target-path", str(scratch.root / "target"),
                      "--log-path", str(scratch.root / "logs")],
                     dbt_environment(warehouse, build_input), cwd=warehouse.parent)
    assert run.reused_parse, run.events
    return run


def test_a_miscounted_file_fails_the_row_accounting_test(
        generated_build: GeneratedBuild, tmp_path: Path) -> None:
    workspace = Workspace(tmp_path)  # the target and log folders of these dbt runs
    workspace.root.mkdir(parents=True, exist_ok=True)
    env_workspace = generated_build.workspace  # the warehouse, only read by `dbt test`
    raw_files, _, report = prepare_input(generated_build.data, None, env_workspace.warehouse,
                                         lambda _: None)
    lines = generated_build.manifest["rows"]["transactions"]
    assert raw_files["transactions"]["rows"] == report.file("transactions").rows == lines
    assert env_workspace.scalar("select count(quarantine_reason) from staging.stg_transactions") > 0
    run = run_reconcile_test(env_workspace, workspace, raw_files)
    assert run.success and run.ran("test") == ["assert_raw_rows_reconcile"], run.explain()

    raw_files["transactions"]["rows"] = lines + 1  # a line the check saw and staging did not
    run = run_reconcile_test(env_workspace, workspace, raw_files)
    assert not run.success, run.nodes
    assert [node for node in run.nodes if node[0] == "test"] == [
        ("test", "assert_raw_rows_reconcile", "fail")]
