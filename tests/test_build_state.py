"""The record of the last build (retail_tiers/build_state.py): readers report a failed or
killed build only while the warehouse is still the one that build started from."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from retail_tiers.build_state import (
    build_lock,
    build_running,
    failed_build,
    latest_run_id,
    missing_warehouse_line,
    started_state,
    write_state,
)
from retail_tiers.errors import RetailTiersError


def warehouse_built_by(path: Path, run_id: str) -> str | None:
    """A warehouse whose build_runs says it was built by `run_id`; returns latest_run_id."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    try:
        con.execute("create table if not exists main.build_runs "
                    "(run_id varchar, started_at timestamp)")
        con.execute("insert into main.build_runs values (?, now())", [run_id])
        return latest_run_id(con)
    finally:
        con.close()


def test_a_failure_applies_to_the_warehouse_it_started_from(tmp_path: Path) -> None:
    warehouse = tmp_path / "w" / "retail_tiers.duckdb"
    assert warehouse_built_by(warehouse, "run-a") == "run-a"
    write_state(warehouse, {**started_state(warehouse, "/data/new", "run-a"),
                            "state": "failed", "failure": "test x failed: 2 failing rows"})
    found = failed_build(warehouse, "run-a")
    assert found is not None and found.failure == "test x failed: 2 failing rows"
    assert "from /data/new) failed: test x failed: 2 failing rows" in found.line()


def test_a_later_build_makes_the_failure_old_news(tmp_path: Path) -> None:
    """A plain `dbt build` (or any later build) after a failed one: the report no longer
    says the last build failed above the new tables."""
    warehouse = tmp_path / "w" / "retail_tiers.duckdb"
    warehouse_built_by(warehouse, "run-a")
    write_state(warehouse, {**started_state(warehouse, "/data/new", "run-a"),
                            "state": "failed", "failure": "boom"})
    assert failed_build(warehouse, warehouse_built_by(warehouse, "run-b")) is None


def test_a_killed_build_is_told_from_a_running_one(tmp_path: Path) -> None:
    warehouse = tmp_path / "w" / "retail_tiers.duckdb"
    write_state(warehouse, started_state(warehouse, "/data/new", None))
    with build_lock(warehouse):  # this process is the running build
        assert build_running(warehouse)
        assert failed_build(warehouse, None) is None
    assert not build_running(warehouse)  # the lock is gone: the build died
    found = failed_build(warehouse, None)
    assert found is not None and "stopped before finishing" in found.failure
    assert missing_warehouse_line(warehouse).startswith(f"no warehouse at {warehouse}: the "
                                                        "build started ")


def test_a_second_build_is_refused_in_one_line(tmp_path: Path) -> None:
    warehouse = tmp_path / "w" / "retail_tiers.duckdb"
    write_state(warehouse, started_state(warehouse, "/data", None))
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; from pathlib import Path; from retail_tiers.build_state import build_lock\n"
         "with build_lock(Path(sys.argv[1])):\n    print('ready', flush=True); sys.stdin.read()",
         str(warehouse)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        cwd=Path(__file__).resolve().parents[1], env={**os.environ})
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(RetailTiersError) as refused, build_lock(warehouse):
            pass
        assert str(refused.value) == (f"warehouse {warehouse} is being built by another "
                                      f"process (PID {os.getpid()}): wait for that build to "
                                      "finish")
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
