"""Shared test helpers: isolated warehouses, running the CLI, writing raw input folders.

Every test that builds gets its own warehouse, dbt target and log folders under tmp
(RETAIL_TIERS_DB, DBT_TARGET_PATH, DBT_LOG_PATH), never the repository's warehouse/ or target/.
`demo_build` and `generated_build` are built once per test run (made_once: shared by the xdist
workers, each reading a copy of its own); other test files reuse them read-only.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import fcntl
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner

from retail_tiers.build import close_dbt_connections, environment

PROJECT_DIR = Path(__file__).resolve().parents[1]
TESTS_DIR = PROJECT_DIR / "tests"
CLI_EXECUTABLE = PROJECT_DIR / ".venv" / "bin" / "retail-tiers"

TRANSACTION_COLUMNS = [
    "transaction_id", "order_id", "customer_id", "ordered_at", "product_id", "category",
    "quantity", "unit_price", "discount_amount", "unit_cost", "channel", "store_id",
]


@dataclass(frozen=True)
class Workspace:
    """A warehouse file and dbt target/log folders of one test (or one session fixture)."""

    root: Path

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse" / "retail_tiers.duckdb"

    @property
    def env(self) -> dict[str, str]:
        return {
            "RETAIL_TIERS_DB": str(self.warehouse),
            "DBT_TARGET_PATH": str(self.root / "target"),
            "DBT_LOG_PATH": str(self.root / "logs"),
        }

    def query(self, sql: str, parameters: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Rows of a query on the warehouse (read-only, connection closed afterwards)."""
        con = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            return con.execute(sql, parameters or []).fetchall()
        finally:
            con.close()

    def scalar(self, sql: str, parameters: Sequence[Any] | None = None) -> Any:
        return self.query(sql, parameters)[0][0]

    def copy_to(self, root: Path, *, with_target: bool = False) -> Workspace:
        """A workspace at `root` holding a copy of this one's warehouse and, with
        `with_target`, of its dbt target folder (its partial parse)."""
        copy = Workspace(root)
        copy.warehouse.parent.mkdir(parents=True)
        shutil.copy2(self.warehouse, copy.warehouse)
        if with_target:
            shutil.copytree(self.root / "target", root / "target")
        return copy


@dataclass(frozen=True)
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]

    @property
    def error(self) -> str:
        """The single error line (asserts there is exactly one and no traceback)."""
        assert "Traceback" not in self.stderr, self.stderr
        assert "Traceback" not in self.stdout, self.stdout
        assert len(self.error_lines) == 1, self.stderr
        return self.error_lines[0]


def run_cli(args: Sequence[str], workspace: Workspace, *, in_process: bool = True,
            extra_env: Mapping[str, str] | None = None) -> CliResult:
    """Run `retail-tiers ARGS` with the workspace's environment.

    In-process runs go through `cli.main` (the console-script entry point, with its one-line
    error handling) inside click's CliRunner isolation; `in_process=False` starts the real
    executable, to prove exit codes and the absence of tracebacks end to end.
    """
    env = {**workspace.env, **(extra_env or {})}
    workspace.root.mkdir(parents=True, exist_ok=True)
    parse = ParseSharing.for_run(args, env)
    if not in_process:
        completed = subprocess.run(
            [str(CLI_EXECUTABLE), *args], env={**os.environ, **env}, capture_output=True,
            text=True, cwd=workspace.root, timeout=600, check=False,
        )
        parse.keep()
        return CliResult(completed.returncode, completed.stdout, completed.stderr)

    import cli

    runner = CliRunner()
    saved_argv = sys.argv
    exit_code = 0
    with runner.isolation(env=env) as (stdout, stderr, _output):
        sys.argv = ["retail-tiers", *args]
        try:
            cli.main()
        except SystemExit as stop:
            exit_code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None
                                                                      else 1)
        finally:
            sys.argv = saved_argv
            sys.stdout.flush()
            sys.stderr.flush()
        out_text = stdout.getvalue().decode("utf-8", "replace")
        err_text = stderr.getvalue().decode("utf-8", "replace")
    parse.keep()
    return CliResult(exit_code, out_text, err_text)


PARSE_FILE = "partial_parse.msgpack"


