"""`make bench`: the 1M-customer benchmark. Figures go to a JSON file, never into test asserts.

Stages, each run as its own process so wall time and peak memory are its own:
  generate  1,000,000 customers x 36 months (cached: reused when its manifest matches)
  build     `retail-tiers build --input` on it (per-model times grouped into layers, from
            the node results the build keeps in the warehouse table main.build_results)
  predictions_alone  the RFM summary, fit and scoring models re-run alone (one dbt
            thread) on the built warehouse, 3 times (the median, and every run)
  lifetimes the same purchases through lifetimes (summary, BG/NBD + Gamma-Gamma fits,
            scoring) in its own process, 3 times, taking turns with predictions_alone's
            runs (each run after the page cache is written out; the medians), side by side
            with its summary and fit and scoring; skipped unless the `bench` extra is
            installed. Library imports
            are in our node seconds and not in lifetimes' total: both are also timed apart
            (import_seconds, python_import_seconds) with a second speed-up counting them on
            both sides
`--side-by-side` runs only predictions_alone and lifetimes, on the warehouse a previous run
built.
  demo_build  `retail-tiers build` of the demo data in a scratch warehouse, 3 times (the
            median, every run, the nodes by kind)
  report    `retail-tiers report` for the as-of month, in English and in Chinese, 3 times
            each (the median, and every run)
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import duckdb

from retail_tiers.check_memo import MEMO_NAME, input_cache_dir
from retail_tiers.contract import RAW_FILES
from retail_tiers.generate import GENERATED_FILES
from retail_tiers.project import project_dir

BENCH_CUSTOMERS = 1_000_000
BENCH_MONTHS = 36
BENCH_SEED = 7
BENCH_END_MONTH = "2026-10"  # the generator's default last month
INCREMENTAL_LARGEST = 12  # models listed with their seconds for next month's build
CALIBRATION_LOOPS = 20_000_000
REPORT_RUNS = 3  # each report is timed 3 times; results.json keeps the median

# dbt node name prefix or exact name -> layer reported in results.json
LAYERS: dict[str, tuple[str, ...]] = {
    "staging": ("stg_", "quarantined_rows", "row_accounting", "int_transaction_lines",
                "int_orders_netted", "int_run_dates"),
    "customer_marts": ("int_customer_", "int_month_ends", "customers", "segment_summary",
                       "customer_monthly_history", "segment_migration", "rfm_grid"),
    "kpi_marts": ("int_month", "int_cohort", "int_campaign", "int_kpi", "monthly_kpis",
                  "cohort_retention", "campaign_performance"),
    "predictions": ("int_customer_rfm_summary", "clv_model_fit", "customer_predictions",
                    "churn_watchlist", "int_clv", "int_holdout", "holdout_", "prediction_totals",
                    "int_customer_purchase_days"),
}


# Starts the stage's command from a small process of its own and prints the command's
# resource usage (wait4): a child started from the bench itself is charged the bench's own peak
# memory at exec (Linux carries the old memory's high-water mark into ru_maxrss, and Python
# starts children with vfork), about 450 MiB after the DuckDB calibration; from this launcher
# it is the launcher's few MiB.
STAGE_LAUNCHER = (
    "import json, os, subprocess, sys\n"
    "report = os.fdopen(int(sys.argv[1]), 'w')\n"
    "process = subprocess.Popen(sys.argv[2:])\n"
    "_, status, usage = os.wait4(process.pid, 0)\n"
    "report.write(json.dumps([os.waitstatus_to_exitcode(status),\n"
    "                         usage.ru_utime + usage.ru_stime, usage.ru_maxrss]))\n"
)


def run_stage(
    name: str, command: Sequence[str], env: dict[str, str], cwd: Path
) -> dict[str, float]:
    """Run one stage as a child process: its wall seconds, CPU seconds (user + system, every
    thread of the child and its own children) and peak RSS."""
    print(f"bench: {name}: {' '.join(command)}", flush=True)
    read_end, write_end = os.pipe()
    started = time.perf_counter()
    try:
        process = subprocess.Popen(
            [sys.executable, "-c", STAGE_LAUNCHER, str(write_end), *command], env=env, cwd=cwd,
            pass_fds=(write_end,))
    finally:
        os.close(write_end)
    with os.fdopen(read_end) as reading:
        report = reading.read()
    process.wait()
    wall = time.perf_counter() - started
    if process.returncode != 0 or not report:
        raise SystemExit(f"bench: stage {name} failed (launcher exit code {process.returncode})")
    returncode, cpu_seconds, peak_kib = json.loads(report)
    if returncode != 0:
        raise SystemExit(f"bench: stage {name} failed with exit code {returncode}")
    return {"wall_seconds": round(wall, 2),
            "cpu_seconds": round(cpu_seconds, 1),
            "peak_memory_mib": round(peak_kib / 1024, 1)}


def repeated_stage(name: str, command: Sequence[str], env: dict[str, str], cwd: Path,
                   runs: int = REPORT_RUNS) -> dict[str, object]:
    """A short stage run `runs` times: the median wall time (this machine's timings vary by
    a fifth from run to run), every run's time, and the highest peak memory."""
    results = [run_stage(f"{name} ({run} of {runs})", command, env, cwd)
               for run in range(1, runs + 1)]
    walls = [result["wall_seconds"] for result in results]
    return {"wall_seconds": round(statistics.median(walls), 2),
            "cpu_seconds": round(statistics.median(r["cpu_seconds"] for r in results), 2),
            "runs_wall_seconds": walls,
            "peak_memory_mib": max(result["peak_memory_mib"] for result in results)}


