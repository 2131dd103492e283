"""Build the dbt project on Spark (issue 19): dbt runs the SQL models, the driver runs the
Python models.

Open-source dbt-spark cannot run dbt Python models, so on Spark each Python model runs here,
in this process, from the very same file (`models/predictions/clv_model_fit.py`, ...): its
`model(dbt, session)` is called with a small stand-in for dbt whose `ref()` hands the model
the Spark table. The SQL a model sends through `.query(name, sql)` (the purchase patterns:
distinct x, t_x, T with counts) runs on Spark, only the small pattern table comes to the
driver, the fit and the scoring run in numpy / scipy (retail_tiers.lifetime), and the table
the model returns is written back to Spark under the model's name, where the SQL marts read
it. One code path for the maths, two ways to call it.

Everything runs in one process, so dbt and the driver share one SparkSession (one JVM): the
models in dependency order, SQL models in as few `dbt run` calls as the Python models allow,
then the seeds first and the data tests last.
"""

from __future__ import annotations

import datetime as dt
import decimal
import importlib.util
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from retail_tiers.dbt_process import lean_dbt_invocation
from retail_tiers.errors import RetailTiersError


class SparkBuildError(RetailTiersError):
    """A step of the Spark build failed (the message says which)."""


@dataclass
class QueryResult:
    """What a Python model reads from `.query(...)`: DuckDB's fetchnumpy / fetchall."""

    table: pa.Table

    def fetchall(self) -> list[tuple[Any, ...]]:
        columns = [self.table.column(i).to_pylist() for i in range(self.table.num_columns)]
        return list(zip(*columns, strict=True)) if columns else []

    def fetchnumpy(self) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for name, column in zip(self.table.column_names, self.table.columns, strict=True):
            if pa.types.is_decimal(column.type):
                column = column.cast(pa.float64())
            found[name] = column.to_numpy(zero_copy_only=False)
        return found

    def arrow(self) -> pa.Table:
        return self.table


@dataclass
class SparkTable:
    """A Spark table standing in for the DuckDB relation `dbt.ref()` gives a Python model:
    `.query(name, sql)` runs `sql` on Spark with the table visible as `name`."""

    spark: Any
    relation: str

    def query(self, name: str, sql: str) -> QueryResult:
        self.spark.table(self.relation).createOrReplaceTempView(name)
        return QueryResult(to_arrow(self.spark.sql(sql)))

    def arrow(self) -> pa.Table:
        return to_arrow(self.spark.table(self.relation))


def to_arrow(frame: Any) -> pa.Table:
    """A Spark DataFrame as an Arrow table (collected to the driver: small tables only)."""
    return frame.toArrow()


@dataclass
class ModelConfig:
    """`dbt.config`: a no-op when called, and `meta_get` for the vars in the model's meta."""

    meta: dict[str, Any]

    def __call__(self, **_: Any) -> None:
        return None

    def meta_get(self, key: str, default: Any = None) -> Any:
        return self.meta.get(key, default)

    def get(self, key: str, default: Any = None) -> Any:
        return self.meta.get(key, default)


@dataclass
class DbtStandIn:
    """The `dbt` argument of a Python model when the driver runs it."""

    spark: Any
    relations: dict[str, str]
    config: ModelConfig = field(default_factory=lambda: ModelConfig({}))

    def ref(self, name: str) -> SparkTable:
        if name not in self.relations:
            raise SparkBuildError(f"spark build: ref('{name}') names no model")
        return SparkTable(self.spark, self.relations[name])


@dataclass(frozen=True)
class Node:
    unique_id: str
    name: str
    language: str
    relation: str
    schema: str
    path: Path
    parents: tuple[str, ...]
    meta: dict[str, Any]


def model_nodes(manifest: Any, project_dir: Path) -> dict[str, Node]:
    """The enabled models of the manifest, by unique id."""
    found: dict[str, Node] = {}
    for unique_id, node in manifest.nodes.items():
        if str(getattr(node.resource_type, "value", node.resource_type)) != "model":
            continue
        found[unique_id] = Node(
            unique_id=unique_id, name=node.name,
            language=str(getattr(node.language, "value", node.language)),
            relation=f"{node.schema}.{node.alias}", schema=node.schema,
            path=project_dir / node.original_file_path,
            parents=tuple(p for p in node.depends_on.nodes if p.startswith("model.")),
            meta=dict(node.config.meta or {}),
        )
    return found


def topological(nodes: dict[str, Node]) -> list[Node]:
    ordered: list[Node] = []
    seen: set[str] = set()

    def visit(unique_id: str) -> None:
        if unique_id in seen:
            return
        seen.add(unique_id)
        for parent in sorted(nodes[unique_id].parents):
            if parent in nodes:
                visit(parent)
        ordered.append(nodes[unique_id])

    for unique_id in sorted(nodes):
        visit(unique_id)
    return ordered


