"""`retail-tiers build --target spark` without Spark: bad input and a missing Spark give one
line and leave the warehouse alone, a failed Spark build leaves the previous warehouse as it
was, and the copy of Spark's tables into DuckDB keeps values and types (the build's record
has the columns the DuckDB build's hook gives it). The real Spark build through this command,
and report / export / kpis on its copy, run in `make test-spark`, which has Java."""

from __future__ import annotations

import datetime as dt
import decimal
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import duckdb
import pyarrow as pa
import pytest
from conftest import Workspace, run_cli

import retail_tiers.spark_build as spark_build
import retail_tiers.spark_warehouse as spark_warehouse
from retail_tiers.build import BuildSummary, NodeResult
from retail_tiers.build_state import read_state


def previous_warehouse(workspace: Workspace) -> bytes:
    """A small warehouse standing for the previous build; its bytes."""
    workspace.warehouse.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(workspace.warehouse))
    con.execute("create table main.monthly_kpis as select 42 as customers")
    con.close()
    return workspace.warehouse.read_bytes()


def leftovers(workspace: Workspace) -> list[str]:
    return sorted(p.name for p in workspace.warehouse.parent.glob(".*build-*"))


def test_a_missing_input_folder_is_one_line_and_touches_nothing(workspace: Workspace,
                                                                tmp_path: Path) -> None:
    before = previous_warehouse(workspace)
    result = run_cli(["build", "--target", "spark", "--input", str(tmp_path / "nowhere")],
                     workspace)
    assert result.exit_code == 1
    assert "nowhere" in result.error
    assert workspace.warehouse.read_bytes() == before
    assert leftovers(workspace) == []


