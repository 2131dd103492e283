"""The project's lean materializations (macros/materializations.sql): a model that fails
(SQL or Python) leaves its previous relation as it was, a relation can change between table
and view, an incremental model appends (dbt-duckdb's materialization) only in a build that appends
(var append_transactions, macros/build_input.sql), and is rebuilt (the lean one) by a full
refresh or any other build, and nothing is left behind. Plain `dbt run` on a tiny project, so
that a failure is not hidden by `retail-tiers build`, which works on a copy of the
warehouse."""

from __future__ import annotations

from pathlib import Path

import duckdb
from conftest import plain_dbt, tiny_project

APPENDING = '{"append_transactions": true}'


def write_models(project: Path, models: dict[str, tuple[str, str]]) -> None:
    """SQL models (name: materialization and query)."""
    for name, (materialized, sql) in models.items():
        (project / "models" / f"{name}.sql").write_text(
            f"{{{{ config(materialized='{materialized}', incremental_strategy='append') }}}}"
            f"\n{sql}\n", encoding="utf-8")


def write_python_model(project: Path, value: int | None) -> None:
    """A Python model, `fitted`, whose table holds `value` (None: it raises)."""
    number = "int('x')" if value is None else str(value)  # int('x') raises when it runs
    (project / "models" / "fitted.py").write_text(
        "import pandas\n\n\ndef model(dbt, session):\n"
        f"    return pandas.DataFrame({{'n': [{number}]}})\n", encoding="utf-8")


def dbt_run(project: Path, warehouse: Path, *args: str) -> bool:
    return plain_dbt(project, warehouse, "run", *args)


def relations(warehouse: Path) -> dict[str, tuple[str, list[tuple]]]:
    """Each relation of the schema `main`: its type and rows."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        found = con.execute("select table_name, table_type from information_schema.tables "
                            "where table_schema = 'main' order by 1").fetchall()
        return {name: (kind, con.execute(f'select * from main."{name}" order by 1').fetchall())
                for name, kind in found}
    finally:
        con.close()


def test_a_failed_model_keeps_its_relation_and_types_can_change(tmp_path: Path) -> None:
    project = tiny_project(tmp_path, {}, macros=("materializations.sql", "build_input.sql"))
    warehouse = tmp_path / "warehouse.duckdb"
    write_models(project, {
        "numbers": ("table", "select 1 as n union all select 2"),
        "doubled": ("view", "select n * 2 as m from {{ ref('numbers') }}"),
        "appended": ("incremental", "select 7 as n"),
    })
    write_python_model(project, 3)
    assert dbt_run(project, warehouse)
    built = {"numbers": ("BASE TABLE", [(1,), (2,)]), "doubled": ("VIEW", [(2,), (4,)]),
             "appended": ("BASE TABLE", [(7,)]), "fitted": ("BASE TABLE", [(3,)])}
    assert relations(warehouse) == built

    # the table's query fails only when it runs (a cast), the view's when it is created
    write_models(project, {
        "numbers": ("table", "select cast('x' || n as integer) as n from "
                             "(select 1 as n union all select 3)"),
        "doubled": ("view", "select m from no_such_table"),
    })
    write_python_model(project, None)
    assert not dbt_run(project, warehouse, "--vars", APPENDING)
    assert relations(warehouse) == {**built, "appended": ("BASE TABLE", [(7,), (7,)])}

    # a table becomes a view and a view a table, and the rebuilt view reads the new table; a
    # full refresh builds the incremental model again, even in an appending build
    write_models(project, {
        "numbers": ("view", "select 5 as n"),
        "doubled": ("table", "select n * 2 as m from {{ ref('numbers') }}"),
    })
    write_python_model(project, 4)
    assert dbt_run(project, warehouse, "--full-refresh", "--vars", APPENDING)
    assert relations(warehouse) == {"numbers": ("VIEW", [(5,)]),
                                    "doubled": ("BASE TABLE", [(10,)]),
                                    "appended": ("BASE TABLE", [(7,)]),
                                    "fitted": ("BASE TABLE", [(4,)])}

    # an incremental model appends only in a build that appends new monthly files; any other
    # build (here a plain run of it) builds it again
    assert dbt_run(project, warehouse, "--select", "appended", "--vars", APPENDING)
    assert relations(warehouse)["appended"] == ("BASE TABLE", [(7,), (7,)])
    assert dbt_run(project, warehouse, "--select", "appended")
    assert relations(warehouse)["appended"] == ("BASE TABLE", [(7,)])
