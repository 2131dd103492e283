"""The row accounting test holds staging to the rows `retail-tiers check` counted in its own
full read of each file (raw_files entry `rows`): a count that differs from the staged rows by
one fails it, so the build does not need to read a large file a third time to prove nothing
was lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conftest import PROJECT_DIR, Workspace, run_cli, transaction

from retail_tiers.build import prepare_input

DBT_EXECUTABLE = Path(sys.executable).with_name("dbt")


def run_reconcile_test(workspace: Workspace, raw_files: dict[str, Any]) -> tuple[int, str]:
    command = [str(DBT_EXECUTABLE), "test", "--select", "assert_raw_rows_reconcile",
               "--vars", json.dumps({"raw_files": raw_files}),
               "--profiles-dir", str(PROJECT_DIR), "--project-dir", str(PROJECT_DIR),
               "--target-path", str(workspace.root / "target"),
               "--log-path", str(workspace.root / "logs")]
    completed = subprocess.run(command, env={**os.environ, **workspace.env},
                               capture_output=True, text=True, timeout=600, check=False)
    return completed.returncode, completed.stdout


def test_a_miscounted_file_fails_the_row_accounting_test(
        workspace: Workspace, make_raw: Callable[..., Path]) -> None:
    rows = [transaction(number) for number in range(1, 7)]
    rows[2]["quantity"] = "two"  # one quarantined line: it is counted too
    folder = make_raw({"transactions.csv": rows})
    assert run_cli(["build", "--input", str(folder)], workspace).exit_code == 0

    raw_files, _, report = prepare_input(folder, None, workspace.warehouse, lambda _: None)
    assert raw_files["transactions"]["rows"] == report.file("transactions").rows == 6
    code, output = run_reconcile_test(workspace, raw_files)
    assert code == 0, output[-3000:]

    raw_files["transactions"]["rows"] = 7  # a line the check saw and staging did not
    code, output = run_reconcile_test(workspace, raw_files)
    assert code != 0 and "assert_raw_rows_reconcile" in output, output[-3000:]