def stages(nodes: dict[str, Node]) -> list[tuple[str, list[Node]]]:
    """The models in as few steps as the Python models allow: each step is ("sql", models
    for one `dbt run`) or ("python", [one model]). A Python model comes after every SQL
    model it needs, a SQL model after every Python model it needs."""
    ordered = topological(nodes)
    done: set[str] = set()
    steps: list[tuple[str, list[Node]]] = []
    remaining = list(ordered)
    while remaining:
        ready_sql = []
        for node in remaining:
            needs = set(node.parents) & set(nodes)
            if node.language == "sql" and needs <= done | {n.unique_id for n in ready_sql}:
                ready_sql.append(node)
        if ready_sql:
            steps.append(("sql", ready_sql))
            done |= {n.unique_id for n in ready_sql}
            remaining = [n for n in remaining if n.unique_id not in done]
            continue
        python = next((n for n in remaining if n.language == "python"
                       and set(n.parents) & set(nodes) <= done), None)
        if python is None:
            raise SparkBuildError("spark build: the models form no order (a cycle?)")
        steps.append(("python", [python]))
        done.add(python.unique_id)
        remaining = [n for n in remaining if n.unique_id != python.unique_id]
    return steps


def load_model_function(path: Path) -> Callable[..., Any]:
    spec = importlib.util.spec_from_file_location(f"retail_tiers_model_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise SparkBuildError(f"spark build: cannot load the Python model {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.model


def as_arrow(result: Any) -> pa.Table:
    """A Python model's result (Arrow table, pandas frame or DuckDB relation) as Arrow."""
    if isinstance(result, pa.Table):
        return result
    if hasattr(result, "arrow"):
        found = result.arrow()
        return found.read_all() if hasattr(found, "read_all") else found
    return pa.Table.from_pandas(result, preserve_index=False)


class SessionStandIn:
    """The `session` a Python model gets on Spark: the SparkSession, except that
    `from_arrow(table)` (how the models hand their Arrow table to DuckDB's session as a
    relation) gives the table back, which run_python_model writes to Spark."""

    def __init__(self, spark: Any) -> None:
        self._spark = spark

    def from_arrow(self, table: pa.Table) -> pa.Table:
        return table

    def __getattr__(self, name: str) -> Any:
        return getattr(self._spark, name)


def run_python_model(spark: Any, node: Node, relations: dict[str, str]) -> int:
    """Run one Python model on the driver and write its table to Spark; returns its rows."""
    model = load_model_function(node.path)
    dbt = DbtStandIn(spark, relations, ModelConfig(node.meta))
    table = as_arrow(model(dbt, SessionStandIn(spark)))
    if not spark.catalog.databaseExists(node.schema):  # (the metastore logs an error when
        spark.sql(f"create schema if not exists {node.schema}")  # asked to create it again)
    try:
        frame = spark.createDataFrame(table)
    except (TypeError, ValueError):  # a pyspark without Arrow tables: through pandas
        frame = spark.createDataFrame(table.to_pandas())
    frame.write.mode("overwrite").format("parquet").saveAsTable(node.relation)
    return table.num_rows


def quiet_spark(project_dir: Path) -> None:
    """Before the JVM starts: Spark logs errors only (spark_conf/log4j2.properties, unless
    SPARK_CONF_DIR names the cluster's own configuration), and pyspark's warning about the
    pandas version (the builds hand Spark Arrow tables, not pandas frames) is left out."""
    import warnings

    os.environ.setdefault("SPARK_CONF_DIR", str(project_dir / "spark_conf"))
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")


def _cause(error: BaseException | None) -> str:
    """`: <the first line of dbt's error>`, or nothing."""
    lines = [line.strip() for line in str(error or "").splitlines() if line.strip()]
    return f": {lines[0][:300]}" if lines else ""


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date | decimal.Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


@dataclass
class SparkBuild:
    """One Spark build of the project in `project_dir` (dbt invoked in this process)."""

    project_dir: Path
    target: str = "spark"
    dbt_vars: dict[str, Any] = field(default_factory=dict)
    log: Callable[[str], None] = print
    callbacks: list[Callable[[Any], None]] = field(default_factory=list)  # dbt's events
    # called after each Python model ran on the driver: its name and seconds
    on_driver_model: Callable[[str, float], None] | None = None
    quiet: bool = False  # no dbt log lines on the console (the callbacks show progress)
    manifest: Any = None
    # what ran: dbt's node results (seeds, SQL models, data tests) and the driver's models
    results: list[Any] = field(default_factory=list)
    driver_models: list[tuple[Node, int, float]] = field(default_factory=list)
    _runner: Any = None

    def _args(self, command: str, *extra: str) -> list[str]:
        args = [command, "--project-dir", str(self.project_dir), "--profiles-dir",
                str(self.project_dir), "--target", self.target, *extra]
        if self.quiet:
            args += ["--log-level", "none"]
        if self.dbt_vars:
            args += ["--vars", json.dumps(self.dbt_vars, default=_json_default)]
        return args

    def _invoke(self, runner: Any, command: str, *extra: str) -> Any:
        with lean_dbt_invocation():
            result = runner.invoke(self._args(command, *extra))
        self.results.extend(getattr(result.result, "results", None) or [])
        if not result.success:
            failed = [r.node.name for r in (result.result or []) if str(r.status) in
                      ("error", "fail", "runtime error")] if result.result else []
            detail = f" ({', '.join(failed[:5])})" if failed else _cause(result.exception)
            message = f"spark build: dbt {command} failed{detail}"
            raise SparkBuildError(message) from result.exception
        return result

    def run(self, tests: bool = True) -> dict[str, float]:
        """seed, the models stage by stage, then the data tests; seconds per step."""
        import time

        from dbt.cli.main import dbtRunner

        quiet_spark(self.project_dir)
        seconds: dict[str, float] = {}
        started = time.perf_counter()
        with lean_dbt_invocation():
            parsed = dbtRunner().invoke(self._args("parse"))
        if not parsed.success:
            raise SparkBuildError("spark build: dbt parse failed"
                                  + _cause(parsed.exception)) from parsed.exception
        manifest = self.manifest = parsed.result
        runner = dbtRunner(manifest=manifest, callbacks=self.callbacks or None)
        nodes = model_nodes(manifest, self.project_dir)
        relations = {node.name: node.relation for node in nodes.values()}
        seconds["parse"] = time.perf_counter() - started

        started = time.perf_counter()
        self._invoke(runner, "seed")
        seconds["seed"] = time.perf_counter() - started
        spark = None
        for number, (kind, step) in enumerate(stages(nodes), start=1):
            started = time.perf_counter()
            if kind == "sql":
                self.log(f"spark build: step {number}, {len(step)} SQL models")
                self._invoke(runner, "run", "--select", *[node.name for node in step])
            else:
                from pyspark.sql import SparkSession

                spark = spark or SparkSession.builder.getOrCreate()
                try:
                    rows = run_python_model(spark, step[0], relations)
                except RetailTiersError:
                    raise
                except Exception as error:  # the model's own error, in one line
                    cause = (str(error).strip().splitlines() or [type(error).__name__])[0]
                    raise SparkBuildError(f"spark build: model {step[0].name} failed on the "
                                          f"driver: {cause}") from error
                driver_seconds = time.perf_counter() - started
                self.driver_models.append((step[0], rows, driver_seconds))
                if self.on_driver_model is not None:
                    self.on_driver_model(step[0].name, driver_seconds)
                self.log(f"spark build: step {number}, {step[0].name} on the driver ({rows} rows)")
            seconds[f"step_{number}_{kind}"] = time.perf_counter() - started
        self._runner = runner
        if tests:
            seconds["data_tests"] = self.test()
        return seconds

    def test(self) -> float:
        """The data tests on Spark (after run()); seconds."""
        import time

        started = time.perf_counter()
        self._invoke(self._runner, "test")
        return time.perf_counter() - started


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m retail_tiers.spark_build [--input DIR] [--as-of DATE] [--no-tests]`."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description="Build the project on Spark (docs/spark.md).")
    parser.add_argument("--input", type=Path, default=None, help="raw files (default: demo)")
    parser.add_argument("--as-of", default=None, help="as-of date, YYYY-MM-DD")
    parser.add_argument("--target", default="spark", help="profiles.yml output")
    parser.add_argument("--no-tests", action="store_true", help="skip the data tests")
    options = parser.parse_args(argv)
    project = Path(__file__).resolve().parents[1]
    dbt_vars: dict[str, Any] = {}
    if options.as_of:
        dbt_vars["as_of_date"] = options.as_of
    try:
        if options.input is not None:
            from retail_tiers.build import prepare_input

            work = Path(os.environ.get("RETAIL_TIERS_SPARK_DIR", project / "warehouse" / "spark"))
            raw_files, _, _ = prepare_input(options.input, None, work / "input.duckdb", print)
            dbt_vars["raw_files"] = raw_files
        seconds = SparkBuild(project, options.target, dbt_vars).run(tests=not options.no_tests)
    except RetailTiersError as error:
        print(error, file=sys.stderr)
        return 1
    print("spark build done: " + ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