def calibration_seconds(loops: int = CALIBRATION_LOOPS) -> float:
    """Seconds of a fixed single-core Python loop: how busy the machine is right now. The
    figures vary by up to half between quiet and busy hours of a shared virtual machine, so
    results.json keeps this before and after the stages, to be compared between runs."""
    started = time.perf_counter()
    total = 0
    for number in range(loops):
        total += number
    return round(time.perf_counter() - started, 2)


SQL_CALIBRATION_QUERY = (
    "select count(distinct i % 4000000), sum(hash(i)) from range(20000000) as numbers(i)")


def sql_calibration_seconds(runs: int = 3) -> float:
    """Seconds (median of `runs`) of a fixed DuckDB query on 2 threads: a hash aggregate of 20M
    numbers into 4M groups, which keeps both cores and main memory busy as the builds do. The
    Python loop above reads one core only: on 2026-12-07 every 1M stage ran up to a fifth
    slower while it read the same, so results.json keeps both."""
    con = duckdb.connect()
    try:
        con.execute("set threads = 2; set enable_progress_bar = false; "
                    "set preserve_insertion_order = false")
        seconds = []
        for _ in range(runs):
            started = time.perf_counter()
            con.execute(SQL_CALIBRATION_QUERY).fetchall()
            seconds.append(time.perf_counter() - started)
    finally:
        con.close()
    return round(statistics.median(seconds), 2)


def layer_of(node_name: str) -> str | None:
    for layer, prefixes in LAYERS.items():
        if any(node_name == p or node_name.startswith(p) for p in prefixes):
            return layer
    return None


def node_seconds(warehouse: Path) -> dict[str, dict[str, float]]:
    """dbt's execution time per node (main.build_results): models one by one, data tests
    summed, and the number of nodes of each kind."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        results = con.execute(
            "select resource_type, name, execution_seconds from main.build_results"
        ).fetchall()
    finally:
        con.close()
    models: dict[str, float] = {}
    tests: dict[str, float] = {}
    nodes: dict[str, float] = {}
    for resource_type, name, seconds in results:
        nodes[str(resource_type)] = nodes.get(str(resource_type), 0) + 1
        if resource_type == "model":
            models[str(name)] = round(float(seconds), 2)
        elif resource_type == "test":
            tests["all_data_tests"] = round(tests.get("all_data_tests", 0.0) + float(seconds), 2)
    return {"models": models, "tests": tests, "nodes": nodes}


def layer_seconds(model_seconds: dict[str, float]) -> dict[str, float]:
    """Model execution seconds summed by layer."""
    totals: dict[str, float] = {}
    for name, seconds in model_seconds.items():
        layer = layer_of(name) or "other_models"
        totals[layer] = round(totals.get(layer, 0.0) + seconds, 2)
    return totals


def dataset_is_cached(data_dir: Path) -> bool:
    manifest = data_dir / "manifest.json"
    if not manifest.is_file():
        return False
    config = json.loads(manifest.read_text()).get("config", {})
    # a dataset from an older generator lacks files the generator has gained since
    complete = all(any(data_dir.glob(f"{spec.name}.*")) for spec in GENERATED_FILES)
    return complete and (config.get("customers"), config.get("months"), config.get("seed")) == (
        BENCH_CUSTOMERS, BENCH_MONTHS, BENCH_SEED)


PREDICTION_NODES = ("clv_model_fit", "int_clv_patterns_scored", "customer_predictions")
# From the purchases (int_customer_orders, what lifetimes starts from too) to the summary.
SUMMARY_NODES = ("int_customer_rfm_summary",)


def settle() -> None:
    """Write the page cache's dirty pages out before a timed run, so that it does not pay for
    the writes of the stage before it (a 1M build leaves gigabytes to flush)."""
    os.sync()


def _prediction_run(project: Path, work: Path, env: dict[str, str],
                    label: str) -> tuple[dict[str, float], dict[str, float]]:
    """One run of the summary, fit and scoring models alone (one dbt thread): the stage's
    figures and dbt's seconds per node."""
    dbt = str(Path(sys.executable).with_name("dbt"))
    settle()
    stage = run_stage(f"predictions_alone ({label})", [
        dbt, "run", "--select", *SUMMARY_NODES, *PREDICTION_NODES, "--threads", "1",
        "--quiet", "--profiles-dir", str(project), "--project-dir", str(project)],
        env, project)
    results = json.loads((work / "target" / "run_results.json").read_text())["results"]
    return stage, {result["unique_id"].split(".")[-1]: float(result["execution_time"])
                   for result in results}