def test_without_pyspark_it_says_what_to_install(workspace: Workspace,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    before = previous_warehouse(workspace)
    monkeypatch.setitem(sys.modules, "pyspark", None)  # `import pyspark` raises ImportError
    result = run_cli(["build", "--target", "spark"], workspace)
    assert result.exit_code == 1
    assert result.error.startswith("error: --target spark needs the spark extra")
    assert workspace.warehouse.read_bytes() == before
    assert read_state(workspace.warehouse) is None  # refused before a build started


class FailingSparkBuild:
    """Stands in for SparkBuild: dbt's results so far, then the error a failed step raises."""

    results: ClassVar[list[Any]] = []
    error = "spark build: dbt run failed (int_orders_netted)"

    def __init__(self, project: Path, **_: Any) -> None:
        self.results = list(type(self).results)
        self.driver_models: list[Any] = []
        self.manifest = None

    def run(self, tests: bool = True) -> dict[str, float]:
        raise spark_build.SparkBuildError(self.error)


def failed_test_result() -> Any:
    node = SimpleNamespace(unique_id="test.retail_tiers.unique_customers_customer_id",
                           resource_type="test", name="unique_customers_customer_id",
                           relation_name=None, test_metadata=None)
    return SimpleNamespace(node=node, status="fail", failures=3, execution_time=0.5,
                           message="Got 3 results, configured to fail if != 0")


@pytest.mark.parametrize(("results", "expected"), [
    ([], "error: spark build: dbt run failed (int_orders_netted)"),
    ([failed_test_result()], "error: test unique_customers_customer_id failed: 3 failing rows"),
], ids=["step failed", "data test failed"])
def test_a_failed_spark_build_leaves_the_previous_warehouse(
        workspace: Workspace, monkeypatch: pytest.MonkeyPatch, results: list[Any],
        expected: str) -> None:
    before = previous_warehouse(workspace)
    monkeypatch.setattr(spark_warehouse, "require_spark", lambda: None)
    monkeypatch.setattr(spark_build, "SparkBuild",
                        type("Failing", (FailingSparkBuild,), {"results": results}))
    result = run_cli(["build", "--target", "spark"], workspace)
    assert result.exit_code == 1
    assert result.error == expected
    assert workspace.warehouse.read_bytes() == before
    state = read_state(workspace.warehouse)
    assert state is not None and state["state"] == "failed"
    assert state["failure"] == expected.removeprefix("error: ")
    assert leftovers(workspace) == []


def as_parquet_folders(tables: dict[str, pa.Table], folder: Path) -> dict[str, Path]:
    """Each table as a folder of Parquet files, as Spark's writer leaves it (export_parquet:
    zoned timestamps as UTC instants, two part files)."""
    import pyarrow.parquet as pq

    folders = {}
    for relation, table in tables.items():
        written = folder / relation
        written.mkdir(parents=True)
        half = table.num_rows // 2
        pq.write_table(table.slice(0, half), written / "part-00000.parquet")
        pq.write_table(table.slice(half), written / "part-00001.parquet")
        (written / "_SUCCESS").touch()
        folders[relation] = written
    return folders


@pytest.mark.parametrize("source", ["arrow", "parquet"])
def test_the_copy_keeps_values_and_types(tmp_path: Path, source: str) -> None:
    target = tmp_path / "copy.duckdb"
    utc = pa.timestamp("us", tz="UTC")
    tables = {
        "main.customers": pa.table({
            "customer_id": pa.array(["c1", "c2"]),
            "last_order_at": pa.array([dt.datetime(2026, 10, 31, 23, 59, 1), None], utc),
            "spend": pa.array([decimal.Decimal("12.34"), decimal.Decimal("0.01")],
                              pa.decimal128(18, 2)),
            "first_order_on": pa.array([dt.date(2025, 1, 2), dt.date(2026, 2, 3)]),
            "scores": pa.array([[1, 2], []], pa.list_(pa.int32())),
        }),
        "intermediate.int_run_dates": pa.table({"as_of_date": [dt.date(2026, 10, 31)]}),
    }
    spark_warehouse.copy_to_duckdb(
        tables if source == "arrow" else as_parquet_folders(tables, tmp_path / "export"), target)
    con = duckdb.connect(str(target), read_only=True)
    try:
        types = dict(con.execute("select column_name, data_type from information_schema.columns"
                                 " where table_name = 'customers'").fetchall())
        rows = con.execute("select * from main.customers order by customer_id").fetchall()
        run_dates = con.execute("select * from intermediate.int_run_dates").fetchall()
    finally:
        con.close()
    assert types == {"customer_id": "VARCHAR", "last_order_at": "TIMESTAMP",
                     "spend": "DECIMAL(18,2)", "first_order_on": "DATE",
                     "scores": "INTEGER[]"}
    # the wall-clock time Spark held in UTC, not shifted into this machine's zone
    assert rows == [("c1", dt.datetime(2026, 10, 31, 23, 59, 1), decimal.Decimal("12.34"),
                     dt.date(2025, 1, 2), [1, 2]),
                    ("c2", None, decimal.Decimal("0.01"), dt.date(2026, 2, 3), [])]
    assert run_dates == [(dt.date(2026, 10, 31),)]


def columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    return con.execute("select column_name, data_type from information_schema.columns "
                       "where table_schema = 'main' and table_name = ? order by ordinal_position",
                       [table]).fetchall()


def test_the_build_record_is_the_duckdb_builds(tmp_path: Path,
                                               demo_workspace: Workspace) -> None:
    """Same columns and types as the DuckDB build's on-run-end hook writes, and one row that
    counts what ran (the readers' build details come from it)."""
    target = tmp_path / "copy.duckdb"
    spark_warehouse.copy_to_duckdb({
        "main.row_accounting": pa.table({"raw_rows": [10, 5]}),
        "main.quarantined_rows": pa.table({"quarantine_reason": ["a", "b", "c"]}),
    }, target)
    started = dt.datetime(2026, 12, 6, 10, 0, 0)
    summary = BuildSummary(success=True, input_description="demo data (seeds/demo)",
                           as_of=None, dbt_vars={"load_date": "2026-11-30"},
                           started_at=started, finished_at=started + dt.timedelta(minutes=3))
    summary.nodes = [NodeResult("model.retail_tiers.customers", "model", "customers",
                                "success", None, 1.5, "OK"),
                     NodeResult("seed.retail_tiers.segment_rules", "seed", "segment_rules",
                                "success", None, 0.5, "INSERT 66"),
                     NodeResult("test.retail_tiers.t1", "test", "t1", "pass", 0, 0.2, "")]
    spark_warehouse.record_build(target, summary)
    built = duckdb.connect(str(demo_workspace.warehouse), read_only=True)
    copy = duckdb.connect(str(target), read_only=True)
    try:
        for table in ("build_runs", "build_results"):
            assert columns(copy, table) == columns(built, table)
        run = copy.execute("select success, models_built, seeds_loaded, tests_passed, "
                           "tests_failed, rows_in, rows_quarantined, failure, started_at, "
                           "vars_json from main.build_runs").fetchall()
        results = copy.execute("select name, status from main.build_results "
                               "order by name").fetchall()
    finally:
        built.close()
        copy.close()
    assert run == [(True, 1, 1, 1, 0, 15, 3, None, started, '{"load_date": "2026-11-30"}')]
    assert results == [("customers", "success"), ("segment_rules", "success"), ("t1", "pass")]
