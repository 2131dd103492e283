"""Less Python work per dbt invocation (issue 15: the fixed cost of every build).

A build of the demo data spends most of its CPU in dbt's own Python, not in DuckDB: of about
15 CPU-seconds, the garbage collector took 1.3 to 1.6 and Jinja's compiler 1.35 (measured with
`gc.callbacks` and a counting wrapper around `jinja2.Environment.compile`). Both are work that
gives the same answer every time:

- **The collector.** dbt allocates hundreds of thousands of objects (the manifest, a Jinja
  context per node), so with Python's default thresholds the full collection runs again and
  again over the same live objects. During the invocation the thresholds are raised (gen 0
  every 100,000 allocations) and the objects that exist before it are frozen out of the scans;
  after it, the defaults hold again.
- **Jinja's compiler.** dbt renders every node and macro from a string
  (`Environment.from_string`), which parses and compiles it to Python each time: about 800
  distinct strings per build, the same from one build to the next. `jinja_code_cache` keeps
  each compiled code object on disk, keyed by everything the compiled code depends on (the
  template text, the environment's class, extensions and syntax, the template's name, Jinja's
  and Python's versions), and serves it the next time. A changed template is a new key; an
  unreadable entry is compiled again; a cache that cannot be written is skipped. The cache is
  a folder of small files (`marshal` format), under `$XDG_CACHE_HOME/retail-tiers/jinja` (by
  default `~/.cache/...`), or `RETAIL_TIERS_JINJA_CACHE`; `RETAIL_TIERS_JINJA_CACHE=off`
  turns it off.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import marshal
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import CodeType
from typing import Any

# gen 0 every 100k allocations instead of 700; gens 1 and 2 much rarer
INVOCATION_GC_THRESHOLD = (100_000, 50, 1000)
CACHE_ENVIRONMENT = "RETAIL_TIERS_JINJA_CACHE"


@contextlib.contextmanager
def lean_dbt_invocation() -> Iterator[None]:
    """The collector tuned and Jinja's compiled code cached, for one dbt invocation."""
    with quiet_collector(), jinja_code_cache(jinja_cache_dir()):
        yield


@contextlib.contextmanager
def quiet_collector() -> Iterator[None]:
    """Fewer garbage collections while the block runs."""
    thresholds = gc.get_threshold()
    gc.freeze()  # the objects alive now (imports, the CLI) are not scanned again
    gc.set_threshold(*INVOCATION_GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()  # the next full collection sees everything again


def jinja_cache_dir() -> Path | None:
    """Where compiled templates are kept (None: not at all)."""
    configured = os.environ.get(CACHE_ENVIRONMENT, "").strip()
    if configured.lower() in {"off", "0", "false", "no"}:
        return None
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "retail-tiers" / "jinja"


@contextlib.contextmanager
def jinja_code_cache(folder: Path | None) -> Iterator[None]:
    """While the block runs, `jinja2.Environment.compile` serves compiled code from `folder`."""
    import jinja2

    if folder is None or os.environ.get("DBT_MACRO_DEBUGGING"):
        # dbt's macro debugging names each compiled template after a temporary file
        yield
        return
    original = jinja2.Environment.compile
    cache = _CodeCache(folder, jinja2.__version__)

    def compile(self: Any, source: Any, name: str | None = None, filename: str | None = None,
                raw: bool = False, defer_init: bool = False) -> Any:
        if raw or not isinstance(source, str):
            return original(self, source, name, filename, raw, defer_init)
        key = cache.key(self, source, name, filename, defer_init)
        code = cache.load(key)
        if code is None:
            code = original(self, source, name, filename, raw, defer_init)
            cache.store(key, code)
        return code

    jinja2.Environment.compile = compile
    try:
        yield
    finally:
        jinja2.Environment.compile = original


def _described(setting: Any) -> str:
    """A setting the compiled code depends on, as text (a callable by its name)."""
    if callable(setting):
        module = getattr(setting, "__module__", "")
        return f"callable {module}.{getattr(setting, '__qualname__', '')}"
    return repr(setting)


class _CodeCache:
    """Compiled template code in files named by the key; every failure means a miss."""

    def __init__(self, folder: Path, jinja_version: str) -> None:
        self.folder = folder
        self.writable = True
        self.lock = threading.Lock()
        self.prefix = f"{jinja_version}|{sys.implementation.cache_tag}|{sys.version}"

    def key(self, environment: Any, source: str, name: str | None, filename: str | None,
            defer_init: bool) -> str:
        kind = type(environment)
        parts = [
            self.prefix,
            f"{kind.__module__}.{kind.__qualname__}",
            f"{environment.code_generator_class.__module__}."
            f"{environment.code_generator_class.__qualname__}",
            ",".join(sorted(environment.extensions)),
            repr((environment.block_start_string, environment.block_end_string,
                  environment.variable_start_string, environment.variable_end_string,
                  environment.comment_start_string, environment.comment_end_string,
                  environment.line_statement_prefix, environment.line_comment_prefix,
                  environment.trim_blocks, environment.lstrip_blocks,
                  environment.newline_sequence, environment.keep_trailing_newline,
                  environment.optimized, environment.is_async,
                  _described(environment.autoescape), _described(environment.finalize))),
            repr((name, filename, defer_init)),
            source,
        ]
        return hashlib.blake2b("\0".join(parts).encode("utf-8", "surrogatepass"),
                               digest_size=20).hexdigest()

    def path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key[2:]}.code"

    def load(self, key: str) -> CodeType | None:
        try:
            code = marshal.loads(self.path(key).read_bytes())
        except (OSError, EOFError, ValueError, TypeError):
            return None
        return code if isinstance(code, CodeType) else None

    def store(self, key: str, code: Any) -> None:
        if not self.writable or not isinstance(code, CodeType):
            return
        target = self.path(key)
        temporary = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_bytes(marshal.dumps(code))
            os.replace(temporary, target)
        except OSError:
            with self.lock:
                self.writable = False  # a read-only home: build without the cache
            with contextlib.suppress(OSError):
                temporary.unlink()