def _predictions_figures(stages: list[dict[str, float]],
                         node_runs: list[dict[str, float]]) -> dict[str, object]:
    """predictions_alone's figures from its runs: dbt's seconds per node (the median of the
    runs), and the summary's and the fit and scoring's sums (the median of each run's sum;
    one run's node can take half as long again as the next on this shared host)."""
    def median_sum(names: Sequence[str]) -> float:
        return round(statistics.median(
            sum(nodes.get(name, 0.0) for name in names) for nodes in node_runs), 2)

    return {"wall_seconds": round(statistics.median(r["wall_seconds"] for r in stages), 2),
            "cpu_seconds": round(statistics.median(r["cpu_seconds"] for r in stages), 1),
            "peak_memory_mib": max(r["peak_memory_mib"] for r in stages),
            "node_seconds": {name: round(statistics.median(nodes.get(name, 0.0)
                                                           for nodes in node_runs), 2)
                             for name in node_runs[0]},
            "summary_seconds": median_sum(SUMMARY_NODES),
            "fit_and_scoring_seconds": median_sum(PREDICTION_NODES),
            "runs_fit_and_scoring_seconds": [
                round(sum(nodes.get(name, 0.0) for name in PREDICTION_NODES), 2)
                for nodes in node_runs],
            "runs_summary_seconds": [
                round(sum(nodes.get(name, 0.0) for name in SUMMARY_NODES), 2)
                for nodes in node_runs]}


HOLDOUT_NODES = ("int_customer_purchase_days", "int_holdout_period", "int_holdout_summary",
                 "holdout_model_fit", "int_holdout_patterns_scored", "int_holdout_weeks_expected",
                 "holdout_tracking", "holdout_by_frequency", "holdout_totals")
LIFETIMES_STEPS = ("summary_seconds", "fit_seconds", "scoring_seconds", "total_seconds",
                   "import_seconds", "load_seconds", "process_wall_seconds")


def _lifetimes_run(work: Path, env: dict[str, str], project: Path,
                   label: str) -> dict[str, object]:
    """One run of lifetimes on the same purchases (retail_tiers.bench_lifetimes, its own
    process): its seconds per step and what it fitted."""
    settle()
    print(f"bench: lifetimes ({label}): the same purchases through lifetimes", flush=True)
    started = time.perf_counter()
    process = subprocess.run(
        [sys.executable, "-m", "retail_tiers.bench_lifetimes", str(work / "bench.duckdb")],
        env=env, cwd=project, check=True, capture_output=True, text=True)
    theirs = json.loads(process.stdout.strip().splitlines()[-1])
    theirs["process_wall_seconds"] = round(time.perf_counter() - started, 2)
    return theirs


