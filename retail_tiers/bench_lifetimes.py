"""The lifetimes side of `make bench`'s side-by-side timing (bench-only: needs the `bench`
extra, `pip install -e ".[bench]"`; retail-tiers itself never imports lifetimes).

Run as its own process on a built warehouse: it reads the purchases up to the as-of date
(orders with net quantity > 0 and their net revenue, the rows int_customer_rfm_summary starts
from), then times lifetimes doing what the build's prediction models do: the RFM summary
(daily, weeks as the unit), the BG/NBD and Gamma-Gamma fits, and the scoring (P(alive),
expected purchases over the horizon, 12-month CLV). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import duckdb

PURCHASES_SQL = """
select orders.customer_id, orders.ordered_on, orders.net_revenue
from intermediate.int_customer_orders as orders
cross join intermediate.int_run_dates as run_dates
where orders.is_purchase and orders.ordered_on <= run_dates.as_of_date
"""


def time_lifetimes(warehouse: Path, horizon_days: float = 365.0) -> dict[str, float]:
    """Seconds per step of lifetimes on the warehouse's purchases, and what it fitted.

    total_seconds is the summary, fits and scoring, as before. Loading lifetimes (with
    pandas and scipy) and reading the purchases into pandas are timed apart (import_seconds,
    load_seconds): retail-tiers' node seconds include its own library imports and its reads
    of the warehouse, so these say how much of that lifetimes is not charged for."""
    started = time.perf_counter()
    import pandas as pd
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import summary_data_from_transaction_data

    imported = time.perf_counter()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        purchases = con.sql(PURCHASES_SQL).df()
        as_of = con.sql("select as_of_date from intermediate.int_run_dates").fetchall()[0][0]
    purchases["ordered_on"] = pd.to_datetime(purchases["ordered_on"])
    purchases["net_revenue"] = purchases["net_revenue"].astype(float)
    loaded = time.perf_counter()
    warnings.simplefilter("ignore")
    summary_started = time.perf_counter()
    summary = summary_data_from_transaction_data(
        purchases, "customer_id", "ordered_on", monetary_value_col="net_revenue",
        observation_period_end=pd.Timestamp(as_of), freq="D")
    summary["recency"] /= 7
    summary["T"] /= 7
    summarised = time.perf_counter()
    purchase_model = BetaGeoFitter().fit(summary["frequency"], summary["recency"],
                                         summary["T"])
    repeaters = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    spend_model = GammaGammaFitter().fit(repeaters["frequency"], repeaters["monetary_value"])
    fitted = time.perf_counter()
    purchase_model.conditional_probability_alive(
        summary["frequency"], summary["recency"], summary["T"])
    purchase_model.conditional_expected_number_of_purchases_up_to_time(
        horizon_days / 7, summary["frequency"], summary["recency"], summary["T"])
    spend_model.customer_lifetime_value(
        purchase_model, summary["frequency"], summary["recency"], summary["T"],
        summary["monetary_value"].clip(lower=0), time=12, freq="W", discount_rate=0.01)
    scored = time.perf_counter()
    return {
        "customers": len(summary),
        "summary_seconds": round(summarised - summary_started, 2),
        "fit_seconds": round(fitted - summarised, 2),
        "scoring_seconds": round(scored - fitted, 2),
        "total_seconds": round(scored - summary_started, 2),
        "import_seconds": round(imported - started, 2),
        "load_seconds": round(loaded - imported, 2),
        "bg_nbd": {name: round(float(value), 6)
                   for name, value in purchase_model.params_.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("warehouse", type=Path)
    args = parser.parse_args()
    print(json.dumps(time_lifetimes(args.warehouse)))


if __name__ == "__main__":
    main()
