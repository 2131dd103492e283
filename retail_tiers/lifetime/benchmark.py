"""Timing of fit plus scoring for many customers: `python -m retail_tiers.lifetime.benchmark`.

Customer summaries (x, t_x, T in whole days, mean spend) are drawn from a BG/NBD +
Gamma-Gamma process and put in an in-memory DuckDB table shaped like
int_customer_rfm_summary; then the very functions the dbt Python models call run on it
(`fit_models`, `score_patterns`), followed by the per-customer join that customer_predictions
does in SQL. Prints (and with --out writes) JSON with wall and CPU seconds per stage.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from retail_tiers.lifetime.pipeline import fit_models, score_patterns
from retail_tiers.lifetime.simulate import simulate_summaries

BGNBD_TRUTH = (0.8, 6.0, 1.5, 4.0)  # the generator's defaults
GAMMA_GAMMA_TRUTH = (6.0, 4.0, 75.0)

PREDICTIONS_SQL = """
create table predictions as
select
    summary.customer_id,
    patterns.p_alive,
    1 - patterns.p_alive as churn_probability,
    patterns.expected_orders,
    fit.p * (fit.gamma + summary.repeat_purchase_day_count
             * greatest(coalesce(summary.mean_repeat_day_spend_amount, 0), 0))
        / (fit.p * summary.repeat_purchase_day_count + fit.q - 1) as expected_spend,
    patterns.discounted_expected_orders * expected_spend * 0.35 as predicted_clv
from summary
inner join patterns
    on summary.repeat_purchase_day_count = patterns.repeat_purchase_day_count
    and summary.days_first_to_last_purchase = patterns.days_first_to_last_purchase
    and summary.days_since_first_purchase = patterns.days_since_first_purchase
cross join (select p, q, gamma from fit where model = 'gamma_gamma') as fit
"""


def summary_table(customers: int, max_age_days: int, seed: int) -> pa.Table:
    s = simulate_summaries(customers, BGNBD_TRUTH, GAMMA_GAMMA_TRUTH, max_age_days, seed)
    repeat = s.x > 0
    spend = np.where(repeat, np.round(s.spend, 2), np.nan)
    return pa.table({
        "customer_id": pa.array(np.arange(customers).astype(str)),
        "repeat_purchase_day_count": pa.array(s.x, pa.int64()),
        "days_first_to_last_purchase": pa.array(np.round(s.t_x * 7).astype(np.int64)),
        "days_since_first_purchase": pa.array(np.round(s.T * 7).astype(np.int64)),
        "mean_repeat_day_spend_amount": pa.array(spend, pa.float64(), mask=~repeat),
    })


def run(customers: int = 1_000_000, max_age_days: int = 1095, seed: int = 1) -> dict[str, Any]:
    con = duckdb.connect()
    con.register("summary_arrow", summary_table(customers, max_age_days, seed))
    con.execute("create table summary as select * from summary_arrow")
    stages: dict[str, dict[str, float]] = {}

    def timed(name: str, action):
        wall, cpu = time.perf_counter(), time.process_time()
        value = action()
        stages[name] = {"wall_seconds": round(time.perf_counter() - wall, 3),
                        "cpu_seconds": round(time.process_time() - cpu, 3)}
        return value

    fit = timed("fit", lambda: fit_models(con.table("summary"), dt.date(2026, 1, 31)))
    con.register("fit", fit)
    patterns = timed("score_patterns", lambda: score_patterns(
        con.table("summary"), con.table("fit"), 365, 12, 0.01))
    con.register("patterns", patterns)
    timed("join_customers", lambda: con.execute(PREDICTIONS_SQL))
    rows = fit.to_pylist()
    finite = con.execute("""
        select count(*) filter (where isfinite(p_alive) and isfinite(expected_orders)
                                and isfinite(predicted_clv))
        from predictions
    """).fetchall()[0][0]
    return {
        "customers": customers,
        "max_age_days": max_age_days,
        "distinct_patterns": patterns.num_rows,
        "true_parameters": {"bg_nbd": dict(zip(["r", "alpha", "a", "b"], BGNBD_TRUTH, strict=True)),
                            "gamma_gamma": dict(zip(["p", "q", "gamma"], GAMMA_GAMMA_TRUTH,
                                                    strict=True))},
        "fits": [{key: row[key] for key in ("model", "r", "alpha", "a", "b", "p", "q", "gamma",
                                              "customer_count", "distinct_combination_count",
                                              "iteration_count", "fit_seconds")}
                 for row in rows],
        "finite_prediction_rows": finite,
        "stages": stages,
        "total_wall_seconds": round(sum(s["wall_seconds"] for s in stages.values()), 3),
        "total_cpu_seconds": round(sum(s["cpu_seconds"] for s in stages.values()), 3),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average_1m": round(os.getloadavg()[0], 2)},
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--max-age-days", type=int, default=1095)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    results = run(args.customers, args.max_age_days, args.seed)
    text = json.dumps(results, indent=2, default=str)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
