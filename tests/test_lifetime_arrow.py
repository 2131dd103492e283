"""retail_tiers.lifetime.arrow: tables built from buffers equal pyarrow's own conversion, and
the fit and scoring hand their tables over without importing pandas."""

from __future__ import annotations

import datetime as dt
import math
import subprocess
import sys
import textwrap

import numpy as np
import pyarrow as pa

from retail_tiers.lifetime import arrow

SCHEMA = pa.schema([
    ("name", pa.string()),
    ("flag", pa.bool_()),
    ("count", pa.int64()),
    ("value", pa.float64()),
    ("on", pa.date32()),
    ("covariance", pa.list_(pa.float64())),
])

ROWS = [
    {"name": "bg_nbd", "flag": True, "count": 3, "value": 0.5, "on": dt.date(2024, 2, 29),
     "covariance": [1.0, -2.5, 3.25, 4.0]},
    {"name": "", "flag": False, "count": None, "value": math.nan, "on": None,
     "covariance": None},
    {"name": None, "flag": None, "value": -1e300, "on": dt.date(1969, 12, 31),
     "covariance": []},
    {"name": "核心价值客户", "flag": True, "count": -(2**62), "value": None,
     "on": dt.date(2099, 1, 1), "covariance": [math.inf]},
]


def test_rows_give_the_table_pyarrow_gives():
    expected = pa.Table.from_pylist(ROWS, schema=SCHEMA)
    built = arrow.from_rows(ROWS, SCHEMA)
    built.validate(full=True)
    assert built.schema == SCHEMA
    # NaN != NaN, so compare the Python values with NaN written out
    assert repr(built.to_pylist()) == repr(expected.to_pylist())
    assert built.column("value").null_count == expected.column("value").null_count == 1


def test_numpy_columns_keep_nan_unless_told_and_match_pyarrow():
    values = np.array([1.5, np.nan, -0.0, 7.0])
    counts = np.array([0, 5, 2**40, -3], dtype=np.int64)
    schema = pa.schema([("kept", pa.float64()), ("nulls", pa.float64()), ("n", pa.int64())])
    built = arrow.table({"kept": values, "nulls": values, "n": counts}, schema,
                        nan_is_null=("nulls",))
    built.validate(full=True)
    assert built.column("kept").null_count == 0
    assert repr(built.column("kept").to_pylist()) == repr(
        pa.array(values, pa.float64()).to_pylist())
    assert built.column("nulls").to_pylist() == pa.array(
        values, pa.float64(), from_pandas=True).to_pylist()
    assert built.column("n").to_pylist() == counts.tolist()


def test_a_strided_array_is_copied_in_order():
    values = np.arange(10, dtype=np.float64)[::3]
    built = arrow.column(values, pa.float64())
    assert built.to_pylist() == [0.0, 3.0, 6.0, 9.0]


def test_empty_table_has_the_schema():
    assert arrow.empty(SCHEMA).num_rows == 0
    assert arrow.empty(SCHEMA).schema == SCHEMA


def test_fit_and_scoring_do_not_import_pandas():
    # dbt's process pays 0.2-0.5 s for importing pandas when any of these would
    script = textwrap.dedent("""
        import datetime as dt, sys
        import duckdb, numpy as np, pyarrow as pa
        from retail_tiers.lifetime import arrow, pipeline
        from retail_tiers.lifetime.simulate import simulate_summaries
        s = simulate_summaries(3000, (0.8, 6.0, 1.5, 4.0), (6.0, 4.0, 75.0), 700, seed=3)
        con = duckdb.connect()
        schema = pa.schema([
            ("repeat_purchase_day_count", pa.int64()),
            ("days_first_to_last_purchase", pa.int64()),
            ("days_since_first_purchase", pa.int64()),
            ("mean_repeat_day_spend_amount", pa.float64()),
        ])
        summary = con.from_arrow(arrow.table({
            "repeat_purchase_day_count": s.x.astype(np.int64),
            "days_first_to_last_purchase": np.round(s.t_x * 7).astype(np.int64),
            "days_since_first_purchase": np.round(s.T * 7).astype(np.int64),
            "mean_repeat_day_spend_amount": np.where(s.x > 0, s.spend, np.nan),
        }, schema, nan_is_null=("mean_repeat_day_spend_amount",)))
        fit = con.from_arrow(pipeline.fit_models(summary, dt.date(2024, 3, 31)))
        scored = con.from_arrow(pipeline.score_patterns(summary, fit, 365, 12, 0.01))
        con.register("scored", scored)
        con.execute("create table kept as select * from scored")
        assert con.sql("select count(*) from kept").fetchall()[0][0] > 100
        print("pandas" in sys.modules)
    """)
    found = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           check=True)
    assert found.stdout.strip() == "False"
