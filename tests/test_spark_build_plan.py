"""The Spark build's plan and the parity check's rules, without Spark (`make test-spark` runs
the real builds): the models split into dbt runs and driver steps in dependency order, and
the comparison accepts exactly the documented tolerances."""

from __future__ import annotations

import datetime as dt
import decimal
from pathlib import Path

import pyarrow as pa
import pytest

from retail_tiers.spark_build import Node, QueryResult, stages
from retail_tiers.spark_parity import compare_tables

PROJECT = Path(__file__).resolve().parents[1]


def node(name: str, language: str = "sql", parents: tuple[str, ...] = ()) -> Node:
    return Node(unique_id=f"model.p.{name}", name=name, language=language,
                relation=f"main.{name}", schema="main", path=Path(f"{name}.{language}"),
                parents=tuple(f"model.p.{p}" for p in parents), meta={})


def test_python_models_split_the_sql_models_into_runs_in_dependency_order() -> None:
    nodes = {n.unique_id: n for n in [
        node("stg"), node("summary", parents=("stg",)), node("other", parents=("stg",)),
        node("fit", "python", ("summary",)), node("scored", "python", ("summary", "fit")),
        node("predictions", parents=("scored", "other")),
        node("totals", "python", ("predictions", "fit")), node("report", parents=("totals",)),
    ]}
    plan = [(kind, sorted(n.name for n in step)) for kind, step in stages(nodes)]
    assert plan == [
        ("sql", ["other", "stg", "summary"]),
        ("python", ["fit"]),
        ("python", ["scored"]),
        ("sql", ["predictions"]),
        ("python", ["totals"]),
        ("sql", ["report"]),
    ]


def test_every_model_runs_once_and_after_its_parents() -> None:
    nodes = {n.unique_id: n for n in [
        node("a"), node("p", "python", ("a",)), node("b", parents=("a",)),
        node("c", parents=("b", "p")),
    ]}
    order = [n.name for _, step in stages(nodes) for n in step]
    assert sorted(order) == ["a", "b", "c", "p"]
    for n in nodes.values():
        for parent in n.parents:
            assert order.index(parent.split(".")[-1]) < order.index(n.name)


def test_query_results_read_like_duckdbs() -> None:
    table = pa.table({
        "x": pa.array([1, 2], pa.int64()),
        "spend": pa.array([decimal.Decimal("1.5"), decimal.Decimal("2.25")], pa.decimal128(18, 4)),
        "as_of_date": pa.array([dt.date(2026, 10, 31)] * 2, pa.date32()),
    })
    found = QueryResult(table)
    assert found.fetchall()[0] == (1, decimal.Decimal("1.5000"), dt.date(2026, 10, 31))
    numbers = found.fetchnumpy()
    assert numbers["spend"].dtype.kind == "f" and list(numbers["spend"]) == [1.5, 2.25]


def money(*values: str) -> pa.Array:
    return pa.array([decimal.Decimal(v) for v in values], pa.decimal128(18, 4))


@pytest.mark.parametrize(("spark_value", "equal"), [("10.0049", True), ("10.0051", False)])
def test_money_must_match_to_the_cent(spark_value: str, equal: bool) -> None:
    duck = pa.table({"id": ["a"], "amount": money("10.0000")})
    spark = pa.table({"id": ["a"], "amount": money(spark_value)})
    assert (not compare_tables("main.t", duck, spark).problems) is equal


@pytest.mark.parametrize(("gap", "equal"), [(5e-10, True), (2e-9, False)])
def test_rates_must_match_to_1e_9(gap: float, equal: bool) -> None:
    duck = pa.table({"id": ["a", "b"], "rate": [0.25, 0.5]})
    spark = pa.table({"id": ["b", "a"], "rate": [0.5, 0.25 + gap]})
    assert (not compare_tables("main.t", duck, spark).problems) is equal


@pytest.mark.parametrize(("relative_gap", "equal"), [(5e-7, True), (2e-6, False)])
def test_fit_parameters_must_match_to_1e_6_relative(relative_gap: float, equal: bool) -> None:
    duck = pa.table({"model": ["bg_nbd"], "r": [0.86754], "cov": [[1.0, 2.0]]})
    spark = pa.table({"model": ["bg_nbd"], "r": [0.86754 * (1 + relative_gap)],
                      "cov": [[1.0, 2.0]]})
    assert (not compare_tables("main.clv_model_fit", duck, spark).problems) is equal
    # the same gap in any other table is a rate's: 1e-9
    assert compare_tables("main.other", duck, spark).problems


def test_text_dates_and_row_counts_match_exactly() -> None:
    duck = pa.table({"id": ["a"], "on": [dt.date(2026, 1, 31)]})
    assert compare_tables("main.t", duck, pa.table({"id": ["a"], "on": [dt.date(2026, 2, 1)]}))\
        .problems
    assert compare_tables("main.t", duck, pa.table({"id": ["A"], "on": [dt.date(2026, 1, 31)]}))\
        .problems
    assert compare_tables("main.t", duck, pa.table({"id": ["a", "a"],
                                                     "on": [dt.date(2026, 1, 31)] * 2})).problems
    assert compare_tables("main.t", duck, pa.table({"id": ["a"]})).problems
    assert not compare_tables("main.t", duck, duck).problems


