"""Atomic builds: where a build writes, the build lock, and the record of the last build.

`retail-tiers build` never writes the warehouse file itself. dbt builds a new DuckDB file
beside it (`.<name>.build-next.tmp`); only after dbt succeeded is that file moved over the
warehouse with `os.replace` (one atomic rename). Until then readers keep the previous, complete
warehouse. Beside the warehouse:

- `<name>.build.lock`: held (flock) by the running build; the kernel releases it when the
  process ends in any way, so a second build is refused and a reader can tell a running build
  from a dead one.
- `<name>.last_build.json`: written when a build starts (`running`), replaced by `failed` when
  it fails, removed when it succeeds. It names the run of the warehouse the build started
  from (`base_run_id`), so readers report a failure only while the warehouse is still that
  one: after a later successful build (or a plain `dbt build`), it no longer applies.

Temp files of a build that was killed are removed by the next build.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import shutil
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retail_tiers.errors import RetailTiersError

if TYPE_CHECKING:  # annotations only: the connection comes from retail_tiers.warehouse
    import duckdb

TEMP_MARK = ".build-"


def temp_warehouse(warehouse: Path) -> Path:
    """The file a build writes, beside the warehouse (same file system). One name per
    warehouse (the build lock keeps builds apart, and a killed build's file is removed by the
    next one): the path is part of dbt's connection profile, so a name that changed with every
    build would make dbt parse the whole project again each time (2-7 s) instead of reusing
    target/partial_parse.msgpack."""
    return warehouse.with_name(f".{warehouse.name}{TEMP_MARK}next.tmp")


def lock_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".build.lock")


def state_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".last_build.json")


def remove_stale_temp_files(warehouse: Path) -> list[Path]:
    """Delete the temp files of builds (with DuckDB's .wal and its spill folder .tmp/); call
    only holding the lock."""
    removed = []
    for path in warehouse.parent.glob(f".{warehouse.name}{TEMP_MARK}*"):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


@contextlib.contextmanager
def build_lock(warehouse: Path) -> Iterator[None]:
    """Hold the warehouse's build lock for the block; a second build gets a one-line error."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    path = lock_path(warehouse)
    handle = path.open("a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _running_pid(warehouse)
            raise RetailTiersError(
                f"warehouse {warehouse} is being built by another process"
                f"{f' (PID {holder})' if holder else ''}: wait for that build to finish"
            ) from None
        yield
    finally:
        handle.close()


def build_running(warehouse: Path) -> bool:
    """True while some process holds the build lock."""
    path = lock_path(warehouse)
    if not path.exists():
        return False
    with path.open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def _running_pid(warehouse: Path) -> int | None:
    state = read_state(warehouse)
    return int(state["pid"]) if state and state.get("pid") else None


# ---- the record of the last build -----------------------------------------------------------


def write_state(warehouse: Path, state: dict[str, Any]) -> None:
    """Write the sidecar atomically (temp file + rename): it is never seen half-written."""
    path = state_path(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temp.write_text(json.dumps(state, ensure_ascii=False, indent=1, default=str),
                        encoding="utf-8")
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def read_state(warehouse: Path) -> dict[str, Any] | None:
    path = state_path(warehouse)
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def clear_state(warehouse: Path) -> None:
    state_path(warehouse).unlink(missing_ok=True)


def started_state(warehouse: Path, input_description: str, base_run_id: str | None) -> dict:
    return {"state": "running", "pid": os.getpid(),
            "started_at": dt.datetime.now().isoformat(timespec="seconds"),
            "input_description": input_description, "base_run_id": base_run_id,
            "failure": None}


def latest_run_id(con: duckdb.DuckDBPyConnection) -> str | None:
    """run_id of the build that made the warehouse open on `con` (None before any record)."""
    tables = {row[0] for row in con.execute(
        "select table_name from information_schema.tables where table_schema = 'main'"
    ).fetchall()}
    if "build_runs" not in tables:
        return None
    found = con.execute(
        "select run_id from main.build_runs order by started_at desc limit 1").fetchall()
    return str(found[0][0]) if found else None


@dataclass(frozen=True)
class FailedBuild:
    """A build after the warehouse's own that did not complete."""

    started_at: str
    input_description: str
    failure: str

    def line(self) -> str:
        return (f"the last build (started {self.started_at.replace('T', ' ')} from "
                f"{self.input_description}) failed: {self.failure}; these figures come from "
                "the build before it")


def failed_build(warehouse: Path, current_run_id: str | None) -> FailedBuild | None:
    """The failed or killed build that followed the warehouse's own build, if any."""
    state = read_state(warehouse)
    if not state or state.get("base_run_id") != current_run_id:
        return None
    if state.get("state") == "failed":
        failure = str(state.get("failure") or "no message")
    elif state.get("state") == "running" and not build_running(warehouse):
        failure = "it stopped before finishing (killed, out of memory or out of disk)"
    else:
        return None
    return FailedBuild(str(state.get("started_at") or "?"),
                       str(state.get("input_description") or "?"), failure)


def missing_warehouse_line(warehouse: Path) -> str:
    """The one-line refusal when there is no warehouse, naming a failed first build."""
    found = failed_build(warehouse, None)
    if found:
        return (f"no warehouse at {warehouse}: the build started "
                f"{found.started_at.replace('T', ' ')} failed: {found.failure}")
    return f"no warehouse at {warehouse}: run `retail-tiers build` first"


def fault_point(name: str) -> None:
    """Test seam for the fault suite: SIGKILL this process at the named point when the
    environment variable RETAIL_TIERS_KILL_AT names it (`before-dbt`, `node:<name>`,
    `before-replace`); does nothing otherwise."""
    if os.environ.get("RETAIL_TIERS_KILL_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
