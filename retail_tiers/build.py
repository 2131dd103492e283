"""`retail-tiers build`: run `dbt build` in-process on the demo seeds or a user's folder.

With `--input DIR` the structural part of `check` runs first (files, encoding, header, field
counts), GB18030/GBK files get a UTF-8 copy in a cache folder beside the warehouse, and dbt
gets `raw_files` (a build input, in the environment: split_build_input); the demo seeds and
the unit tests are excluded (unit tests belong to the demo build). Progress is one short
line per finished node; the end is a summary read from the marts `row_accounting` and
`quarantined_rows`.

dbt builds a new file beside the warehouse, which replaces the warehouse only when the build
passed (retail_tiers/build_state.py); a failed or killed build leaves the warehouse as it
was and its failure in a sidecar that `report`, `kpis` and `export` read. The tables for the
report's data-quality appendix, `main.build_runs` and `main.build_results`, are written by
the dbt project's `on-run-end` hook (macros/build_runs.sql), so a plain `dbt build` records
its run the same way.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import yaml

from retail_tiers.build_state import (
    build_lock,
    clear_state,
    fault_point,
    latest_run_id,
    read_state,
    remove_stale_temp_files,
    started_state,
    temp_warehouse,
    write_state,
)
from retail_tiers.dbt_process import lean_dbt_invocation
from retail_tiers.demo_input import DEMO_DESCRIPTION, demo_raw_files
from retail_tiers.errors import RetailTiersError
from retail_tiers.increments import (
    BuildInputs,
    BuildPlan,
    InputFile,
    file_digest,
    input_files,
    plan_build,
    project_digest,
)
from retail_tiers.project import project_dir, warehouse_path
from retail_tiers.settings import check_defaults, setting
from retail_tiers.warehouse import lock_message

if TYPE_CHECKING:
    from retail_tiers.check import CheckReport

Echo = Callable[[str], Any]

FAILED_STATUSES = {"error", "fail", "runtime error"}
RESERVED_VARS = {"raw_files", "append_transactions", "input_digests"}  # the build inputs
# what reaches dbt in the environment, not as --vars (split_build_input): the build inputs and
# the as-of date, which dbt reads only while models run, so a build with another --as-of
# reuses dbt's parse of the project. The project digest covers the other vars; the as-of date
# is compared on its own (increments.BuildInputs.as_of), so that a change names itself.
ENVIRONMENT_VARS = RESERVED_VARS | {"as_of_date"}
# raw files other than transactions whose rows reach every month of the history: a change
# in one rebuilds everything (models by month end keep the months an append cannot change)
LOOKUP_FILES = ("customer_identities",)
# raw files besides transactions that an appending build stages again only when they changed:
# one that holds the same bytes, read the same way, as at the last build, and has no row
# quarantined as future_timestamp (the load date moves, so such a row may be clean now) keeps
# its staging table as it was; its model and tests are left out of the build
KEPT_WHEN_UNCHANGED = ("customers", "campaigns", "campaign_contacts", "feedback",
                       "customer_identities")
RESOURCE_LABELS = {"unit_test": "unit test"}
STATUS_LABELS = {"success": "ok", "pass": "ok", "fail": "FAIL", "error": "ERROR",
                 "warn": "warn", "skipped": "skipped", "runtime error": "ERROR"}
PROGRESS_WIDTH = 58
QUIET_WHEN_PASSING = ("test", "unit_test")  # progress shows these only when not passing
# dbt's warn-level events that are a node's result: the progress line and the summary show them
WARNINGS_SHOWN_AS_RESULTS = ("LogTestResult", "RunResultWarning", "RunResultWarningMessage")


@dataclass(frozen=True)
class BuildOptions:
    input_dir: Path | None = None
    as_of: str | None = None
    encoding: str | None = None  # CSV encoding (None: UTF-8, or the preset's for its files)
    extra_vars: tuple[str, ...] = ()
    sheet: str | None = None  # the sheet of Excel workbooks (default: the first)
    preset: str | None = None  # an import preset's name or .yml path (retail_tiers/presets)
    full_refresh: bool = False  # read every transactions file, even if only new ones came


@dataclass(frozen=True)
class NodeResult:
    unique_id: str
    resource_type: str
    name: str
    status: str
    failures: int | None
    execution_seconds: float
    message: str
    relation_name: str | None = None  # where a test that stores its failures keeps them
    compiled_code: str | None = None  # a failed row_rules test's query, to name broken rules


@dataclass
class BuildSummary:
    """What happened: node results, row accounting, and the one line to show on failure."""

    success: bool
    input_description: str
    as_of: str | None
    dbt_vars: dict[str, Any]
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    nodes: list[NodeResult] = field(default_factory=list)
    error: str | None = None  # dbt could not run at all (parse/compile error, ...)
    row_accounting: list[tuple[str, int, int, int]] = field(default_factory=list)
    quarantine: list[tuple[str, str, int]] = field(default_factory=list)
    # the `problem` sentences of failed tests that store their failures (segment invariants)
    problems: dict[str, list[str]] = field(default_factory=dict)

    def count(self, resource_type: str, statuses: set[str] | None = None) -> int:
        return sum(1 for node in self.nodes if node.resource_type == resource_type
                   and (statuses is None or node.status in statuses))

    def counts(self) -> dict[str, int]:
        return {
            "models_built": self.count("model", {"success"}),
            "seeds_loaded": self.count("seed", {"success"}),
            "tests_passed": self.count("test", {"pass"}),
            "tests_failed": self.count("test", FAILED_STATUSES),
            "tests_warned": self.count("test", {"warn"}),
            "unit_tests_passed": self.count("unit_test", {"pass"}),
            "unit_tests_failed": self.count("unit_test", FAILED_STATUSES),
            "nodes_errored": sum(1 for node in self.nodes if node.resource_type
                                 not in ("test", "unit_test") and node.status == "error"),
            "nodes_skipped": sum(1 for node in self.nodes if node.status == "skipped"),
            "rows_in": sum(row[1] for row in self.row_accounting),
            "rows_quarantined": sum(row[3] for row in self.row_accounting),
        }

    def failed_nodes(self) -> list[NodeResult]:
        return [node for node in self.nodes if node.status in FAILED_STATUSES]

    def failure_line(self) -> str:
        if self.error:
            return self.error
        failed = self.failed_nodes()
        if not failed:
            return "dbt build failed" if not self.success else ""
        first = failed[0]
        kind = RESOURCE_LABELS.get(first.resource_type, first.resource_type)
        message = node_message_line(first.message)
        if first.resource_type == "test" and first.failures:
            message = f"{first.failures:,} failing row{'s' if first.failures != 1 else ''}"
        if self.problems.get(first.unique_id):
            message = self.problems[first.unique_id][0]
        more = f" (and {len(failed) - 1} more failed)" if len(failed) > 1 else ""
        return f"{kind} {first.name} failed: {message}{more}"


# ---- options ----------------------------------------------------------------------------


def parse_as_of(value: str | None) -> str | None:
    """`YYYY-MM-DD` and a real date, else a one-line error."""
    if value is None:
        return None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        raise RetailTiersError(f"--as-of {value}: expected a date as YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise RetailTiersError(f"--as-of {value}: not a real date (YYYY-MM-DD)") from None


def parse_extra_vars(items: tuple[str, ...], known: set[str]) -> dict[str, Any]:
    """`NAME=VALUE` pairs, each value checked against its type, range or choices
    (retail_tiers/settings.py) and passed on typed: `120`, `0.4`, `rfm8`, `null`, `true`."""
    parsed: dict[str, Any] = {}
    for item in items:
        name, equals, text = item.partition("=")
        name = name.strip()
        if not equals or not name:
            raise RetailTiersError(f"--var {item}: expected NAME=VALUE")
        if name in RESERVED_VARS:
            raise RetailTiersError(f"--var {name}: set by --input, not by --var")
        found = setting(name)
        if name not in known or found is None:
            raise RetailTiersError(
                f"--var {name}: unknown var (known: {', '.join(sorted(known - RESERVED_VARS))})"
            )
        parsed[name] = found.parse(_unquoted(text.strip()))
    return parsed


def _unquoted(text: str) -> str:
    """`'rfm8'` or `"rfm8"` (quoted as in YAML) -> `rfm8`; anything else as it is."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def project_vars(project: Path) -> dict[str, Any]:
    """The vars (with defaults) declared in dbt_project.yml."""
    config = yaml.safe_load((project / "dbt_project.yml").read_text(encoding="utf-8")) or {}
    return dict(config.get("vars") or {})


