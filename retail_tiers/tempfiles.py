"""Temp files beside a target, renamed over it when complete (reports, exports).

A temp file is named `.<target name>.<pid>.<random>.tmp`. A process that ends normally, or on
SIGTERM/SIGINT/SIGHUP (the CLI turns those into SystemExit, see cli.py), removes its own temp
file; one killed outright (SIGKILL, power loss) cannot, so every writer first removes the temp
files of the same target whose process is gone.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import sys
from pathlib import Path
from types import FrameType

TEMP_NAME = re.compile(r"^\.(?P<target>.+)\.(?P<pid>\d+)\.[0-9a-f]+\.tmp$")
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def temp_path(target: Path) -> Path:
    """A fresh hidden name beside `target` (created by the writer, so it gets the usual
    permissions, unlike mkstemp's 0600)."""
    return target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temp_files(target: Path) -> list[Path]:
    """Remove the temp files of `target` left by processes that no longer run."""
    removed = []
    if not target.parent.is_dir():
        return removed
    for path in target.parent.glob(f".{target.name}.*.tmp"):
        match = TEMP_NAME.match(path.name)
        if match and match["target"] == target.name and not process_alive(int(match["pid"])):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _stop(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def exit_cleanly_on_signals() -> None:
    """SIGTERM and SIGHUP end the process through SystemExit, so `finally` blocks and
    `except BaseException` clean-ups (temp files, the build's failure record) run first.
    Only the main thread can install handlers; elsewhere this does nothing."""
    if sys.platform == "win32":  # pragma: no cover - the project runs on Linux and macOS
        return
    try:
        for signum in STOP_SIGNALS:
            signal.signal(signum, _stop)
    except ValueError:  # not the main thread
        return
