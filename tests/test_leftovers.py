"""Leftovers: a report or export stopped with SIGTERM removes its temp file; temp files of
processes killed outright (SIGKILL) are removed by the next writer of the same file."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import PROJECT_DIR

from reports.render import write_atomic

SCRIPT = textwrap.dedent("""
    import os, signal, sys, time
    from pathlib import Path
    from reports.render import write_atomic
    from retail_tiers.tempfiles import exit_cleanly_on_signals

    if sys.argv[2] == "handled":
        exit_cleanly_on_signals()

    def write(temp):
        temp.write_bytes(b"%PDF-1.7 half a report")
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)

    write_atomic(Path(sys.argv[1]), write)
""")


def stop_while_writing(folder: Path, mode: str) -> int:
    folder.mkdir()
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(folder / "report.pdf"), mode],
                          cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60,
                          check=False)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode


def test_sigterm_while_writing_leaves_nothing(tmp_path: Path) -> None:
    assert stop_while_writing(tmp_path / "handled", "handled") == 143
    assert list((tmp_path / "handled").iterdir()) == []


def test_without_the_handler_the_temp_file_would_survive(tmp_path: Path) -> None:
    """The control: the default SIGTERM action kills at once and leaves the temp file, which
    is what the handler (and the clean-up of the next run) are for."""
    assert stop_while_writing(tmp_path / "default", "default") == -15
    assert [path.suffix for path in (tmp_path / "default").iterdir()] == [".tmp"]


def test_next_writer_removes_temp_files_of_dead_processes(tmp_path: Path) -> None:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
    dead_pid = int(finished.stdout)
    stale = tmp_path / f".report.pdf.{dead_pid}.0badf00d.tmp"
    running = tmp_path / f".report.pdf.{os.getpid()}.1234abcd.tmp"
    other = tmp_path / f".other.pdf.{dead_pid}.0badf00d.tmp"
    for path in (stale, running, other):
        path.write_bytes(b"%PDF-1.7 truncated")
    write_atomic(tmp_path / "report.pdf", lambda temp: temp.write_bytes(b"%PDF-1.7 whole"))
    assert (tmp_path / "report.pdf").read_bytes() == b"%PDF-1.7 whole"
    assert not stale.exists()
    assert running.exists() and other.exists()  # a live writer's file, another target's file