# ---- the run ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildSetup:
    """What every build starts from: the project, the warehouse, the checked settings."""

    started_at: dt.datetime
    as_of: str | None
    project: Path
    warehouse: Path
    dbt_vars: dict[str, Any]


def build_setup(options: BuildOptions) -> BuildSetup:
    """The project and warehouse, and the build's dbt vars (--as-of and --var, checked
    against the project's defaults)."""
    started_at = dt.datetime.now()
    as_of = parse_as_of(options.as_of)
    project = project_dir()
    defaults = project_vars(project)
    check_defaults(defaults)
    dbt_vars = parse_extra_vars(options.extra_vars, set(defaults))
    if as_of:
        dbt_vars["as_of_date"] = as_of
    return BuildSetup(started_at, as_of, project, warehouse_path(project), dbt_vars)


def run_build(options: BuildOptions, echo: Echo = print) -> BuildSummary:
    """Validate, run dbt build, write build_runs/build_results, print and return a summary."""
    setup = build_setup(options)
    started_at, as_of, project = setup.started_at, setup.as_of, setup.project
    warehouse, dbt_vars = setup.warehouse, setup.dbt_vars
    dbt_args = ["build"]
    # dbt takes 1-2 s to import; do it while the input check reads the files (DuckDB and
    # file reads leave the interpreter free), not after.
    warm_up = threading.Thread(target=_import_dbt, daemon=True)
    warm_up.start()
    try:
        with build_lock(warehouse):
            remove_stale_temp_files(warehouse)
            summary = _locked_build(options, project, warehouse, dbt_args, dbt_vars, as_of,
                                    started_at, echo)
    finally:
        warm_up.join()
    for line in format_summary(summary):
        echo(line)
    return summary


