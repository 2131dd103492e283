"""Charts as jobs, drawn by matplotlib in a worker process while the report process does the
rest (importing WeasyPrint, reading the marts, building tables, laying out the pages).

matplotlib's import and the drawing take about as long as WeasyPrint's import and the data
work, and the report has two cores, so running them side by side cuts the wall time of a
report by about a second. The report process never imports matplotlib: the sections module
records `ChartJob`s and puts a `ChartSlot` where each chart goes; `ChartRenderer.submit` hands
all jobs to the worker, which sends each result back as soon as it is drawn (`PendingCharts`).
A slot prints either the finished SVG (a self-contained HTML file) or a `chart:N` link. The PDF
writer answers a `chart:N` link at once with a frame of the chart's size (known from its job,
reports.chart_sizes) that refers to the chart itself as `chart-svg:N`, which WeasyPrint fetches
only when it paints that page: the layout of the whole PDF never waits for the drawing. When
the worker cannot run or fails, the missing charts are drawn in-process (a chart that cannot
be drawn at all raises there, as it would have).

One worker serves every month of `report --all-months`: each submission is a frame of jobs
and ends with END_OF_SUBMISSION, and once all of a month's charts have arrived the worker goes
back to its renderer for the next month. A worker that died or was stopped halfway is not
reused; the next submission starts another. (A new worker per month imported matplotlib
again each time: 0.35 CPU-seconds, 12 times over for the demo's 13 months.)
"""

from __future__ import annotations

import base64
import contextlib
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from markupsafe import Markup

from reports.chart_sizes import chart_size_pt

CHART_URL_PREFIX = "chart:"
CHART_BODY_PREFIX = "chart-svg:"  # the drawn chart inside the frame a `chart:N` link gets
WORKER_TIMEOUT_SECONDS = 120
FRAME_HEADER_BYTES = 8  # each result travels as: length (8 bytes, big-endian) + pickle
END_OF_SUBMISSION = (-1, None)  # the worker's last frame for one submission of jobs
WORKER_EXIT_SECONDS = 5  # an idle worker told to end (its input closed) is killed after this


@dataclass(frozen=True)
class ChartJob:
    """One call of a function of reports.charts: its name and keyword arguments."""

    function: str
    arguments: dict[str, Any] = field(default_factory=dict)


def run_jobs(jobs: list[ChartJob]) -> list[Any]:
    """Draw jobs in this process (imports matplotlib)."""
    from reports import charts

    return [charts.run_job(job.function, job.arguments) for job in jobs]


def write_frame(stream: IO[bytes], value: object) -> None:
    """One pickled value with its length in front (the worker's answer for one job)."""
    data = pickle.dumps(value)
    stream.write(len(data).to_bytes(FRAME_HEADER_BYTES, "big"))
    stream.write(data)
    stream.flush()


def read_frame(stream: IO[bytes]) -> Any:
    """The next value written by write_frame; EOFError at the end of the stream."""
    header = stream.read(FRAME_HEADER_BYTES)
    if len(header) < FRAME_HEADER_BYTES:
        raise EOFError
    size = int.from_bytes(header, "big")
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


class PendingCharts:
    """The results of submitted jobs, arriving one by one from the worker. `give_back` takes
    the worker when it has sent every result of this submission, for the next one."""

    def __init__(self, jobs: list[ChartJob], process: subprocess.Popen[bytes] | None,
                 give_back: Callable[[subprocess.Popen[bytes]], None] | None = None) -> None:
        self.jobs = jobs
        self._process = process
        self._give_back = give_back
        self._results: dict[int, Any] = {}
        self._finished = process is None
        self._complete = False  # the worker sent END_OF_SUBMISSION: it can take more jobs
        self._condition = threading.Condition()
        if process is not None:
            threading.Thread(target=self._receive, args=(process,), daemon=True).start()

    def _receive(self, process: subprocess.Popen[bytes]) -> None:
        complete = False
        try:
            assert process.stdin is not None and process.stdout is not None
            write_frame(process.stdin, self.jobs)
            while True:
                index, result = read_frame(process.stdout)
                if (index, result) == END_OF_SUBMISSION:
                    complete = True
                    break
                with self._condition:
                    self._results[int(index)] = result
                    self._condition.notify_all()
        except (OSError, EOFError, ValueError, TypeError, pickle.UnpicklingError):
            pass  # the worker is done (or died): whatever is missing is drawn in-process
        finally:
            with self._condition:
                self._finished = True
                self._complete = complete
                self._condition.notify_all()

    def get(self, index: int) -> Any:
        """The result of job `index`: from the worker, or drawn here if the worker fails."""
        with self._condition:
            arrived = self._condition.wait_for(
                lambda: index in self._results or self._finished,
                timeout=WORKER_TIMEOUT_SECONDS)
        if not arrived:
            self.close()
        if index not in self._results:
            (self._results[index],) = run_jobs([self.jobs[index]])
        return self._results[index]

    def size_pt(self, index: int) -> tuple[float, float] | None:
        """The size in points of chart `index`, known before it is drawn (None if unknown)."""
        job = self.jobs[index]
        return chart_size_pt(job.function, job.arguments)

    def all(self) -> list[Any]:
        return [self.get(index) for index in range(len(self.jobs))]

    def close(self) -> None:
        """Give the worker back when it sent every result of this submission; otherwise (it
        is still drawing, or failed) stop it."""
        process, self._process = self._process, None
        if process is None:
            return
        with self._condition:
            if len(self._results) == len(self.jobs):  # its last frame follows the last result
                self._condition.wait_for(lambda: self._finished, timeout=5)
            complete = self._complete
        if complete and process.poll() is None and self._give_back is not None:
            self._give_back(process)
            return
        stop_worker(process)


