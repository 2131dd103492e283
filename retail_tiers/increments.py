"""What a build must redo: the plan of an incremental build (issue 15, monthly increments).

A warehouse remembers what it was built from: each transactions file by its content digest
(not its name), and one digest of everything else that decides a result (the models, macros,
rule seeds and dbt_project.yml, plus the build's settings). The next build compares:

- nothing recorded, `--full-refresh`, changed settings or rules, a changed lookup file
  (customer_identities), or a recorded file that is gone or changed: rebuild everything, and
  say why;
- the same files and nothing new: nothing to add (the build still runs, as a full one);
- the recorded files all still there, plus new ones that sort after them: parse only the new
  files and append them (files are read in name order, so a new file that sorts before one
  already read would change which of two equal ids comes first: everything is read again).

Files are matched by content, so renaming `2026-11.csv` to `november.csv` is not a change, and
a file whose bytes changed under the same name is.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHUNK_BYTES = 8 << 20
# What decides the warehouse besides the raw files: the project's own code and rule tables.
PROJECT_PARTS = ("dbt_project.yml", "models", "macros", "seeds")
PROJECT_SUFFIXES = {".sql", ".py", ".yml", ".yaml", ".csv"}


@dataclass(frozen=True)
class InputFile:
    """One raw file as the build saw it."""

    name: str  # relative to the input folder, e.g. transactions/2026-11.csv
    digest: str


@dataclass(frozen=True)
class BuildInputs:
    """Everything a build was made from: the transactions files, the project digest, and the
    lookup files whose rows reach every month of the history (customer_identities: which
    ids are one customer), so that an appending build may keep the months it does not
    recompute."""

    files: tuple[InputFile, ...]
    project_digest: str
    lookups: tuple[InputFile, ...] = ()
    # the other raw files, by content (retail_tiers/build.py read_side_files): an appending
    # build keeps the staging of those that did not change; they never decide between an
    # append and a full build
    side_files: tuple[InputFile, ...] = ()
    # how every file was read: the encoding and the workbook sheet (retail_tiers/build.py
    # read_as); the same bytes read another way are other rows, so a change reads everything
    # again. "" when the warehouse's record predates it.
    read_as: str = ""
    # the as-of date the build was given (--as-of; "" for the default, the latest complete
    # month's end): an appending build keeps each customer's state as of the last build's date
    # and recomputes the customers whose state moved since (int_appended_customers), which it
    # can tell only under the same setting. None when the warehouse's record predates it.
    as_of: str | None = ""


@dataclass
class BuildPlan:
    mode: str  # "full" or "append"
    reason: str
    new_files: list[InputFile] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # raw files kept as staged (append only)

    @property
    def is_append(self) -> bool:
        return self.mode == "append"


def file_digest(path: Path) -> str:
    """The content digest of a file (BLAKE2b, 128 bits), read in chunks."""
    digest = hashlib.blake2b(digest_size=16)
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def input_files(folder: Path, paths: Iterable[Path],
                known: Mapping[Path, str] | None = None) -> tuple[InputFile, ...]:
    """The given files, named relative to `folder`, with their digests, in name order;
    `known` holds digests already computed (the check's scan reads every byte of a CSV)."""
    known = known or {}
    found = [InputFile(name=path.relative_to(folder).as_posix(),
                       digest=known.get(path) or file_digest(path))
             for path in paths]
    return tuple(sorted(found, key=lambda item: item.name))


def project_digest(project: Path, settings: Mapping[str, Any]) -> str:
    """One digest of the project's code and rules and of the build's settings.

    Every file under models/, macros/ and seeds/ (the demo data included: it is the input of a
    build without --input) and dbt_project.yml counts, by path and content; so do the settings
    (dbt vars) as given, in key order. Editing a model, a segment rule or a var changes it.
    """
    digest = hashlib.blake2b(digest_size=16)
    for part in PROJECT_PARTS:
        root = project / part
        files = [root] if root.is_file() else sorted(
            path for path in root.rglob("*")
            if path.is_file() and path.suffix in PROJECT_SUFFIXES)
        for path in files:
            digest.update(path.relative_to(project).as_posix().encode())
            digest.update(b"\0")
            digest.update(file_digest(path).encode())
    digest.update(json.dumps(dict(settings), sort_keys=True, ensure_ascii=False,
                             default=str).encode())
    return digest.hexdigest()


def plan_build(previous: BuildInputs | None, current: BuildInputs, *,
               full_refresh: bool = False) -> BuildPlan:
    """Full rebuild or append, with the reason in words a user can act on."""
    if full_refresh:
        return BuildPlan("full", "--full-refresh")
    if previous is None:
        return BuildPlan("full", "the warehouse records no earlier build from files")
    if previous.project_digest != current.project_digest:
        return BuildPlan("full", "the models, rules or settings changed since the last build")
    if previous.read_as != current.read_as:
        return BuildPlan("full", f"the files are read as {current.read_as} now, as "
                                 f"{previous.read_as or 'an unrecorded encoding'} before")
    if previous.as_of != current.as_of:
        return BuildPlan("full", f"the as-of date is {_as_of_setting(current.as_of)} now, "
                                 f"{_as_of_setting(previous.as_of)} before")
    if previous.lookups != current.lookups:
        names = sorted({item.name for item in (*previous.lookups, *current.lookups)})
        return BuildPlan("full", f"{_listed(names)} changed since the last build")
    current_digests = {item.digest for item in current.files}
    gone = [item.name for item in previous.files if item.digest not in current_digests]
    if gone:
        names = {item.name for item in current.files}
        changed = [name for name in gone if name in names]
        if changed:
            return BuildPlan("full", f"{_listed(changed)} changed since the last build")
        return BuildPlan("full", f"{_listed(gone)} no longer in the input folder")
    seen = {item.digest for item in previous.files}
    new = [item for item in current.files if item.digest not in seen]
    if not new:
        return BuildPlan("full", "no new transactions file since the last build")
    repeated = _repeated_digests(new)
    if repeated:
        return BuildPlan("full", f"{_listed(repeated)} hold the same bytes")
    last_read = max(item.name for item in current.files if item.digest in seen)
    early = [item.name for item in new if item.name < last_read]
    if early:
        return BuildPlan("full", f"{_listed(early)} sorts before {last_read}, which was read "
                                 "already (files are read in name order)")
    return BuildPlan("append", f"{len(new)} new file{'s' if len(new) > 1 else ''}: "
                               f"{_listed([item.name for item in new])}", new)


def _as_of_setting(as_of: str | None) -> str:
    if as_of is None:
        return "not recorded"
    return f"--as-of {as_of}" if as_of else "the default (the latest complete month)"


def _repeated_digests(files: list[InputFile]) -> list[str]:
    by_digest: dict[str, list[str]] = {}
    for item in files:
        by_digest.setdefault(item.digest, []).append(item.name)
    return [name for names in by_digest.values() if len(names) > 1 for name in names]


def _listed(names: list[str], limit: int = 3) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