def _locked_build(options: BuildOptions, project: Path, warehouse: Path, dbt_args: list[str],
                  dbt_vars: dict[str, Any], as_of: str | None, started_at: dt.datetime,
                  echo: Echo) -> BuildSummary:
    """The input check and the build, holding the build lock."""
    start_from = None
    # the demo seeds are read as files; the unit tests are off in user builds (dbt_project.yml,
    # run_unit_tests), so excluding them too would only make dbt warn that it matched nothing
    excluded = ["path:seeds/demo"]
    if options.input_dir is not None:
        raw_files, description, report = prepare_input(
            options.input_dir, options.encoding, warehouse, echo, sheet=options.sheet,
            preset=options.preset, recall=not options.full_refresh)
        dbt_vars["raw_files"] = raw_files
        transactions = report.file("transactions")
        plan = plan_increment(report, project, warehouse, dbt_vars, options.full_refresh,
                              sheet=options.sheet)
        if plan.is_append:
            new_names = {item.name for item in plan.new_files}
            raw_files["transactions"] = {
                **transactions.raw_files_entry(
                    [part for part in transactions.parts if part.display in new_names]),
                "input_description": raw_files["transactions"]["input_description"]}
            dbt_vars["append_transactions"] = True
            start_from = warehouse
            echo(f"  appending {plan.reason} to the warehouse's transactions")
            if plan.kept:
                excluded += [f"stg_{name}" for name in plan.kept]
                # leave out the kept models' own tests, not those that read a rebuilt model
                # too (dbt's default, eager, would drop assert_raw_rows_reconcile with them)
                dbt_args += ["--indirect-selection", "cautious"]
                shown = [report.file(name).display for name in plan.kept
                         if report.file(name).path is not None]
                if shown:
                    echo(f"  unchanged since the last build, kept as staged: {', '.join(shown)}")
        else:
            echo(f"  full build: {plan.reason}")
    else:
        # the demo files read directly, as a user's files are, not loaded as seeds first
        dbt_vars["raw_files"] = demo_raw_files(project)
        description = DEMO_DESCRIPTION
    dbt_args += ["--exclude", *excluded]
    summary = BuildSummary(success=False, input_description=description, as_of=as_of,
                           dbt_vars=dbt_vars, started_at=started_at)
    base_run_id = current_run_id(warehouse)
    write_state(warehouse, started_state(warehouse, description, base_run_id))
    echo(f"building {warehouse} from {description}")
    build_and_replace(project, warehouse, dbt_args, summary, echo, start_from)
    return summary


def build_and_replace(project: Path, warehouse: Path, dbt_args: list[str],
                      summary: BuildSummary, echo: Echo, start_from: Path | None = None,
                      produce: Callable[[Path], None] | None = None) -> None:
    """dbt builds a new file beside the warehouse; only a passing build replaces it.

    Whatever happens before the rename (a failing test, an exception, a full disk), the
    warehouse stays as it was and the failure goes to the sidecar readers consult; a kill
    leaves the sidecar saying `running` with no lock held, which readers report the same way.
    An appending build starts from a copy of the warehouse (`start_from`), never the file
    itself. `produce(temp)` replaces the dbt run when another engine fills the new file (the
    Spark build, retail_tiers/spark_warehouse.py); it sets summary.success and the nodes.
    """
    temp = temp_warehouse(warehouse)
    try:
        if start_from is not None:
            shutil.copyfile(start_from, temp)
        fault_point("before-dbt")
        if produce is None:
            run_dbt(project, temp, dbt_args, summary.dbt_vars, summary, echo)
        else:
            produce(temp)
        summary.finished_at = dt.datetime.now()
        if temp.exists():
            read_accounting(temp, summary)
            problem = data_problem(temp, summary)
            if problem:  # clearer than the data tests an empty warehouse fails, or passes
                summary.success, summary.error = False, problem
        fault_point("before-replace")
        if summary.success:
            publish(temp, warehouse)
            clear_state(warehouse)
            return
    except BaseException as error:
        summary.success = False
        summary.error = summary.error or _exception_line(error)
        raise
    finally:
        if not summary.success:
            remove_stale_temp_files(warehouse)
            state = read_state(warehouse) or {}
            write_state(warehouse, {**state, "state": "failed",
                                    "failure": summary.failure_line()})


