"""`make test-spark`: the same project built on DuckDB and on a local SparkSession, and every
model's table compared cell for cell (issue 19).

    python -m retail_tiers.spark_parity --work DIR [--input DATA_DIR|demo]...

Without --input the demo data (seeds/demo) is built; with it, a folder of raw files (as
`retail-tiers build --input`, checked the same way). Both builds get the same vars (the
as-of date and the load date are fixed, so neither depends on the day of the run). The
DuckDB build (a plain `dbt build`, in a child process) runs beside the Spark build, which
goes through `retail-tiers build --target spark` (retail_tiers/spark_warehouse.py: seeds,
models, the fits on the driver, the data tests on Spark, the marts copied into a DuckDB
file, DIR/cli/retail_tiers.duckdb). Every model's Spark table is compared with DuckDB's, and
so is every table of the copy.

Cells must agree:
- text, integers, dates, timestamps and booleans exactly;
- money (a decimal column on both engines) to the cent;
- other numbers (rates, shares, expectations: doubles) to 1e-9, relative above 1;
- the model fits' parameters (clv_model_fit, holdout_model_fit) to 1e-6 relative.
`fit_seconds` (how long a fit took) is left out. Rows are matched after sorting both tables
by every column (numbers rounded to 6 places for the sort only), so row order does not
matter; the column sets must be equal.
"""

from __future__ import annotations

import argparse
import decimal
import json
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from retail_tiers.errors import RetailTiersError

FIT_MODELS = {"clv_model_fit", "holdout_model_fit"}
# how long a fit took on this run: a measurement, not a result (left out of the comparison)
TIMING_COLUMNS = {"fit_seconds"}
MONEY_TOLERANCE = 0.005
RATE_TOLERANCE = 1e-9
FIT_TOLERANCE = 1e-6
# A fixed day, so that `load_date` (future_timestamp) is the same in both builds.
LOAD_DATE = "2026-11-30"


@dataclass
class TableResult:
    relation: str
    rows: int
    problems: list[str] = field(default_factory=list)
    largest_difference: float = 0.0


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool)


def _nested_key(value: Any) -> str | None:
    """A list's sort key (numbers rounded to 6 places), as text."""
    if value is None:
        return None
    return json.dumps([round(float(v), 6) if _is_number(v) else str(v) for v in value])


def _is_numeric(kind: pa.DataType) -> bool:
    return pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)


def _is_nested(kind: pa.DataType) -> bool:
    return pa.types.is_nested(kind)