@dataclass(frozen=True)
class ParseSharing:
    """dbt's parse of the project, shared by the builds of one test worker: a build in a new
    workspace starts from the worker's last parse (`RETAIL_TIERS_TEST_PARSE`, set by the
    session fixture shared_dbt_parse), instead of parsing the whole project again (2-3 s).
    dbt checks the copied parse against the project, the settings and the profile, and parses
    again if anything differs, so a copy can cost time but never change a build. Only builds
    of this project with its default settings (any --as-of date: it reaches dbt as a build
    input, not in --vars) keep their parse for the next one."""

    target_file: Path | None
    keeps: bool

    @classmethod
    def for_run(cls, args: Sequence[str], env: Mapping[str, str]) -> ParseSharing:
        shared = os.environ.get("RETAIL_TIERS_TEST_PARSE")
        if not shared or not args or args[0] != "build" or "DBT_TARGET_PATH" not in env:
            return cls(None, False)
        target_file = Path(env["DBT_TARGET_PATH"]) / PARSE_FILE
        if not target_file.exists() and Path(shared).is_file():
            target_file.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shared, target_file)
        keeps = ("RETAIL_TIERS_PROJECT_DIR" not in env
                 and "--var" not in args)
        return cls(target_file, keeps)

    def keep(self) -> None:
        shared = os.environ.get("RETAIL_TIERS_TEST_PARSE")
        if shared and self.keeps and self.target_file is not None and self.target_file.is_file():
            shutil.copyfile(self.target_file, shared)


def parse_of(built: Workspace, workspace: Workspace) -> Workspace:
    """`workspace`, its dbt target folder starting from the parse of the project that
    `built`'s last build made (a build with the same settings reuses it; dbt checks that it
    may, as for ParseSharing)."""
    target = workspace.root / "target"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(built.root / "target" / PARSE_FILE, target / PARSE_FILE)
    return workspace


