"""What the build's input check learned about a file, remembered by the file's identity on disk.

The check reads every byte of a CSV file: its encoding, its digest (which the build planner
compares, retail_tiers/increments.py), its header and its row count. A monthly build would
read the 10M lines it already has again, seconds of CPU, to learn the same facts. So the build
keeps them beside the warehouse (`<warehouse>_input_cache/checked_files.json`), keyed by the
file's path and identity: device, inode, size, modification and status-change times in
nanoseconds. Any write to the file changes its status-change time, which no tool can set back,
so an entry is used only for the very bytes it was made from (git's index relies on the same
times). A file whose identity differs is read again; `--full-refresh` reads every file again
and remembers it anew.

Only plain UTF-8 (or ASCII) CSV files the check found valid are remembered: a file with
invalid lines or in another encoding is read through a UTF-8 copy, which is made each time.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

MEMO_NAME = "checked_files.json"


@dataclass(frozen=True)
class FileFacts:
    """What the check learned about one file."""

    digest: str
    header: list[str]
    rows: int
    encoding_note: str


def input_cache_dir(warehouse: Path) -> Path:
    """The folder beside the warehouse for its input check: the memo and UTF-8 copies."""
    return warehouse.with_name(warehouse.stem + "_input_cache")


def file_identity(path: Path) -> list[int]:
    """The file's identity on disk: device, inode, size, mtime and ctime in nanoseconds."""
    stat = path.stat()
    return [stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns]


class CheckMemo:
    """The remembered facts of one warehouse's input files (folder None: remember nothing)."""

    def __init__(self, folder: Path | None, *, recall: bool = True) -> None:
        """folder: where the memo is kept; recall False (--full-refresh): read every file
        again, and remember what it holds now."""
        self.path = folder / MEMO_NAME if folder is not None else None
        self.known: dict[str, dict[str, object]] = {}
        self.kept: dict[str, dict[str, object]] = {}
        if recall and self.path is not None and self.path.is_file():
            try:
                loaded = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                loaded = {}  # an unreadable memo is no memo: every file is read again
            self.known = loaded if isinstance(loaded, dict) else {}

    def recall(self, path: Path, identity: list[int]) -> FileFacts | None:
        """The facts remembered for `path` if the file, now at `identity` (file_identity), is
        still the same bytes, else None."""
        key = str(path.resolve())
        entry = self.known.get(key)
        if not isinstance(entry, dict) or entry.get("identity") != identity:
            return None
        try:
            facts = FileFacts(str(entry["digest"]), [str(name) for name in entry["header"]],
                              int(entry["rows"]), str(entry["encoding_note"]))
        except (KeyError, TypeError, ValueError):
            return None
        self.kept[key] = entry
        return facts

    def remember(self, path: Path, facts: FileFacts, identity: list[int]) -> None:
        """Keep `facts`, learned from the file as it was at `identity` (taken before it was
        read), unless the file changed while it was read."""
        if file_identity(path) == identity:
            self.kept[str(path.resolve())] = {"identity": identity, **asdict(facts)}

    def save(self) -> None:
        """Write the facts of the files this check saw (others are forgotten)."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".partial")
        partial.write_text(json.dumps(self.kept, ensure_ascii=False, indent=1),
                           encoding="utf-8")
        os.replace(partial, self.path)