def stop_worker(process: subprocess.Popen[bytes], *, idle: bool = False) -> None:
    """Stop a worker. An `idle` one (between submissions) is told to end, by the end of its
    input, and gets a moment to run its exit handlers (matplotlib's may remove a temporary
    config folder); one that is drawing, or does not end, is killed."""
    if idle and process.poll() is None and process.stdin is not None:
        with contextlib.suppress(OSError):
            process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=WORKER_EXIT_SECONDS)
    if process.poll() is None:
        process.kill()
    process.wait()
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


class ChartRenderer:
    """Starts the worker at once (so it imports matplotlib early), draws jobs on demand."""

    def __init__(self, use_worker: bool = True) -> None:
        self.use_worker = use_worker
        self.closed = False
        self.has_drawn = False  # the worker it holds drew a submission and went back to it
        self.process: subprocess.Popen[bytes] | None = self._start() if use_worker else None

    @staticmethod
    def _start() -> subprocess.Popen[bytes] | None:
        try:
            return subprocess.Popen(
                [sys.executable, "-m", "reports.chart_worker"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        except OSError:
            return None

    def submit(self, jobs: list[ChartJob]) -> PendingCharts:
        """Hand `jobs` to the worker now; results are collected as they arrive. The worker
        comes back (PendingCharts.close) once it has sent them all; if it has not, or died,
        the next submission starts another."""
        process, self.process = self.process, None
        if process is None and self.use_worker and not self.closed:
            process = self._start()
        return PendingCharts(jobs, process, self._take_back)

    def _take_back(self, process: subprocess.Popen[bytes]) -> None:
        if self.closed or self.process is not None:
            stop_worker(process, idle=True)
        else:
            self.process, self.has_drawn = process, True

    def run(self, jobs: list[ChartJob]) -> list[Any]:
        """The results of `jobs` in order (waits for all of them)."""
        pending = self.submit(jobs)
        try:
            return pending.all()
        finally:
            pending.close()

    def close(self) -> None:
        """Stop the worker: one that drew a month's charts is told to end; one never used (a
        report that failed before its charts) may still be importing matplotlib, and is
        killed at once rather than waited for."""
        self.closed = True
        if self.process is not None:
            stop_worker(self.process, idle=self.has_drawn)
            self.process = None

    def __enter__(self) -> ChartRenderer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


@dataclass
class ChartSlot:
    """Where a chart goes in the page; prints as an <img> once its job is submitted."""

    job: ChartJob
    alt: str = ""
    pending: PendingCharts | None = None
    index: int = -1
    linked: bool = False  # True: a `chart:N` link the PDF writer resolves; False: the SVG

    def __html__(self) -> str:
        if self.pending is None:
            raise RuntimeError(f"chart {self.job.function} was never submitted")
        # An <img>, not inline SVG: WeasyPrint lays it out as one replaced box (inline SVG
        # would send every node through the HTML style cascade) and still draws its text as
        # PDF text.
        if self.linked:
            source = f"{CHART_URL_PREFIX}{self.index}"
        else:
            svg = self.pending.get(self.index)
            encoded = base64.b64encode(svg.encode("utf-8")).decode("ascii")
            source = f"data:image/svg+xml;base64,{encoded}"
        return str(Markup('<img class="chart" src="{}" alt="{}">').format(source, self.alt))


def submit_slots(slots: list[ChartSlot], renderer: ChartRenderer, first: list[ChartJob],
                 linked: bool) -> PendingCharts:
    """Submit the `first` jobs (results at indexes 0..len(first)-1, drawn before any chart)
    and then every slot's job; the slots learn where their result will be."""
    pending = renderer.submit([*first, *(slot.job for slot in slots)])
    for index, slot in enumerate(slots, start=len(first)):
        slot.pending, slot.index, slot.linked = pending, index, linked
    return pending


def chart_index(url: str, prefix: str = CHART_URL_PREFIX) -> int | None:
    """N for a `chart:N` link (or another `prefix`), else None."""
    if not url.startswith(prefix):
        return None
    number = url[len(prefix):]
    return int(number) if number.isdigit() else None


def chart_frame(index: int, width_pt: float, height_pt: float) -> str:
    """An SVG of a chart's size that shows chart `index` (`chart-svg:N`) at its own size."""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" '
            f'xmlns:xlink="http://www.w3.org/1999/xlink" width="{width_pt:f}pt" '
            f'height="{height_pt:f}pt" viewBox="0 0 {width_pt:f} {height_pt:f}">'
            f'<image width="{width_pt:f}" height="{height_pt:f}" '
            f'xlink:href="{CHART_BODY_PREFIX}{index}"/></svg>')
