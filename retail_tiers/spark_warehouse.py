"""`retail-tiers build --target spark`: build on Spark, then copy the marts into the DuckDB
warehouse that `report`, `kpis`, `alerts` and `export` read.

The Spark build (retail_tiers/spark_build.py: seeds, SQL models, the fits on the driver, the
data tests) writes its tables under RETAIL_TIERS_SPARK_DIR (default: `spark/` beside the
warehouse). When it passed, every table of the `main` schema (the marts and the rule seeds)
and `intermediate.int_run_dates` are copied into a new DuckDB file, with the build's record
(`main.build_runs`, `main.build_results`, as a DuckDB build writes them), and that file
replaces the warehouse exactly as a DuckDB build's does (retail_tiers/build.py
`build_and_replace`): a failed build leaves the previous warehouse as it was and its failure
in the sidecar the readers consult.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from retail_tiers.build import (
    BuildOptions,
    BuildSummary,
    Echo,
    NodeResult,
    _Progress,
    build_and_replace,
    build_setup,
    current_run_id,
    environment,
    format_summary,
    node_result,
    prepare_input,
)
from retail_tiers.build_state import (
    build_lock,
    remove_stale_temp_files,
    started_state,
    write_state,
)
from retail_tiers.errors import RetailTiersError

# copied besides the marts: the build's dates, which the published-build check reads
EXTRA_RELATIONS = ("intermediate.int_run_dates",)
SPARK_NEEDS = ("--target spark needs the spark extra and Java 17 or newer: "
               "pip install -e '.[spark]' (or `make test-spark`, which installs both)")

BUILD_RUNS_COLUMNS = (
    ("run_id", "varchar"), ("started_at", "timestamp"), ("finished_at", "timestamp"),
    ("success", "boolean"), ("input_description", "varchar"), ("as_of_date", "date"),
    ("vars_json", "varchar"), ("models_built", "integer"), ("seeds_loaded", "integer"),
    ("tests_passed", "integer"), ("tests_failed", "integer"), ("tests_warned", "integer"),
    ("unit_tests_passed", "integer"), ("unit_tests_failed", "integer"),
    ("rows_in", "bigint"), ("rows_quarantined", "bigint"), ("failure", "varchar"),
)
BUILD_RESULTS_COLUMNS = (
    ("run_id", "varchar"), ("unique_id", "varchar"), ("resource_type", "varchar"),
    ("name", "varchar"), ("status", "varchar"), ("failures", "integer"),
    ("execution_seconds", "double"), ("message", "varchar"),
)


def spark_dir(warehouse: Path) -> Path:
    """Where the Spark tables go: RETAIL_TIERS_SPARK_DIR, else `spark/` beside the warehouse."""
    override = os.environ.get("RETAIL_TIERS_SPARK_DIR")
    return Path(override).expanduser().resolve() if override else warehouse.parent / "spark"


def require_spark() -> None:
    """A one-line error, before any work, when pyspark, dbt-spark or Java is missing."""
    try:
        import dbt.adapters.spark  # noqa: F401
        import pyspark  # noqa: F401
    except ImportError:
        raise RetailTiersError(SPARK_NEEDS) from None
    java_home = os.environ.get("JAVA_HOME")
    if not (java_home and (Path(java_home) / "bin" / "java").exists()) and not shutil.which(
            "java"):
        raise RetailTiersError(SPARK_NEEDS + " (java not found)")


def run_spark_build(options: BuildOptions, echo: Echo = print) -> BuildSummary:
    """The Spark build of `retail-tiers build --target spark`, published as the DuckDB
    warehouse; prints and returns the same summary as a DuckDB build."""
    setup = build_setup(options)
    started_at, as_of, project = setup.started_at, setup.as_of, setup.project
    warehouse, dbt_vars = setup.warehouse, setup.dbt_vars
    with build_lock(warehouse):
        remove_stale_temp_files(warehouse)
        description = "demo data (seeds/demo)"
        if options.input_dir is not None:
            raw_files, description, _ = prepare_input(
                options.input_dir, options.encoding, warehouse, echo, sheet=options.sheet,
                preset=options.preset)
            dbt_vars["raw_files"] = raw_files
        require_spark()
        summary = BuildSummary(success=False, input_description=description, as_of=as_of,
                               dbt_vars=dbt_vars, started_at=started_at)
        write_state(warehouse, started_state(warehouse, description, current_run_id(warehouse)))
        tables = spark_dir(warehouse)
        echo(f"building on Spark ({tables}) from {description}; the marts go to {warehouse}")
        build_and_replace(project, warehouse, [], summary, echo,
                          produce=lambda temp: build_on_spark(project, tables, temp, summary,
                                                              echo))
    for line in format_summary(summary):
        echo(line)
    return summary


def build_on_spark(project: Path, tables: Path, temp: Path, summary: BuildSummary,
                   echo: Echo) -> None:
    """Run the Spark build; when it passed, write the marts and the build's record to `temp`."""
    from retail_tiers.spark_build import SparkBuild, SparkBuildError

    progress = _Progress(echo)
    settings = {"RETAIL_TIERS_SPARK_DIR": str(tables)}
    if not os.environ.get("DBT_TARGET_PATH"):  # keep the DuckDB build's partial parse apart
        settings["DBT_TARGET_PATH"] = str(tables / "target")
    with environment(**settings):
        build = SparkBuild(project, dbt_vars=summary.dbt_vars, log=lambda line: None,
                           callbacks=[progress.on_event], quiet=True,
                           on_driver_model=progress.driver_model)
        failure = None
        try:
            seconds = build.run(tests=True)
            echo("  Spark steps (s): " + ", ".join(f"{name} {value:.1f}"
                                                   for name, value in seconds.items()))
        except SparkBuildError as error:
            failure = str(error)
        finally:
            summary.nodes = [node_result(item) for item in build.results] + [
                NodeResult(node.unique_id, "model", node.name, "success", None,
                           round(seconds, 3), f"{rows} rows, on the driver")
                for node, rows, seconds in build.driver_models]
    summary.success = failure is None and not summary.failed_nodes()
    if not summary.success:
        if not summary.failed_nodes():  # else the summary names the first failed node
            summary.error = failure or "the Spark build failed (see the dbt log)"
        return
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.getOrCreate()
    relations = copied_relations(build.manifest)
    echo(f"  copying {len(relations)} tables from Spark to DuckDB")
    export = tables / "export"
    try:
        copy_to_duckdb(export_parquet(spark, relations, export), temp)
    finally:
        shutil.rmtree(export, ignore_errors=True)
    summary.finished_at = dt.datetime.now()
    record_build(temp, summary)