def test_python_models_use_only_what_the_spark_session_stand_in_gives() -> None:
    """On Spark a Python model's `session` is SessionStandIn (the SparkSession plus
    `from_arrow`, which hands the model's Arrow table back to be written to Spark); a model
    calling another DuckDB session method would build on DuckDB and fail on Spark."""
    import re

    from retail_tiers.spark_build import SessionStandIn

    models = sorted((PROJECT / "models").rglob("*.py"))
    assert len(models) >= 6
    used = {name for path in models
            for name in re.findall(r"\bsession\.(\w+)", path.read_text(encoding="utf-8"))}
    assert used == {"from_arrow"}, used
    table = pa.table({"x": [1, 2]})
    assert SessionStandIn(object()).from_arrow(table) is table


def reference_comparison(relation: str, left: pa.Table, right: pa.Table) -> tuple[list[str],
                                                                                   float]:
    """The comparison cell by cell in plain Python (rows sorted by their rounded values),
    as a second implementation of compare_tables' vectorised one."""
    import json
    import math

    from retail_tiers.spark_parity import _cell_difference, _is_number

    def key(row: dict) -> tuple:
        found = []
        for value in row.values():
            if value is None:
                found.append((0, ""))
            elif isinstance(value, list):
                found.append((1, json.dumps([round(float(v), 6) for v in value])))
            elif _is_number(value):
                number = float(value)
                found.append((1, "nan" if math.isnan(number) else
                              f"{round(number, 6):+030.6f}"))
            else:
                found.append((1, str(value)))
        return tuple(found)

    fit = relation.split(".")[-1] in {"clv_model_fit", "holdout_model_fit"}
    problems, largest = [], 0.0
    for number, (a, b) in enumerate(zip(sorted(left.to_pylist(), key=key),
                                        sorted(right.to_pylist(), key=key), strict=True)):
        for column in left.column_names:
            kind = left.schema.field(column).type
            gap = _cell_difference(a[column], b[column], pa.types.is_decimal(kind),
                                   fit and (pa.types.is_floating(kind) or pa.types.is_list(kind)))
            if gap is None:
                continue
            if gap != math.inf:
                largest = max(largest, gap)
            if len(problems) < 5:
                problems.append(f"row {number + 1} column {column}: DuckDB {a[column]!r}, "
                                f"Spark {b[column]!r}")
    return problems, largest


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("relation", ["main.customers", "main.clv_model_fit"])
def test_the_vectorised_comparison_agrees_with_the_cell_by_cell_one(seed: int,
                                                                    relation: str) -> None:
    import random

    rng = random.Random(seed)
    rows = 40
    ids = [f"c{i:03d}" for i in range(rows)]
    rng.shuffle(ids)
    amounts = [decimal.Decimal(rng.randint(0, 10**6)) / 100 for _ in range(rows)]
    rates = [rng.choice([None, float("nan"), rng.random() * 10 ** rng.randint(-3, 4)])
             for _ in range(rows)]
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 300)) for _ in range(rows)]
    flags = [rng.choice([True, False, None]) for _ in range(rows)]
    params = [[rng.random(), rng.random()] for _ in range(rows)]
    left = pa.table({"id": ids, "amount": pa.array(amounts, pa.decimal128(18, 2)),
                     "rate": pa.array(rates, pa.float64()), "on": days, "flag": flags,
                     "params": params})
    # Spark's side: other types for the same values, rows in another order, some cells nudged
    # within and some beyond the tolerances
    changed = {"amount": list(amounts), "rate": list(rates), "on": list(days),
               "flag": list(flags), "params": [list(p) for p in params]}
    for _ in range(rng.randint(0, 6)):
        row, column = rng.randrange(rows), rng.choice(list(changed))
        value = changed[column][row]
        if column == "amount":
            changed[column][row] = value + rng.choice([decimal.Decimal("0.004"),
                                                       decimal.Decimal("0.02")])
        elif column == "rate":
            changed[column][row] = rng.choice([None, float("nan"), 1.0,
                                               (value or 1.0) * (1 + rng.choice([1e-12, 1e-7,
                                                                                   1e-3]))])
        elif column == "on":
            changed[column][row] = value + dt.timedelta(days=1)
        elif column == "flag":
            changed[column][row] = not value
        else:
            changed[column][row] = [value[0] * (1 + rng.choice([1e-8, 1e-4])), value[1]]
    right = pa.table({"id": pa.array(ids, pa.large_string()),
                      "amount": pa.array(changed["amount"], pa.decimal128(38, 4)),
                      "rate": pa.array(changed["rate"], pa.float64()), "on": changed["on"],
                      "flag": changed["flag"], "params": changed["params"]})
    order = list(range(rows))
    rng.shuffle(order)
    right = right.take(order)
    found = compare_tables(relation, left, right)
    problems, largest = reference_comparison(relation, left, right)
    assert found.problems == problems
    assert found.largest_difference == pytest.approx(largest)
