"""The chart worker (`python -m reports.chart_worker`): imports matplotlib at once, then reads a
pickled list of ChartJobs on stdin and writes each result to stdout as soon as it is drawn,
as a frame holding (job index, result). Started by reports.chartjobs.ChartRenderer from the
report process itself (trusted input). A job that fails ends the worker; the report process
then draws the missing charts itself.

Python's cycle collector is off in the worker: importing matplotlib and drawing the charts
made about 290 collections (7% of the worker's CPU) that found little to free, and the
worker ends as soon as the report's charts are drawn."""

from __future__ import annotations

import gc
import pickle
import sys


def main() -> None:
    gc.disable()
    from reports.chartjobs import run_jobs, write_frame

    run_jobs([])  # import matplotlib and the chart module while the report reads its data
    jobs = pickle.loads(sys.stdin.buffer.read())
    for index, job in enumerate(jobs):
        (result,) = run_jobs([job])
        write_frame(sys.stdout.buffer, (index, result))


if __name__ == "__main__":
    main()