def export_parquet(spark: Any, relations: list[str], folder: Path) -> dict[str, pa.Table | Path]:
    """Each relation written by Spark as Parquet files in `folder`/<relation> (Spark's own
    writers, so nothing is collected on the driver: at 1M customers the history view alone is
    2 GB, above spark.driver.maxResultSize); a relation Spark writes no file for (an empty
    table) comes back as an Arrow table. Timestamps are written as zoned microseconds for the
    export only; the session's own setting (which its tables are written with) comes back."""
    setting = "spark.sql.parquet.outputTimestampType"
    before = spark.conf.get(setting, None)
    spark.conf.set(setting, "TIMESTAMP_MICROS")
    sources: dict[str, pa.Table | Path] = {}
    try:
        for relation in relations:
            frame = spark.table(relation)
            written = folder / relation
            frame.write.mode("overwrite").parquet(str(written))
            has_files = any(written.glob("*.parquet"))
            sources[relation] = written if has_files else frame.toArrow()
    finally:
        if before is None:
            spark.conf.unset(setting)
        else:
            spark.conf.set(setting, before)
    return sources


def copied_relations(manifest: Any) -> list[str]:
    """schema.name of every model and seed in the `main` schema (not ephemeral), and the
    extra relations."""
    found = set(EXTRA_RELATIONS)
    for node in manifest.nodes.values():
        kind = str(getattr(node.resource_type, "value", node.resource_type))
        if kind in ("model", "seed") and node.schema == "main" and node.config.enabled \
                and node.config.materialized != "ephemeral":
            found.add(f"{node.schema}.{node.alias}")
    return sorted(found)


def copy_to_duckdb(tables: dict[str, pa.Table | Path], target: Path) -> None:
    """Write each `schema.name` table into a new DuckDB file at `target`, from an Arrow table
    or from a folder of Parquet files (export_parquet). Timestamps become plain timestamps of
    the wall-clock values Spark held in UTC, as DuckDB's tables hold them."""
    target.unlink(missing_ok=True)
    con = duckdb.connect(str(target))
    try:
        for relation, table in tables.items():
            schema, name = relation.split(".")
            con.execute(f"create schema if not exists {schema}")
            if isinstance(table, Path):
                files = str(table / "*.parquet").replace("'", "''")
                source = f"read_parquet('{files}')"
            else:
                con.register("spark_table", table)
                source = "spark_table"
            con.execute(f"create table {schema}.{name} as select "
                        f"{plain_timestamp_columns(con, source)} from {source}")
            if not isinstance(table, Path):
                con.unregister("spark_table")
        con.execute("checkpoint")
    finally:
        con.close()


def plain_timestamp_columns(con: duckdb.DuckDBPyConnection, source: str) -> str:
    """The select list of `source` with each zoned timestamp as the plain timestamp of its
    UTC wall-clock value (column order and names kept)."""
    described = con.execute(f"describe select * from {source}").fetchall()
    columns = []
    for column, kind, *_ in described:
        quoted = '"' + column.replace('"', '""') + '"'
        columns.append(f"cast({quoted} at time zone 'UTC' as timestamp) as {quoted}"
                       if kind == "TIMESTAMP WITH TIME ZONE" else quoted)
    return ", ".join(columns)


def record_build(target: Path, summary: BuildSummary) -> None:
    """main.build_runs and main.build_results of the new file, as the DuckDB build's on-run-end
    hook (macros/build_runs.sql) writes them."""
    counts = summary.counts()
    con = duckdb.connect(str(target))
    try:
        for table, columns in (("build_runs", BUILD_RUNS_COLUMNS),
                               ("build_results", BUILD_RESULTS_COLUMNS)):
            con.execute(f"create table main.{table} ("
                        + ", ".join(f"{name} {kind}" for name, kind in columns) + ")")
        run_id = str(uuid.uuid4())
        con.execute(
            "insert into main.build_runs values (?, ?, ?, true, ?, cast(? as date), ?, ?, ?, ?, "
            "?, ?, 0, 0, (select sum(raw_rows) from main.row_accounting), "
            "(select count(*) from main.quarantined_rows), null)",
            [run_id, summary.started_at, summary.finished_at or dt.datetime.now(),
             summary.input_description, summary.dbt_vars.get("as_of_date"),
             json.dumps(summary.dbt_vars, sort_keys=True, ensure_ascii=False, default=str),
             counts["models_built"], counts["seeds_loaded"], counts["tests_passed"],
             counts["tests_failed"], counts["tests_warned"]])
        con.executemany(
            "insert into main.build_results values (?, ?, ?, ?, ?, ?, ?, ?)",
            [[run_id, node.unique_id, node.resource_type, node.name, node.status, node.failures,
              node.execution_seconds, node.message] for node in summary.nodes])
        con.execute("checkpoint")
    finally:
        con.close()