def predictions_side_by_side(project: Path, work: Path, env: dict[str, str],
                             model_seconds: dict[str, float],
                             runs: int = REPORT_RUNS) -> dict[str, dict[str, object]]:
    """Issue 17's figures: retail-tiers' RFM summary, fit and scoring re-run alone
    (predictions_alone) and lifetimes on the same purchases, taking turns `runs` times (so
    that a change in the host's load reaches both sides alike), each run after the page
    cache is written out; the medians of each side, every run, and the calibration loop
    before and after. Without the `bench` extra, lifetimes is skipped."""
    with_lifetimes = importlib.util.find_spec("lifetimes") is not None
    calibration_before = calibration_seconds()
    stages: list[dict[str, float]] = []
    node_runs: list[dict[str, float]] = []
    theirs: list[dict[str, object]] = []
    for run in range(1, runs + 1):
        label = f"{run} of {runs}"
        stage, nodes = _prediction_run(project, work, env, label)
        stages.append(stage)
        node_runs.append(nodes)
        if with_lifetimes:
            theirs.append(_lifetimes_run(work, env, project, label))
    predictions = _predictions_figures(stages, node_runs)
    if not with_lifetimes:
        return {"predictions_alone": predictions, "lifetimes": {
            "skipped": "lifetimes is not installed (pip install -e '.[bench]')"}}
    lifetimes = {**theirs[0], **{step: round(statistics.median(
        float(run[step]) for run in theirs), 2) for step in LIFETIMES_STEPS},
        "runs_total_seconds": [run["total_seconds"] for run in theirs]}
    summary = float(predictions["summary_seconds"])
    fit_and_scoring = float(predictions["fit_and_scoring_seconds"])
    ours = {"summary_seconds": summary, "fit_and_scoring_seconds": fit_and_scoring,
            "total_seconds": round(summary + fit_and_scoring, 2),
            "runs_total_seconds": [round(a + b, 2) for a, b in zip(
                predictions["runs_summary_seconds"],
                predictions["runs_fit_and_scoring_seconds"], strict=True)],
            # already inside fit_and_scoring_seconds (the first Python model imports them)
            "python_import_seconds": python_import_seconds(env, project),
            "holdout_report_card_seconds_in_build": round(sum(
                model_seconds.get(name, 0.0) for name in HOLDOUT_NODES), 2)}
    total = max(ours["total_seconds"], 0.01)
    return {"predictions_alone": predictions, "lifetimes": {
        "lifetimes": lifetimes, "retail_tiers": ours,
        "speedup": round(lifetimes["total_seconds"] / total, 1),
        # lifetimes' total leaves out loading its libraries; ours has them in
        "speedup_with_imports_on_both_sides": round(
            (lifetimes["total_seconds"] + lifetimes["import_seconds"]) / total, 1),
        "calibration_seconds": {"before": calibration_before,
                                "after": calibration_seconds()}}}


def python_import_seconds(env: dict[str, str], project: Path) -> float:
    """Seconds a fresh Python takes to import what the fit and scoring models import
    (retail_tiers.lifetime.pipeline: numpy, scipy, pyarrow): part of the first Python
    model's seconds in dbt, measured apart to compare with lifetimes' import_seconds."""
    found = subprocess.run(
        [sys.executable, "-c", "import time; started = time.perf_counter(); "
         "import retail_tiers.lifetime.pipeline; print(time.perf_counter() - started)"],
        env=env, cwd=project, check=True, capture_output=True, text=True)
    return round(float(found.stdout.strip().splitlines()[-1]), 2)


def side_by_side(project: Path, work: Path) -> dict[str, object]:
    """`--side-by-side`: predictions_alone and lifetimes only, on the warehouse an earlier
    `make bench` built in `work` (bench.duckdb); no generate, build, demo or report."""
    warehouse = work / "bench.duckdb"
    if not warehouse.is_file():
        raise SystemExit(f"bench: --side-by-side needs a built warehouse, {warehouse} is missing")
    env = isolated_env(work, "bench.duckdb")
    calibration_before = calibration_seconds()
    return {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "calibration_seconds": {"before": calibration_before},
        "stages": predictions_side_by_side(project, work, env,
                                           node_seconds(warehouse)["models"]),
    }


def remove_warehouse(warehouse: Path) -> None:
    """So that the next build is cold: no warehouse file, no write-ahead log, and no memo of
    the input files (retail_tiers/check_memo.py)."""
    for stale in (warehouse, warehouse.with_name(warehouse.name + ".wal"),
                  input_cache_dir(warehouse) / MEMO_NAME):
        stale.unlink(missing_ok=True)


def isolated_env(folder: Path, warehouse_name: str) -> dict[str, str]:
    """This process's environment with the warehouse, dbt target and logs in `folder`."""
    return {
        **os.environ,
        "RETAIL_TIERS_DB": str(folder / warehouse_name),
        "DBT_TARGET_PATH": str(folder / "target"),
        "DBT_LOG_PATH": str(folder / "logs"),
    }