# The longest-running test modules, longest first (seconds of one xdist worker in `make test`,
# 2026-12-08: 73, 58, 46, 46, 21, then 19 down to 10). `make test` hands out whole modules
# (--dist loadfile) in collection order (--no-loadscope-reorder; xdist's default order is by
# number of tests, which sent the two-test, 66-second incremental module last and left one
# worker 44 s behind the other). Long modules first, the short ones fill in at the end.
LONGEST_MODULES = (
    "test_report.py", "test_incremental_build.py", "test_build.py", "test_build_faults.py",
    "test_predictions.py", "test_degenerate.py", "test_excel_input.py",
    "test_faithful_parsing.py", "test_kpis.py", "test_presets.py", "test_cdnow.py",
    "test_bad_input.py", "test_row_accounting_count.py", "test_customer_identities.py",
    "test_segment_rules.py", "test_settings.py", "test_customers.py", "test_check.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the modules of LONGEST_MODULES first, in its order; the others keep theirs."""
    missing = [name for name in LONGEST_MODULES if not (TESTS_DIR / name).is_file()]
    if missing:
        raise pytest.UsageError(f"conftest.LONGEST_MODULES names no test module: {missing}")
    rank = {name: position for position, name in enumerate(LONGEST_MODULES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "workspace")


@pytest.fixture(scope="session", autouse=True)
def jinja_code_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """dbt's compiled templates (retail_tiers.dbt_process) are cached under pytest's temporary
    root for the session, shared by the xdist workers, never in the user's ~/.cache."""
    root = tmp_path_factory.getbasetemp()
    folder = (root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root) / "jinja-cache"
    with environment(RETAIL_TIERS_JINJA_CACHE=str(folder)):
        yield folder


@pytest.fixture(scope="session", autouse=True)
def shared_dbt_parse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where this worker's builds share dbt's parse of the project (ParseSharing)."""
    shared = tmp_path_factory.getbasetemp() / f"dbt-{PARSE_FILE}"
    with environment(RETAIL_TIERS_TEST_PARSE=str(shared)):
        yield shared


def made_once(tmp_path_factory: pytest.TempPathFactory, name: str,
              make: Callable[[Path], None]) -> Path:
    """A folder that `make(folder)` fills, made once per test run rather than once per xdist
    worker: the first worker to ask makes it in the run's shared temporary folder, under a
    lock the others wait on, and each worker gets a copy of its own (a test may lock its
    warehouse, or open it for writing). A folder whose making failed is made again."""
    own = tmp_path_factory.getbasetemp() / name
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        make(own)
        return own
    shared = tmp_path_factory.getbasetemp().parent / f"made-once-{name}"
    with open(f"{shared}.lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            done = shared / ".made"
            if not done.exists():
                shutil.rmtree(shared, ignore_errors=True)
                make(shared)
                done.touch()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    shutil.copytree(shared, own, ignore=shutil.ignore_patterns(".made"))
    return own


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, CliResult]:
    """The demo warehouse and what `retail-tiers build` (no input) printed, built once per
    test run (made_once)."""
    def make(folder: Path) -> None:
        result = run_cli(["build"], Workspace(folder))
        if result.exit_code != 0:
            tail = "\n".join(result.stdout.splitlines()[-12:])
            pytest.fail(f"the demo build failed: {result.stderr.strip()}\n{tail}",
                        pytrace=False)
        (folder / "build-output.json").write_text(json.dumps(dataclasses.asdict(result)),
                                                  encoding="utf-8")

    folder = made_once(tmp_path_factory, "demo_build", make)
    output = json.loads((folder / "build-output.json").read_text(encoding="utf-8"))
    return Workspace(folder), CliResult(**output)


@pytest.fixture(scope="session")
def demo_workspace(demo_build: tuple[Workspace, CliResult]) -> Workspace:
    return demo_build[0]


# ---- a copy of the dbt project, to edit -------------------------------------------------------

DBT_PARTS = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "tests/dbt")


def copy_project(target: Path) -> Path:
    """The dbt parts of the project (not .venv, warehouse, target) copied to `target`; a
    build uses it with RETAIL_TIERS_PROJECT_DIR."""
    for part in DBT_PARTS:
        source = PROJECT_DIR / part
        if source.is_dir():
            shutil.copytree(source, target / part,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / part)
    return target


def edit_row(csv_path: Path, row_start: str, old: str, new: str) -> None:
    """Replace `old` by `new` in the one line that starts with `row_start` (a text edit)."""
    lines = csv_path.read_text(encoding="utf-8").splitlines(keepends=True)
    hits = [i for i, line in enumerate(lines) if line.startswith(row_start)]
    assert len(hits) == 1, row_start
    assert old in lines[hits[0]], lines[hits[0]]
    lines[hits[0]] = lines[hits[0]].replace(old, new, 1)
    csv_path.write_text("".join(lines), encoding="utf-8")


def tiny_project(root: Path, models: dict[str, str], tests: dict[str, str] | None = None,
                 macros: Sequence[str] = ()) -> Path:
    """A dbt project using this repo's profile, with the given models and singular tests, and
    the project's macro files named in `macros` (e.g. "generic_tests.sql")."""
    project = root / "tiny_project"
    (project / "models").mkdir(parents=True)
    (project / "tests").mkdir()
    shutil.copy(PROJECT_DIR / "profiles.yml", project / "profiles.yml")
    (project / "dbt_project.yml").write_text(
        "name: tiny\nversion: '1.0'\nconfig-version: 2\nprofile: retail_tiers\n"
        "flags:\n  send_anonymous_usage_stats: false\nvars:\n  as_of_date: null\n",
        encoding="utf-8")
    for name, sql in models.items():
        (project / "models" / f"{name}.sql").write_text(sql, encoding="utf-8")
    for name, sql in (tests or {}).items():
        (project / "tests" / f"{name}.sql").write_text(sql, encoding="utf-8")
    if macros:
        (project / "macros").mkdir()
        for name in macros:
            shutil.copy(PROJECT_DIR / "macros" / name, project / "macros")
    return project


# the events of a dbt run that started from a parse of the project it found in its target
# folder (nothing changed, or only some files); a run that parsed everything again fires
# UnableToPartialParse, or neither when it found no parse
REUSED_PARSE = frozenset({"PartialParsingSkipParsing", "PartialParsingEnabled"})
# the statuses of a node that passed: a model, seed or hook `success`, a test `pass`
PASSED = frozenset({"success", "pass"})


@dataclass(frozen=True)
class DbtRun:
    """What a dbt command run in this process did: whether it succeeded, each node it ran
    (resource type, name, status), the names of the events it fired (dbt's log events, as
    `dbt --log-format json` names them) and the messages of its error-level events."""

    success: bool
    nodes: list[tuple[str, str, str]]
    events: set[str]
    errors: list[str]

    def ran(self, resource_type: str) -> list[str]:
        return [name for kind, name, _ in self.nodes if kind == resource_type]

    @property
    def all_passed(self) -> bool:
        """Succeeded, and no node failed, warned or was skipped."""
        return self.success and all(status in PASSED for *_, status in self.nodes)

    @property
    def reused_parse(self) -> bool:
        """Started from the parse of the project in its target folder."""
        return bool(self.events & REUSED_PARSE) and "UnableToPartialParse" not in self.events

    def explain(self) -> str:
        failed = [f"{kind} {name}: {status}" for kind, name, status in self.nodes
                  if status not in PASSED]
        return "\n".join([*failed, *self.errors])[-4000:]


def invoke_dbt(args: Sequence[str], env: Mapping[str, str], cwd: Path | None = None) -> DbtRun:
    """`dbt ARGS` in this process (dbtRunner: the same dbt as the `dbt` executable, without
    starting Python and importing dbt again, 2-3 CPU-s), with the environment variables
    `env`, in the folder `cwd`, its log off."""
    from dbt.cli.main import dbtRunner

    events: set[str] = set()
    errors: list[str] = []

    def collect(message: Any) -> None:
        events.add(message.info.name)
        if message.info.level == "error":
            errors.append(message.info.msg)

    folder = contextlib.chdir(cwd) if cwd else contextlib.nullcontext()
    with environment(**env), folder:
        try:
            result = dbtRunner(callbacks=[collect]).invoke([*args, "--log-level", "none"])
        finally:
            close_dbt_connections()
    nodes = [(str(item.node.resource_type), item.node.name, str(item.status))
             for item in getattr(result.result, "results", None) or []]
    if result.exception is not None:
        errors.append(str(result.exception))
    return DbtRun(bool(result.success), nodes, events, errors)


def plain_dbt(project: Path, warehouse: Path, command: str, *args: str,
              output: Path | None = None) -> bool:
    """A plain dbt command (`run`, `test`, `build`, `docs generate`) on `project` in this
    process, quietly, its target and logs in `output` (default: the project); whether it
    succeeded."""
    output = output or project
    return invoke_dbt([
        *command.split(), "--project-dir", str(project), "--profiles-dir", str(project),
        "--target-path", str(output / "target"), "--log-path", str(output / "logs"), *args],
        {"RETAIL_TIERS_DB": str(warehouse)}).success


# ---- raw input folders --------------------------------------------------------------------

Rows = list[dict[str, str]]
FileContent = Rows | str | bytes


def csv_text(rows: Rows, columns: Sequence[str] | None = None) -> str:
    """CSV text with a header: `columns`, else the keys of the rows in first-seen order."""
    if columns is None:
        columns = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({column: row.get(column, "") for column in columns})
    return buffer.getvalue()


def transaction(number: int, **overrides: str) -> dict[str, str]:
    """A clean transaction line (each value valid), with overrides."""
    row = {
        "transaction_id": f"T{number:05d}",
        "order_id": f"O{(number + 1) // 2:05d}",
        "customer_id": f"C{number % 7:03d}",
        "ordered_at": f"2024-{number % 12 + 1:02d}-{number % 27 + 1:02d} 10:{number % 60:02d}:00",
        "product_id": f"P{number % 5:02d}",
        "category": "apparel",
        "quantity": str(number % 3 + 1),
        "unit_price": f"{10 + number % 9}.50",
        "discount_amount": "",
        "unit_cost": "",
        "channel": "store",
        "store_id": "S01",
    }
    row.update(overrides)
    return row


@pytest.fixture
def make_raw(tmp_path: Path) -> Callable[..., Path]:
    """A factory writing a raw input folder: make_raw({"transactions.csv": rows, ...}).

    A value is a list of row dicts (written as CSV in `encoding`), text (written in
    `encoding`) or bytes (written as is). Returns the folder.
    """
    counter = iter(range(1, 1000))

    def make(files: Mapping[str, FileContent], encoding: str = "utf-8",
             name: str | None = None) -> Path:
        folder = tmp_path / (name or f"raw{next(counter)}")
        folder.mkdir(parents=True)
        for file_name, content in files.items():
            if isinstance(content, bytes):
                data = content
            elif isinstance(content, str):
                data = content.encode(encoding)
            else:
                data = csv_text(content).encode(encoding)
            (folder / file_name).write_bytes(data)
        return folder

    return make


# ---- generated datasets ---------------------------------------------------------------------

@dataclass(frozen=True)
class GeneratedBuild:
    """A dataset written by the generator and the warehouse `retail-tiers build --input` made."""

    workspace: Workspace
    data: Path
    manifest: dict[str, Any]


def build_generated(root: Path, build_args: Sequence[str] = (), **config: Any) -> GeneratedBuild:
    """Generate a dataset with GeneratorConfig(**config) into root/data and build it, with
    `build_args` added to `retail-tiers build`."""
    from retail_tiers.generate import GeneratorConfig, write_dataset

    data = root / "data"
    write_dataset(GeneratorConfig(**config), data)
    workspace = Workspace(root / "workspace")
    result = run_cli(["build", "--input", str(data), *build_args], workspace)
    if result.exit_code != 0:
        tail = "\n".join(result.stdout.splitlines()[-15:])
        pytest.fail(f"building generated data failed: {result.stderr.strip()}\n{tail}",
                    pytrace=False)
    manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    return GeneratedBuild(workspace, data, manifest)


# The standard generated dataset of the tests: its history (13 month ends to June 2024)
# includes 29 February 2024; dbt vars are the project defaults.
STANDARD_GENERATED = {"customers": 2000, "months": 24, "seed": 42, "end_month": "2024-06"}


@pytest.fixture(scope="session")
def generated_build(tmp_path_factory: pytest.TempPathFactory) -> GeneratedBuild:
    """The standard generated dataset, built once per test run (made_once); tests must not
    modify it."""
    def make(root: Path) -> None:
        build_generated(root, **STANDARD_GENERATED)

    folder = made_once(tmp_path_factory, "generated", make)
    manifest = json.loads((folder / "data" / "manifest.json").read_text(encoding="utf-8"))
    return GeneratedBuild(Workspace(folder / "workspace"), folder / "data", manifest)