def _sort_key_column(column: pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """What rows are sorted by, per column: numbers rounded to 6 places (so both engines'
    last digits do not reorder rows), lists as text, the rest as it is."""
    if _is_numeric(column.type):
        return pc.round(column.cast(pa.float64(), safe=False), 6)
    if _is_nested(column.type):
        return pa.array([_nested_key(v) for v in column.to_pylist()], pa.string())
    if pa.types.is_large_string(column.type):
        return column.cast(pa.string())
    return column


def sorted_rows(table: pa.Table, columns: list[str]) -> pa.Table:
    """The table's rows sorted by every column (nulls first)."""
    keys = pa.table({f"k{i}": _sort_key_column(table.column(c)) for i, c in enumerate(columns)
                     if not pa.types.is_null(table.column(c).type)})  # a column of nulls only
    if not keys.num_columns:
        return table
    order = pc.sort_indices(keys, sort_keys=[(name, "ascending", "at_start")
                                             for name in keys.column_names])
    return table.take(order)


def _cell_difference(left: Any, right: Any, money: bool, fit: bool) -> float | None:
    """None when the two cells agree; else how far apart they are."""
    if left is None or right is None:
        return None if left is None and right is None else math.inf
    if isinstance(left, list) or isinstance(right, list):
        if not (isinstance(left, list) and isinstance(right, list)) or len(left) != len(right):
            return math.inf
        worst = [_cell_difference(a, b, money, fit) for a, b in zip(left, right, strict=True)]
        found = [w for w in worst if w is not None]
        return max(found) if found else None
    if _is_number(left) and _is_number(right):
        a, b = float(left), float(right)
        if math.isnan(a) or math.isnan(b):
            return None if math.isnan(a) and math.isnan(b) else math.inf
        if a == b:
            return None
        gap = abs(a - b)
        if fit:
            allowed = FIT_TOLERANCE * max(abs(a), abs(b))
        elif money:
            allowed = MONEY_TOLERANCE
        else:
            allowed = RATE_TOLERANCE * max(1.0, abs(a), abs(b))
        return None if gap <= allowed else gap
    return None if left == right else math.inf


def compare_tables(relation: str, left: pa.Table, right: pa.Table) -> TableResult:
    """DuckDB's table (left) against Spark's (right), cell for cell."""
    result = TableResult(relation, left.num_rows)
    left_columns, right_columns = set(left.column_names), set(right.column_names)
    if left_columns != right_columns:
        result.problems.append(
            f"columns differ: only DuckDB {sorted(left_columns - right_columns)}, "
            f"only Spark {sorted(right_columns - left_columns)}")
        return result
    if left.num_rows != right.num_rows:
        result.problems.append(f"rows differ: DuckDB {left.num_rows}, Spark {right.num_rows}")
        return result
    columns = [c for c in left.column_names if c not in TIMING_COLUMNS]
    fit = relation.split(".")[-1] in FIT_MODELS
    left, right = sorted_rows(left, columns), sorted_rows(right, columns)
    bad: list[tuple[int, int]] = []  # (row, column number) of the cells that differ
    for number, column in enumerate(columns):
        a, b = left.column(column), right.column(column)
        money = pa.types.is_decimal(a.type) and pa.types.is_decimal(b.type)
        is_fit = fit and (pa.types.is_floating(a.type) or pa.types.is_list(a.type))
        if _is_numeric(a.type) and _is_numeric(b.type):
            rows, gaps = _numeric_differences(a, b, money, is_fit)
        elif _same_family(a.type, b.type):
            rows, gaps = _plain_differences(a, b)
        else:
            rows, gaps = _cell_differences(a.to_pylist(), b.to_pylist(), money, is_fit)
        finite = gaps[np.isfinite(gaps)]
        if finite.size:
            result.largest_difference = max(result.largest_difference, float(finite.max()))
        bad += [(int(row), number) for row in rows]
    for row, number in sorted(bad)[:5]:
        column = columns[number]
        result.problems.append(
            f"row {row + 1} column {column}: DuckDB {left.column(column)[row].as_py()!r}, "
            f"Spark {right.column(column)[row].as_py()!r}")
    return result


def _numeric_differences(left: pa.ChunkedArray, right: pa.ChunkedArray, money: bool,
                         fit: bool) -> tuple[np.ndarray, np.ndarray]:
    """The rows where two number columns differ beyond the tolerance, and by how much (inf:
    a null or NaN against a number); vectorised _cell_difference."""
    a = left.cast(pa.float64(), safe=False).to_numpy(zero_copy_only=False).astype(float)
    b = right.cast(pa.float64(), safe=False).to_numpy(zero_copy_only=False).astype(float)
    a_null = left.is_null().to_numpy(zero_copy_only=False)
    b_null = right.is_null().to_numpy(zero_copy_only=False)
    both = ~a_null & ~b_null
    a_nan, b_nan = both & np.isnan(a), both & np.isnan(b)
    numbers = both & ~a_nan & ~b_nan
    with np.errstate(invalid="ignore"):
        gap = np.where(numbers, np.abs(a - b), 0.0)
        size = np.maximum(np.abs(a), np.abs(b))
        if fit:
            allowed = FIT_TOLERANCE * size
        elif money:
            allowed = np.full(a.shape, MONEY_TOLERANCE)
        else:
            allowed = RATE_TOLERANCE * np.maximum(1.0, size)
        differ = numbers & (a != b) & ~(gap <= allowed)
    infinite = (a_null != b_null) | (a_nan != b_nan)
    rows = np.flatnonzero(differ | infinite)
    return rows, np.where(infinite[rows], np.inf, gap[rows])


FAMILIES = (pa.types.is_string, pa.types.is_large_string, pa.types.is_boolean,
            pa.types.is_date32, pa.types.is_timestamp, pa.types.is_binary)


def _same_family(left: pa.DataType, right: pa.DataType) -> bool:
    """Text and text, dates and dates, timestamps and timestamps, ...: compared as values."""
    text = (pa.types.is_string, pa.types.is_large_string)
    if any(check(left) for check in text) and any(check(right) for check in text):
        return True
    return any(check(left) and check(right) for check in FAMILIES)


def _plain_differences(left: pa.ChunkedArray,
                       right: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """The rows where two columns of text, dates, timestamps or booleans differ (a null
    equals only a null); exact."""
    equal = pc.fill_null(pc.equal(left, right.cast(left.type)), False)
    both_null = pc.and_(left.is_null(), right.is_null())
    rows = np.flatnonzero(~pc.or_(equal, both_null).to_numpy(zero_copy_only=False))
    return rows, np.full(rows.shape, np.inf)


def _cell_differences(left: list[Any], right: list[Any], money: bool,
                      fit: bool) -> tuple[np.ndarray, np.ndarray]:
    """The rows where two columns differ, cell by cell (text, dates, lists, ...)."""
    if left == right:
        return np.array([], dtype=int), np.array([], dtype=float)
    found = [(row, _cell_difference(a, b, money, fit))
             for row, (a, b) in enumerate(zip(left, right, strict=True))]
    found = [(row, gap) for row, gap in found if gap is not None]
    return (np.array([row for row, _ in found], dtype=int),
            np.array([gap for _, gap in found], dtype=float))


def _comparable_spark(table: pa.Table) -> pa.Table:
    """Spark's timestamps arrive as UTC-zoned instants of the wall-clock values (the session
    time zone is UTC): without their zone, as DuckDB's plain timestamps (the copy to DuckDB
    does the same in SQL: spark_warehouse.plain_timestamp_columns)."""
    fields = [pa.field(item.name, pa.timestamp("us"))
              if pa.types.is_timestamp(item.type) and item.type.tz is not None else item
              for item in table.schema]
    return table.cast(pa.schema(fields)) if fields != list(table.schema) else table


def model_relations(project: Path, target_path: Path) -> list[str]:
    """schema.name of every model that is a table, a view or an incremental table."""
    manifest = json.loads((target_path / "manifest.json").read_text(encoding="utf-8"))
    found = []
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model" and node["config"]["materialized"] != "ephemeral":
            found.append(f"{node['schema']}.{node['alias']}")
    return sorted(found)


@dataclass
class DuckdbBuild:
    """A plain `dbt build` on DuckDB into work/duckdb/warehouse.duckdb, in a child process
    that runs while the Spark build does (start(), then wait())."""

    warehouse: Path
    process: subprocess.Popen[str]
    started: float

    def wait(self, log: Any) -> Path:
        stdout, _ = self.process.communicate()
        if self.process.returncode != 0:
            tail = "\n".join(stdout.splitlines()[-15:])
            raise RetailTiersError(f"spark parity: the DuckDB build failed:\n{tail}")
        log(f"DuckDB build: {time.perf_counter() - self.started:.1f} s (beside the Spark build)")
        return self.warehouse


def start_duckdb(project: Path, work: Path, dbt_vars: dict[str, Any]) -> DuckdbBuild:
    warehouse = work / "duckdb" / "warehouse.duckdb"
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    warehouse.unlink(missing_ok=True)
    env = {**os.environ, "RETAIL_TIERS_DB": str(warehouse),
           "DBT_TARGET_PATH": str(work / "duckdb" / "target"),
           "DBT_LOG_PATH": str(work / "duckdb" / "logs")}
    args = [str(Path(sys.executable).with_name("dbt")), "build", "--profiles-dir", str(project),
            "--project-dir", str(project), "--vars", json.dumps(dbt_vars)]
    if "raw_files" in dbt_vars:
        args += ["--exclude", "path:seeds/demo"]
    process = subprocess.Popen(args, cwd=project, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    return DuckdbBuild(warehouse, process, time.perf_counter())


def input_vars(input_dir: Path, work: Path) -> dict[str, Any]:
    """The raw_files var `retail-tiers build --input` would pass for this folder."""
    from retail_tiers.build import prepare_input

    raw_files, _, _ = prepare_input(input_dir, None, work / "input.duckdb", lambda _: None)
    return {"raw_files": raw_files}


def run(project: Path, work: Path, input_dir: Path | None, as_of: str | None,
        log: Any = print, reuse_duckdb: bool = False) -> list[TableResult]:
    """Both builds, the Spark one through `retail-tiers build --target spark` (its DuckDB copy
    of the marts in work/cli/), then every model compared, and the copy's tables too."""
    work.mkdir(parents=True, exist_ok=True)
    dbt_vars: dict[str, Any] = {"load_date": LOAD_DATE}
    if as_of:
        dbt_vars["as_of_date"] = as_of
    if input_dir is not None:
        dbt_vars.update(input_vars(input_dir, work))
    duck = work / "duckdb" / "warehouse.duckdb"
    duckdb_build = None
    if not (reuse_duckdb and duck.exists()):
        duckdb_build = start_duckdb(project, work, dbt_vars)

    # one Spark folder for every dataset of the run (a SparkSession's warehouse folder cannot
    # change); each build replaces every table of the one before
    os.environ["RETAIL_TIERS_SPARK_DIR"] = str(work.parent / "spark")
    os.environ["DBT_TARGET_PATH"] = str(work / "spark_target")
    os.environ["DBT_LOG_PATH"] = str(work / "spark_logs")
    os.environ["RETAIL_TIERS_DB"] = str(work / "cli" / "retail_tiers.duckdb")
    from retail_tiers.build import BuildOptions
    from retail_tiers.spark_warehouse import run_spark_build

    results = []
    started = time.perf_counter()
    try:
        summary = run_spark_build(BuildOptions(input_dir=input_dir, as_of=as_of,
                                               extra_vars=(f"load_date={LOAD_DATE}",)),
                                  echo=log)
    finally:
        if duckdb_build is not None:
            duck = duckdb_build.wait(log)
    log(f"Spark build (retail-tiers build --target spark, data tests included, the marts "
        f"copied to DuckDB): {time.perf_counter() - started:.1f} s")
    if not summary.success:
        results.append(TableResult("retail-tiers build --target spark", 0,
                                   [summary.failure_line()]))

    from pyspark.sql import SparkSession

    spark = SparkSession.builder.getOrCreate()
    con = duckdb.connect(str(duck), read_only=True)
    started = time.perf_counter()
    try:
        for relation in model_relations(project, work / "spark_target"):
            right = _comparable_spark(spark.table(relation).toArrow())
            results.append(compare_tables(relation, duckdb_table(con, relation), right))
        log(f"compared the models: {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        if summary.success:
            results += compare_copy(con, work / "cli" / "retail_tiers.duckdb")
        log(f"compared the DuckDB copy: {time.perf_counter() - started:.1f} s")
    finally:
        con.close()
    return results


def duckdb_table(con: duckdb.DuckDBPyConnection, relation: str) -> pa.Table:
    table = con.sql(f"select * from {relation}").arrow()
    return table.read_all() if hasattr(table, "read_all") else table


def compare_copy(con: duckdb.DuckDBPyConnection, copy: Path) -> list[TableResult]:
    """The DuckDB copy `build --target spark` published against the DuckDB build: every table
    of the copy but the build's record."""
    results = []
    copied = duckdb.connect(str(copy), read_only=True)
    try:
        relations = [f"{schema}.{name}" for schema, name in copied.execute(
            "select table_schema, table_name from information_schema.tables "
            "order by all").fetchall() if name not in ("build_runs", "build_results")]
        for relation in relations:
            found = compare_tables(relation, duckdb_table(con, relation),
                                   duckdb_table(copied, relation))
            found.relation = f"{relation} (DuckDB copy)"
            results.append(found)
    finally:
        copied.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, required=True, help="scratch folder")
    parser.add_argument("--input", type=Path, action="append", default=None,
                        help="raw files, or `demo` for the demo seeds (default); repeat it to "
                             "check several datasets with one Spark session")
    parser.add_argument("--as-of", default=None)
    parser.add_argument("--out", type=Path, default=None, help="write the results as json")
    parser.add_argument("--reuse-duckdb", action="store_true",
                        help="compare with the DuckDB build a previous run left in --work")
    options = parser.parse_args(argv)
    project = Path(__file__).resolve().parents[1]
    work = options.work.resolve()
    datasets = options.input or [Path("demo")]
    everything: dict[str, list[TableResult]] = {}
    status = 0
    try:
        for dataset in datasets:
            name = "demo" if str(dataset) == "demo" else dataset.name
            print(f"---- {name} ----", flush=True)
            try:
                results = run(project, work / f"build-{name}",
                              None if name == "demo" else dataset,
                              options.as_of, reuse_duckdb=options.reuse_duckdb)
            except RetailTiersError as error:
                print(error, file=sys.stderr)
                return 1
            everything[name] = results
            status = max(status, print_results(name, results))
    finally:
        stop_spark()
    if options.out:
        options.out.write_text(json.dumps({name: [r.__dict__ for r in results]
                                           for name, results in everything.items()},
                                          indent=2, default=str), encoding="utf-8")
    return status


def print_results(name: str, results: list[TableResult]) -> int:
    failed = [r for r in results if r.problems]
    for result in results:
        status = "equal" if not result.problems else "DIFFERENT"
        gap = result.largest_difference
        print(f"{status:9} {result.relation:55} {result.rows:>8} rows"
              + (f"  largest gap {gap:.3g}" if gap else ""))
        for problem in result.problems:
            print(f"          {problem}")
    print(f"{name}: {len(results) - len(failed)} of {len(results)} tables equal on DuckDB and "
          "Spark", flush=True)
    return 1 if failed else 0


def stop_spark() -> None:
    """Stop the SparkSession the builds started, if any (its JVM goes with it)."""
    if "pyspark" not in sys.modules:
        return
    from pyspark import SparkContext

    context = SparkContext._active_spark_context
    if context is not None:
        cpu = jvm_cpu_seconds(context)
        if cpu is not None:
            print(f"Spark JVM: {cpu:.1f} CPU s", flush=True)
        context.stop()


def jvm_cpu_seconds(context: Any) -> float | None:
    """The CPU seconds (user + system) of the session's JVM so far, from /proc (Linux)."""
    process = getattr(getattr(context, "_gateway", None), "proc", None)
    try:
        fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (AttributeError, OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    raise SystemExit(main())