def demo_build(cli: str, work: Path, project: Path) -> dict[str, object]:
    """`retail-tiers build` of the demo data (what an analyst who edits a model waits for),
    in a scratch warehouse, 3 times: the median, every run, and its nodes by kind. The
    first run parses the project; dbt's partial parse serves the later ones."""
    scratch = work / "demo"
    result = repeated_stage("demo_build", [cli, "build"], isolated_env(scratch, "demo.duckdb"),
                            project)
    warehouse = scratch / "demo.duckdb"
    if warehouse.is_file():
        result["nodes"] = node_seconds(warehouse)["nodes"]
    return result


def split_last_month(data_dir: Path, folder: Path, month: str) -> int:
    """The bench dataset as a retailer who adds monthly files has it: transactions.csv with
    every line but those of `month` (YYYY-MM, by the written order time; lines whose time does
    not parse stay in it), and transactions/<month>.csv with those; the other files linked.
    Returns the lines of the month's file (no line of the generator's has a line break)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "transactions").mkdir(exist_ok=True)
    for spec in RAW_FILES:
        if spec.name != "transactions" and (data_dir / f"{spec.name}.csv").is_file():
            link = folder / f"{spec.name}.csv"
            link.unlink(missing_ok=True)
            link.symlink_to(data_dir / f"{spec.name}.csv")
    year, number = month.split("-")
    in_month = f"regexp_matches(coalesce(ordered_at, ''), '^{year}[-/]?{number}')"
    source = str(data_dir / "transactions.csv").replace("'", "''")
    columns = ", ".join(f"'{name}': 'VARCHAR'" for name in _header(data_dir))
    read = (f"read_csv('{source}', header = true, auto_detect = false, delim = ',', "
            f"quote = '\"', escape = '\"', columns = {{{columns}}})")
    con = duckdb.connect()
    try:
        con.execute("set preserve_insertion_order = true; set enable_progress_bar = false")
        base = str(folder / "transactions.csv").replace("'", "''")
        part = str(folder / "transactions" / f"{month}.csv").replace("'", "''")
        con.execute(f"copy (select * from {read} where not {in_month}) to '{base}' "
                    "(format csv, header true)")
        con.execute(f"copy (select * from {read} where {in_month}) to '{part}' "
                    "(format csv, header true)")
        return int(con.execute(f"select count(*) from read_csv('{part}', header = true, "
                               "all_varchar = true)").fetchone()[0])
    finally:
        con.close()


def _header(data_dir: Path) -> list[str]:
    with (data_dir / "transactions.csv").open(encoding="utf-8") as handle:
        return handle.readline().strip().split(",")


def incremental_stages(cli: str, work: Path, data_dir: Path, project: Path,
                       month: str) -> dict[str, dict[str, object]]:
    """Next month added: a full build of every month but `month` (from a transactions.csv),
    then `month`'s file arrives in transactions/ and the next build appends it."""
    folder = work / "monthly"
    held = folder / "held"
    # in a child process: DuckDB's memory for the 1 GB file would stay in this process, and
    # every later stage's child would start with it in its peak memory
    split = run_stage("split_last_month", [
        sys.executable, "-c", "import sys; from pathlib import Path; "
        "from retail_tiers.bench import split_last_month; "
        "split_last_month(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3])",
        str(data_dir), str(folder), month], os.environ.copy(), project)
    part = folder / "transactions" / f"{month}.csv"
    with part.open("rb") as handle:
        lines = sum(1 for _ in handle) - 1  # the header
    held.mkdir(exist_ok=True)
    part.replace(held / part.name)
    scratch = work / "incremental"
    env = isolated_env(scratch, "monthly.duckdb")
    remove_warehouse(scratch / "monthly.duckdb")
    before = run_stage("incremental_base_build", [cli, "build", "--input", str(folder)], env,
                       project)
    (held / part.name).replace(part)
    added = run_stage("incremental", [cli, "build", "--input", str(folder)], env, project)
    warehouse = scratch / "monthly.duckdb"
    appended = False
    largest: dict[str, object] = {}
    if warehouse.is_file():
        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            appended = bool(con.execute(
                "select count(*) from main.build_runs where vars_json like "
                "'%\"append_transactions\": true%'").fetchone()[0])
        finally:
            con.close()
        # where next month's build still spends its time (build_results keeps the last run)
        seconds = node_seconds(warehouse)
        largest = {
            "largest_model_seconds": dict(sorted(
                seconds["models"].items(), key=lambda item: -item[1])[:INCREMENTAL_LARGEST]),
            "data_test_seconds": seconds["tests"].get("all_data_tests", 0.0),
        }
    return {"split_last_month": split,
            "incremental_base_build": before,
            "incremental": {**added, "month": month, "month_lines": lines,
                            "appended": appended, **largest}}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=None,
                        help="where the figures go (default bench/results.json; with "
                             "--side-by-side, only printed unless given)")
    parser.add_argument("--work", type=Path, default=Path("bench/data"),
                        help="cache folder for the generated dataset and the bench warehouse")
    parser.add_argument("--side-by-side", action="store_true",
                        help="only re-run the summary, fit and scoring alone and lifetimes on "
                             "the warehouse already built in --work; print the figures (and "
                             "write them to --out when given)")
    args = parser.parse_args(argv)

    project = project_dir()
    work = args.work.resolve()
    if args.side_by_side:
        figures = side_by_side(project, work)
        if args.out is not None:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(figures, indent=2) + "\n")
        print(json.dumps(figures, indent=2))
        return
    out = args.out or Path("bench/results.json")
    data_dir = work / "dataset"
    cli = str(Path(sys.executable).with_name("retail-tiers"))
    env = isolated_env(work, "bench.duckdb")
    stages: dict[str, dict[str, object]] = {}
    calibration_before = calibration_seconds()
    sql_calibration_before = sql_calibration_seconds()

    if dataset_is_cached(data_dir):
        print(f"bench: generate: reusing cached dataset in {data_dir}", flush=True)
        stages["generate"] = {"cached": True}
        previous = json.loads(out.read_text()) if out.is_file() else {}
        if "wall_seconds" in previous.get("stages", {}).get("generate", {}):
            stages["generate"] = {**previous["stages"]["generate"], "cached": True}
    else:
        stages["generate"] = run_stage("generate", [
            cli, "generate", "--out", str(data_dir), "--customers", str(BENCH_CUSTOMERS),
            "--months", str(BENCH_MONTHS), "--seed", str(BENCH_SEED), "--format", "csv",
        ], env, project)

    remove_warehouse(work / "bench.duckdb")
    build = run_stage("build", [cli, "build", "--input", str(data_dir)], env, project)
    # the build is CPU-bound: its CPU seconds spread over every core is the least wall time it
    # could take on this machine, however well dbt's threads overlapped
    stages["build"] = {**build, "all_cores_busy_seconds": round(
        build["cpu_seconds"] / (os.cpu_count() or 1), 1)}
    warehouse = work / "bench.duckdb"
    if warehouse.is_file():
        seconds = node_seconds(warehouse)
        stages["build"]["model_seconds_by_layer"] = layer_seconds(seconds["models"])
        stages["build"]["model_seconds"] = seconds["models"]
        stages["build"]["data_test_seconds"] = seconds["tests"]["all_data_tests"]
        stages["build"]["nodes"] = seconds["nodes"]
        # the same nodes inside the build share the cores with the 3 other dbt threads
        stages["build"]["prediction_nodes_in_build_seconds"] = round(sum(
            seconds["models"].get(name, 0.0) for name in PREDICTION_NODES), 2)
        stages.update(predictions_side_by_side(project, work, env, seconds["models"]))

    stages.update(incremental_stages(cli, work, data_dir, project, BENCH_END_MONTH))
    stages["demo_build"] = demo_build(cli, work, project)

    for lang in ("en", "zh"):
        stages[f"report_{lang}"] = repeated_stage(f"report_{lang}", [
            cli, "report", "--lang", lang, "--out", str(work / "reports")], env, project)

    manifest = json.loads((data_dir / "manifest.json").read_text())
    results = {
        "dataset": {
            "customers": BENCH_CUSTOMERS,
            "months": BENCH_MONTHS,
            "transaction_lines": manifest.get("rows", {}).get("transactions"),
            "format": "csv",
        },
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        # a fixed Python loop (20M additions) timed before and after the stages: compare it
        # between runs before comparing their figures (lower = a quieter machine)
        "calibration_seconds": {"before": calibration_before, "after": calibration_seconds()},
        # the same for both cores and memory (sql_calibration_seconds)
        "sql_calibration_seconds": {"before": sql_calibration_before,
                                    "after": sql_calibration_seconds()},
        "stages": stages,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"bench: wrote {out}", flush=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
