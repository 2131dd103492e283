"""Opening the warehouse with errors a user can act on (missing file, lock held by a build)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

# DuckDB's engine alone: `_duckdb` is the compiled module whose connect and Error the duckdb
# package re-exports. Importing the package also builds its Python layer (the relational API's
# dataclasses, a version looked up through importlib.metadata), 0.1-0.2 s of every report's
# start that reading the warehouse never uses.
try:
    from _duckdb import Error as DuckDBError
    from _duckdb import connect as duckdb_connect
except ImportError:  # a DuckDB whose engine is not the top-level `_duckdb` module
    from duckdb import Error as DuckDBError
    from duckdb import connect as duckdb_connect

from retail_tiers.build_state import failed_build, latest_run_id, missing_warehouse_line
from retail_tiers.errors import RetailTiersError

if TYPE_CHECKING:
    import duckdb


def lock_message(path: Path, error: Exception) -> str | None:
    """A one-line explanation when `error` is DuckDB's 'could not set lock', else None."""
    text = str(error)
    if "lock" not in text.lower():
        return None
    pid = re.search(r"PID (\d+)", text)
    holder = f" (PID {pid.group(1)})" if pid else ""
    return (
        f"warehouse {path} is locked by another process{holder}: "
        "wait for the running build to finish, or close the program holding it"
    )


def connect(path: Path, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """Connect to the warehouse; a missing file or a held lock becomes a RetailTiersError."""
    if read_only and not path.is_file():
        raise RetailTiersError(missing_warehouse_line(path))
    try:
        return duckdb_connect(str(path), read_only=read_only)
    except DuckDBError as error:
        message = lock_message(path, error)
        if message:
            raise RetailTiersError(message) from error
        raise RetailTiersError(f"cannot open warehouse {path}: {error}") from error


def require_tables(con: duckdb.DuckDBPyConnection, path: Path, tables: list[str]) -> None:
    """Fail with one line when the warehouse lacks a mart (an old or partial build)."""
    found = {
        row[0]
        for row in con.execute(
            "select table_name from information_schema.tables where table_schema = 'main'"
        ).fetchall()
    }
    missing = [table for table in tables if table not in found]
    if missing:
        raise RetailTiersError(
            f"warehouse {path} has no {', '.join(missing)}: run `retail-tiers build` first"
        )


def build_notice(con: duckdb.DuckDBPyConnection, path: Path) -> str | None:
    """One line when a build after the one that made this warehouse failed or was killed
    (the warehouse is then the previous, complete one), else None."""
    found = failed_build(path, latest_run_id(con))
    return found.line() if found else None
