"""The chart worker (`python -m reports.chart_worker`): imports matplotlib at once, then reads a
pickled list of ChartJobs on stdin and writes the pickled results to stdout. Started by
reports.chartjobs.ChartRenderer from the report process itself (trusted input)."""

from __future__ import annotations

import pickle
import sys


def main() -> None:
    from reports.chartjobs import run_jobs

    run_jobs([])  # import matplotlib and the chart module while the report reads its data
    jobs = pickle.loads(sys.stdin.buffer.read())
    sys.stdout.buffer.write(pickle.dumps(run_jobs(jobs)))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