def stopping_exception(error: BaseException | None) -> BaseException | None:
    """The SystemExit (a stop signal, see tempfiles) or KeyboardInterrupt that stopped dbt,
    also when dbt's clean-up raised another error while handling it: on a stop dbt cancels the
    open connections, and dbt-duckdb's cancel of a connection already closed raises
    'Connection already closed!', which then replaces the stop (the stop is its context)."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, (SystemExit, KeyboardInterrupt)):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def _exception_line(error: BaseException) -> str:
    if isinstance(error, KeyboardInterrupt):
        return "the build was interrupted"
    if isinstance(error, SystemExit):
        return f"the build was stopped by a signal (exit status {error.code})"
    return f"{type(error).__name__}: {_first_line(str(error))}"


def current_run_id(warehouse: Path) -> str | None:
    """The run that built the current warehouse; a one-line error if another process holds
    it for writing (a plain `dbt build`, say)."""
    if not warehouse.is_file():
        return None
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error as error:
        message = lock_message(warehouse, error)
        raise RetailTiersError(message or f"cannot open warehouse {warehouse}: "
                               f"{_first_line(str(error))}") from None
    try:
        return latest_run_id(con)
    finally:
        con.close()


def publish(temp: Path, warehouse: Path) -> None:
    """Flush the new file to disk and rename it over the warehouse (atomic on one file
    system). A write-ahead log the old file left behind belongs to the old file: removed."""
    with temp.open("rb+") as handle:
        os.fsync(handle.fileno())
    Path(f"{warehouse}.wal").unlink(missing_ok=True)
    os.replace(temp, warehouse)
    directory = os.open(warehouse.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _import_dbt() -> None:
    import dbt.cli.main  # noqa: F401


def prepare_input(input_dir: Path, encoding: str | None, warehouse: Path,
                  echo: Echo, sheet: str | None = None, preset: str | None = None,
                  recall: bool = True) -> tuple[dict[str, Any], str, CheckReport]:
    """The structural check of the folder, the `raw_files` var for it, and the check's
    report (the transactions file's parts, when transactions come in several files). A file
    checked by an earlier build and unchanged since is not read again (recall False:
    every file is; retail_tiers/check_memo.py)."""
    from retail_tiers.check import inspect_input
    from retail_tiers.check_memo import CheckMemo, input_cache_dir

    cache_dir = input_cache_dir(warehouse)
    report = inspect_input(input_dir, encoding, count_values=False, cache_dir=cache_dir,
                           sheet=sheet, preset=preset,
                           memo=CheckMemo(cache_dir, recall=recall))
    if not report.usable:
        raise RetailTiersError(report.first_error())
    if report.preset is not None:
        for name, rows, note in report.preset.sources:
            echo(f"  preset {report.preset.preset.name} read {name}: {rows:,} rows, {note}")
    for check in report.files:
        if check.path is not None:
            echo(f"  input {check.display}: {check.rows:,} rows, {check.encoding_note}")
            for part in check.parts:
                echo(f"    {part.display}: {part.rows:,} rows")
    raw_files = {check.spec.name: check.raw_files_entry() for check in report.files}
    description = str(report.input_dir)
    if report.encoding != "utf-8":
        description += f" ({report.encoding})"
    if report.preset is not None:
        description += f" (preset {report.preset.preset.name})"
    # build_runs.input_description, written by the dbt hook (macros/build_runs.sql)
    raw_files["transactions"]["input_description"] = description
    return raw_files, description, report


def plan_increment(report: CheckReport, project: Path, warehouse: Path,
                   dbt_vars: dict[str, Any], full_refresh: bool,
                   sheet: str | None = None) -> BuildPlan:
    """Append the new transactions files to the warehouse, or build everything (and why);
    in an append, the other raw files that are kept as staged (KEPT_WHEN_UNCHANGED).

    Records in dbt_vars["input_digests"] what this build is made from (every transactions
    file by content, the project's code, rules and settings, and how each other raw file was
    read), so the next build can tell; build_runs.vars_json keeps it.
    """
    if report.preset is not None:
        return BuildPlan("full", "an import preset's files are always read whole")
    transactions = report.file("transactions")
    parts = transactions.parts or [transactions]
    files = input_files(report.input_dir, [part.path for part in parts if part.path],
                        {part.path: part.digest for part in parts if part.path and part.digest})
    settings = {name: value for name, value in dbt_vars.items() if name not in ENVIRONMENT_VARS}
    lookups = lookup_files(report)
    side_files = read_side_files(report)
    current = BuildInputs(files, project_digest(project, settings), lookups, side_files,
                          read_as(report, sheet), str(dbt_vars.get("as_of_date") or ""))
    dbt_vars["input_digests"] = {"project": current.project_digest,
                                 "files": [[item.name, item.digest] for item in files],
                                 "lookups": [[item.name, item.digest] for item in lookups],
                                 "side_files": [[item.name, item.digest]
                                                for item in side_files],
                                 "read_as": current.read_as,
                                 "as_of": current.as_of}
    load_date = str(dbt_vars.get("load_date") or dt.date.today().isoformat())
    previous, due_lines, with_future_rows = recorded_inputs(warehouse, load_date)
    plan = plan_build(previous, current, full_refresh=full_refresh)
    if plan.is_append and due_lines:
        lines = f"{due_lines:,} line{'s' if due_lines > 1 else ''}"
        return BuildPlan("full", f"{lines} quarantined as future_timestamp are dated on or "
                                 f"before {load_date} now, so every file is read again")
    if plan.is_append and previous is not None:
        unchanged = set(previous.side_files) & set(side_files)
        plan.kept = [item.name for item in side_files
                     if item in unchanged and item.name not in with_future_rows]
    return plan


def recorded_inputs(warehouse: Path,
                    load_date: str) -> tuple[BuildInputs | None, int, set[str]]:
    """What the warehouse was built from (None if unknown); how many of its lines were
    quarantined as future_timestamp but are no longer after the load date (they would be
    clean now); and which of the other raw files (KEPT_WHEN_UNCHANGED) have rows quarantined
    as future_timestamp."""
    if not warehouse.is_file():
        return None, 0, set()
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error:
        return None, 0, set()  # current_run_id has already said what is wrong with the file
    try:
        found = con.execute(
            "select vars_json from main.build_runs where success order by started_at desc "
            "limit 1").fetchall()
        recorded = json.loads(found[0][0] or "{}").get("input_digests") if found else None
        if not recorded:
            return None, 0, set()
        future = con.execute(
            "select count(*) from staging.stg_transactions "
            "where quarantine_reason = 'future_timestamp' and ordered_on <= cast(? as date)",
            [load_date]).fetchone()
        with_future_rows = {name for name in KEPT_WHEN_UNCHANGED if con.execute(
            f"select count(*) from staging.stg_{name} "
            "where quarantine_reason = 'future_timestamp'").fetchone()[0]}
    except duckdb.Error:
        return None, 0, set()
    finally:
        con.close()
    files, lookups, side_files = (
        tuple(InputFile(name, digest) for name, digest in recorded.get(key) or [])
        for key in ("files", "lookups", "side_files"))
    return (BuildInputs(files, recorded["project"], lookups, side_files,
                        recorded.get("read_as") or "", recorded.get("as_of")),
            int(future[0]) if future else 0, with_future_rows)


def lookup_files(report: CheckReport) -> tuple[InputFile, ...]:
    """The lookup files of the folder (see BuildInputs), by content."""
    found = [check for name in LOOKUP_FILES for check in report.files
             if check.spec.name == name and check.path is not None]
    return input_files(report.input_dir, [check.path for check in found],
                       {check.path: check.digest for check in found if check.digest})


def read_side_files(report: CheckReport) -> tuple[InputFile, ...]:
    """The raw files of KEPT_WHEN_UNCHANGED, each named by its contract name with its bytes
    (content digest, or `absent`). How they were read (encoding, sheet) is the whole build's
    read_as: a change there makes a full build, which keeps nothing."""
    found = []
    for name in KEPT_WHEN_UNCHANGED:
        check = report.file(name)
        content = "absent"
        if check.path is not None:
            content = check.digest or file_digest(check.path)
        found.append(InputFile(name, content))
    return tuple(found)


def read_as(report: CheckReport, sheet: str | None) -> str:
    """How the build reads every raw file: the encoding, and the workbook sheet if one is
    named (`gb18030`, `utf-8 sheet Orders`)."""
    return f"{report.encoding} sheet {sheet}" if sheet else report.encoding


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    """Set environment variables for the dbt run (profiles.yml reads RETAIL_TIERS_DB)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def working_directory(folder: Path) -> Iterator[None]:
    """The process's working directory is `folder` while the block runs."""
    try:
        saved: str | None = os.getcwd()
    except OSError:  # the working directory was removed
        saved = None
    os.chdir(folder)
    try:
        yield
    finally:
        if saved is not None:
            os.chdir(saved)


def split_build_input(dbt_vars: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The --vars and the build inputs (ENVIRONMENT_VARS: the files, whether this build
    appends, their digests, and the as-of date) of a build's vars. The inputs go to dbt in the
    environment (RETAIL_TIERS_BUILD_INPUT, read by macros/build_input.sql), not as --vars: they
    change with every month's file (and an analyst's --as-of), and dbt parses the whole
    project again (2-3 s) whenever the --vars differ from the last build's."""
    settings = {name: value for name, value in dbt_vars.items() if name not in ENVIRONMENT_VARS}
    build_input = {name: value for name, value in dbt_vars.items() if name in ENVIRONMENT_VARS}
    if build_input:
        settings["build_input_from_environment"] = True
    return settings, build_input


def dbt_environment(warehouse: Path, build_input: dict[str, Any]) -> dict[str, str]:
    """The environment variables of a dbt run in the warehouse's folder (working_directory).

    dbt's profile names the warehouse file by its name in dbt's working directory, not by its
    full path: the path is part of what dbt compares before reusing its parse of the project,
    so a warehouse in another folder (a moved one, or each test's own) can reuse a parse too.
    dbt puts a relative DBT_TARGET_PATH under the project, wherever it runs, and a relative
    DBT_LOG_PATH under the working directory: that one is made absolute here, so the logs stay
    where they were."""
    values = {"RETAIL_TIERS_DB": warehouse.name,
              "RETAIL_TIERS_BUILD_INPUT": json.dumps(build_input, ensure_ascii=False)}
    if os.environ.get("DBT_LOG_PATH"):
        values["DBT_LOG_PATH"] = str(Path(os.environ["DBT_LOG_PATH"]).resolve())
    return values


def run_dbt(project: Path, warehouse: Path, dbt_args: list[str], dbt_vars: dict[str, Any],
            summary: BuildSummary, echo: Echo) -> None:
    """Invoke dbt in-process; fills summary.nodes / summary.error / summary.success."""
    from dbt.cli.main import dbtRunner

    progress = _Progress(echo)
    # --no-write-json: no manifest.json / run_results.json in the target folder (writing the
    # manifest twice costs seconds per build); node results come back in `result` and are
    # kept in main.build_results.
    project = project.resolve()
    args = [*dbt_args, "--project-dir", str(project), "--profiles-dir", str(project),
            "--log-level", "none", "--no-write-json"]
    settings, build_input = split_build_input(dbt_vars)
    if settings:
        args += ["--vars", json.dumps(settings, ensure_ascii=False)]
    with environment(**dbt_environment(warehouse, build_input)), \
            working_directory(warehouse.parent), lean_dbt_invocation():
        try:
            result = dbtRunner(callbacks=[progress.on_event]).invoke(args)
        finally:
            close_dbt_connections()
    run_results = getattr(result.result, "results", None) or []
    summary.nodes = [node_result(item) for item in run_results]
    summary.success = bool(result.success) and not summary.failed_nodes()
    if result.exception is not None:
        summary.success = False
        stop = stopping_exception(result.exception)
        summary.error = (_exception_line(stop) if stop is not None
                         else _dbt_error_line(result.exception))
    elif not result.success and not summary.failed_nodes():
        summary.error = "dbt build failed: " + (progress.last_error or "see the dbt log")
    if summary.error and "could not set lock" in summary.error.lower():
        summary.error = lock_message(warehouse, Exception(summary.error)) or summary.error
    if summary.error:  # dbt knew the file by its name alone: say where it is
        summary.error = summary.error.replace(f'"{warehouse.name}"', f'"{warehouse}"')


def close_dbt_connections() -> None:
    """Close the DuckDB database dbt-duckdb keeps open in this process (`keep_open`).

    Without this, later `duckdb.connect(path, read_only=True)` calls in the same process
    fail ("different configuration") and the file stays locked until the process exits.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # pragma: no cover - dbt-duckdb is a dependency
        return
    with DuckDBConnectionManager._LOCK:
        environment = DuckDBConnectionManager._ENV
        DuckDBConnectionManager._ENV = None
        if environment is not None:
            environment.close()


def node_result(item: Any) -> NodeResult:
    node = item.node
    failures = getattr(item, "failures", None)
    return NodeResult(
        unique_id=str(node.unique_id),
        resource_type=str(getattr(node.resource_type, "value", node.resource_type)),
        name=str(node.name),
        status=str(getattr(item.status, "value", item.status)),
        failures=int(failures) if failures is not None else None,
        execution_seconds=round(float(item.execution_time or 0.0), 3),
        message=str(item.message or ""),
        relation_name=getattr(node, "relation_name", None),
        compiled_code=(getattr(node, "compiled_code", None)
                       if _generic_test_name(node) == "row_rules" and failures else None),
    )


def _generic_test_name(node: Any) -> str | None:
    """The generic test a test node instantiates (`row_rules`, `unique`, ...), or None."""
    metadata = getattr(node, "test_metadata", None)
    return getattr(metadata, "name", None)


def _dbt_error_line(exception: BaseException) -> str:
    """dbt's error title (`Compilation Error in model x (models/x.sql)`) and its cause."""
    lines = [line.strip() for line in str(exception).splitlines() if line.strip()]
    if not lines:
        return f"dbt could not build the project: {type(exception).__name__}"
    text = lines[0]
    if re.match(r"^\w+ Error\b", text) and len(lines) > 1:
        text = f"{text}: {lines[1]}"
    if len(text) > 300:
        text = text[:297] + "..."
    return f"dbt could not build the project: {text}"


def node_message_line(message: str) -> str:
    """The informative line of a node's error message.

    dbt starts it with a title (`Runtime Error in model x (models/x.sql)`); the cause is on
    the next line, or, for a Python model's traceback, on the last line.
    """
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if lines and re.match(r"^\w+ Error in \w+ ", lines[0]) and len(lines) > 1:
        lines = lines[1:]
    if any(line.startswith("Traceback (most recent call last)") for line in lines):
        # `package.module.SomeError: cause` -> `cause`: the exception's dotted name is noise
        return re.sub(r"^(?:\w+\.)+\w+: ", "", lines[-1])
    return lines[0] if lines else "no message"


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return "no message"


class _Progress:
    """Turns dbt events into progress lines: `[ 12/58] model name .... ok 1.2s` for every model
    and seed, and for a data or unit test only when it does not pass (hundreds of passing tests
    would bury the models; the summary counts them). The counter counts every node."""

    def __init__(self, echo: Echo) -> None:
        self.echo = echo
        self.total = 0
        self.done = 0
        self.base = 0  # nodes of earlier dbt runs of the same build
        self.last_error: str | None = None
        self.lock = threading.Lock()

    def on_event(self, event: Any) -> None:
        name = event.info.name
        if name == "ConcurrencyLine":  # a dbt run starts (a Spark build runs dbt several times)
            self.base = self.done
        elif name == "LogStartLine":
            self.total = max(self.total, self.base + int(event.data.total or 0))
        elif name == "NodeFinished":
            info, run = event.data.node_info, event.data.run_result
            self._line(info.resource_type, info.node_name, run.status,
                       float(run.execution_time or 0.0), int(run.num_failures or 0))
            fault_point(f"node:{info.node_name}")
        elif name in ("MainEncounteredError", "RunResultError") and event.info.level == "error":
            self.last_error = _first_line(event.info.msg)
        elif name == "JinjaLogInfo":  # the project's own notes, e.g. invariant tests switched off
            self.echo(f"  {event.info.msg}")
        elif event.info.level == "warn" and name not in WARNINGS_SHOWN_AS_RESULTS:
            # dbt runs with its log off: a warning of its own is shown, never swallowed
            self.echo(f"  dbt warning: {_first_line(event.info.msg)}")

    def driver_model(self, node_name: str, seconds: float) -> None:
        """A model the Spark build ran on the driver (retail_tiers/spark_build.py)."""
        self.total += 1
        self._line("model", f"{node_name} (on the driver)", "success", seconds, None)

    def _line(self, resource_type: str, node_name: str, status: str,
              seconds: float | None, failures: int | None) -> None:
        with self.lock:
            self.done += 1
            if resource_type in QUIET_WHEN_PASSING and status in ("pass", "success"):
                return
            if status == "skipped":  # counted in the summary, not listed one by one
                return
            total = max(self.total, self.done)
            width = len(str(total))
            label = f"{RESOURCE_LABELS.get(resource_type, resource_type)} {node_name} "
            if len(label) > PROGRESS_WIDTH - 2:
                label = label[:PROGRESS_WIDTH - 4] + "... "
            state = STATUS_LABELS.get(status, status)
            if failures and status in ("fail", "warn"):
                state += f" ({failures:,} rows)"
            timing = f" {seconds:.1f}s" if seconds is not None else ""
            self.echo(f"  [{self.done:>{width}}/{total}] {label:.<{PROGRESS_WIDTH}} "
                      f"{state}{timing}")


# ---- after the run ----------------------------------------------------------------------

def read_accounting(built: Path, summary: BuildSummary) -> None:
    """Row accounting and quarantine counts of the new file, for the printed summary; checks
    the file opens and leaves no write-ahead log beside it (checkpoint)."""
    con = duckdb.connect(str(built), read_only=False)
    try:
        con.execute("checkpoint")
        tables = {row[0] for row in con.execute(
            "select table_name from information_schema.tables where table_schema = 'main'"
        ).fetchall()}
        if "row_accounting" in tables:
            summary.row_accounting = [
                (str(name), int(raw), int(clean), int(quarantined))
                for name, raw, clean, quarantined in con.execute(
                    "select source_file, raw_rows, clean_rows, quarantined_rows "
                    "from main.row_accounting"
                ).fetchall()
            ]
        if "quarantined_rows" in tables:
            summary.quarantine = [
                (str(name), str(reason), int(rows))
                for name, reason, rows in con.execute(
                    "select source_file, quarantine_reason, count(*) from main.quarantined_rows "
                    "group by all order by source_file, count(*) desc, quarantine_reason"
                ).fetchall()
            ]
        summary.problems = stored_problems(con, summary.failed_nodes())
    finally:
        con.close()


PROBLEMS_SHOWN = 5


def stored_problems(con: duckdb.DuckDBPyConnection,
                    failed: list[NodeResult]) -> dict[str, list[str]]:
    """The first `problem` sentences of each failed test that stores its failing rows in a
    table with a `problem` column (the segment invariant tests), or the broken rules of a
    failed row_rules test, by the test's unique id."""
    problems: dict[str, list[str]] = {}
    for node in failed:
        if node.resource_type == "test" and node.compiled_code:
            try:  # a row_rules test: its rows name each broken rule
                found = con.execute(
                    f"select rule, broken_rows from ({node.compiled_code}) "
                    f"order by broken_rows desc limit {PROBLEMS_SHOWN}").fetchall()
            except duckdb.Error:
                continue
            problems[node.unique_id] = [f"{rows:,} rows break {rule}" for rule, rows in found]
            continue
        if node.resource_type != "test" or not node.relation_name:
            continue
        try:
            # latest month first: the problems start with the month end
            found = con.execute(f"select problem from {node.relation_name} "
                                f"order by problem desc limit {PROBLEMS_SHOWN}").fetchall()
        except duckdb.Error:  # no such table or no problem column: dbt's message is all there is
            continue
        problems[node.unique_id] = [str(row[0]) for row in found]
    return problems


def data_problem(built: Path, summary: BuildSummary) -> str | None:
    """One line when the data leaves nothing to report: no clean transaction line, or an
    as-of date before the first clean order (given, or the default of data without a complete
    month). Such a build is not published."""
    clean = {name: (raw, clean) for name, raw, clean, _ in summary.row_accounting}
    if "transactions" in clean and clean["transactions"][1] == 0:
        raw = clean["transactions"][0]
        reasons = ", ".join(f"{reason} {rows:,}" for name, reason, rows in summary.quarantine
                            if name == "transactions")
        return (f"transactions: none of the {raw:,} lines is clean ({reasons}): nothing to "
                "build a warehouse from; fix the lines (see quarantine reasons above) and build "
                "again")
    con = duckdb.connect(str(built), read_only=True)
    try:
        found = con.execute(
            "select first_order_on, last_order_on, as_of_date from intermediate.int_run_dates"
        ).fetchall() if "int_run_dates" in {row[0] for row in con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'intermediate'").fetchall()} else []
    finally:
        con.close()
    if not found or found[0][0] is None:
        return None
    first, last, as_of = found[0]
    if as_of >= first:
        return None
    if summary.dbt_vars.get("as_of_date"):
        return (f"--as-of {as_of}: before the first clean order ({first}), so every customer "
                f"figure would be empty; give a date from {first} to {last}")
    return (f"the data ({first} to {last}) holds no complete month, so there is no default "
            f"as-of date: give one, e.g. --as-of {last}")


def format_summary(summary: BuildSummary) -> list[str]:
    counts = summary.counts()
    seconds = ((summary.finished_at or dt.datetime.now()) - summary.started_at).total_seconds()
    state = "done" if summary.success else "FAILED"
    unit_tests = counts["unit_tests_passed"] + counts["unit_tests_failed"]
    lines = ["", f"{state} in {seconds:.1f}s: {counts['models_built']} models built, "
                 f"{counts['seeds_loaded']} seeds loaded, tests {counts['tests_passed']} passed"
                 f" / {counts['tests_failed']} failed / {counts['tests_warned']} warned"
                 + (f", unit tests {counts['unit_tests_passed']} passed / "
                    f"{counts['unit_tests_failed']} failed" if unit_tests else
                    " (dbt unit tests run in `make test`)")]
    if counts["nodes_errored"] or counts["nodes_skipped"]:
        lines.append(f"  {counts['nodes_errored']} errored, {counts['nodes_skipped']} skipped "
                     "(they depend on what failed)")
    for node in summary.failed_nodes():
        for problem in summary.problems.get(node.unique_id, []):
            lines.append(f"  {node.name}: {problem}")
    if summary.row_accounting:
        lines.append("rows in (clean + quarantined):")
        width = max(len(row[0]) for row in summary.row_accounting)
        digits = max(len(f"{row[1]:,}") for row in summary.row_accounting)
        for name, raw, clean, quarantined in summary.row_accounting:
            reasons = ", ".join(f"{reason} {rows:,}" for file, reason, rows in summary.quarantine
                                if file == name)
            detail = f" ({reasons})" if reasons else ""
            lines.append(f"  {name:<{width}}  {raw:>{digits},} = {clean:>{digits},} clean + "
                         f"{quarantined:,} quarantined{detail}")
    return lines
