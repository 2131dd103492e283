"""Charts as jobs, drawn by matplotlib in a worker process while the report process does the
rest (importing WeasyPrint, reading the marts, building tables).

matplotlib's import and the drawing take about as long as WeasyPrint's import and the data
work, and the report has two cores, so running them side by side cuts the wall time of a
report by about a second. The report process never imports matplotlib: the sections module
records `ChartJob`s and puts a `ChartSlot` where each chart goes; `ChartRenderer` draws all
jobs (in the worker, or in-process when the worker cannot run) and fills the slots.
"""

from __future__ import annotations

import base64
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup


@dataclass(frozen=True)
class ChartJob:
    """One call of a function of reports.charts: its name and keyword arguments."""

    function: str
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass
class ChartSlot:
    """Where a chart goes in the page; prints as an <img> holding the SVG once drawn."""

    job: ChartJob
    alt: str = ""
    svg: str | None = None

    def __html__(self) -> str:
        if self.svg is None:
            raise RuntimeError(f"chart {self.job.function} was never drawn")
        encoded = base64.b64encode(self.svg.encode("utf-8")).decode("ascii")
        # An <img> with an SVG data URI: WeasyPrint lays it out as one replaced box (inline
        # SVG would send every node through the HTML style cascade) and still draws its text
        # as PDF text.
        return str(Markup('<img class="chart" src="data:image/svg+xml;base64,{}" alt="{}">')
                   .format(Markup(encoded), self.alt))


def run_jobs(jobs: list[ChartJob]) -> list[Any]:
    """Draw jobs in this process (imports matplotlib)."""
    from reports import charts

    return [charts.run_job(job.function, job.arguments) for job in jobs]


class ChartRenderer:
    """Starts the worker at once (so it imports matplotlib early), draws jobs on demand."""

    def __init__(self, use_worker: bool = True) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        if use_worker:
            try:
                self.process = subprocess.Popen(
                    [sys.executable, "-m", "reports.chart_worker"], stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            except OSError:
                self.process = None

    def submit(self, jobs: list[ChartJob]) -> Callable[[], list[Any]]:
        """Hand `jobs` to the worker now and return a function that waits for the results,
        so the caller can do other work (import WeasyPrint) while the charts are drawn. The
        worker answers once; later submissions, and a worker that failed, draw in-process."""
        process, self.process = self.process, None
        if process is None:
            return lambda: run_jobs(jobs)
        answer: dict[str, Any] = {}

        def talk() -> None:
            try:
                output, _ = process.communicate(pickle.dumps(jobs), timeout=120)
                if process.returncode == 0 and output:
                    answer["results"] = pickle.loads(output)
            except (OSError, subprocess.SubprocessError, pickle.UnpicklingError, EOFError):
                process.kill()
                process.wait()

        thread = threading.Thread(target=talk, daemon=True)
        thread.start()

        def wait() -> list[Any]:
            thread.join()
            results = answer.get("results")
            if isinstance(results, list) and len(results) == len(jobs):
                return results
            return run_jobs(jobs)

        return wait

    def run(self, jobs: list[ChartJob]) -> list[Any]:
        """The results of `jobs` in order."""
        return self.submit(jobs)()

    def close(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def __enter__(self) -> ChartRenderer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def fill(slots: list[ChartSlot], renderer: ChartRenderer,
         extra: list[ChartJob] | None = None,
         meanwhile: Callable[[], object] | None = None) -> list[Any]:
    """Draw every slot's job (and `extra` jobs) in one go, calling `meanwhile()` while they
    are drawn; returns the extra jobs' results."""
    jobs = [slot.job for slot in slots] + list(extra or [])
    wait = renderer.submit(jobs)
    if meanwhile is not None:
        meanwhile()
    results = wait()
    for slot, svg in zip(slots, results, strict=False):
        slot.svg = svg
    return results[len(slots):]
