"""`python -m retail_tiers.compare OLD.duckdb NEW.duckdb`: are two warehouses' tables equal?

For every table or view of the schemas compared (default: main, the marts) that both
warehouses hold, the rows of OLD missing from NEW and the rows of NEW missing from OLD
(`except all`, both ways) over the columns both have (doubles rounded to 9 significant
digits, timing columns left out); columns only one side has are listed.
Used to show that a redesign changed no figure, and that an incremental build equals a full
one. Exit 0 when every common table is equal, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

# bookkeeping of the build itself, different in every build by design
SKIPPED_TABLES = {"build_runs", "build_results"}
# how long a fit took: never the same twice
SKIPPED_COLUMN_SUFFIXES = ("_seconds",)
# Floating-point sums and means come out in a different last bit when DuckDB's threads add
# in a different order, so doubles are compared rounded to this many significant digits.
DOUBLE_DIGITS = 9


@dataclass(frozen=True)
class TableComparison:
    schema: str
    table: str
    old_rows: int
    new_rows: int
    only_old: int  # rows of OLD not in NEW (except all)
    only_new: int
    old_only_columns: tuple[str, ...]
    new_only_columns: tuple[str, ...]
    # up to 3 rows only in OLD, then up to 3 only in NEW, as (column, value) pairs
    examples: tuple[tuple[tuple[str, Any], ...], ...] = ()

    @property
    def equal(self) -> bool:
        return self.only_old == 0 and self.only_new == 0


def _columns(con: duckdb.DuckDBPyConnection, catalog: str, schema: str,
             table: str) -> dict[str, str]:
    return {row[0]: row[1] for row in con.execute(
        "select column_name, data_type from information_schema.columns where table_catalog = ? "
        "and table_schema = ? and table_name = ? order by ordinal_position",
        [catalog, schema, table]).fetchall()}


def _significant(value: str) -> str:
    """`value` rounded to DOUBLE_DIGITS significant digits (0, null, inf and nan as they are).

    Rounded twice, first to 12 digits: a mean like 102.6359375 (exact in decimal) comes out of
    a parallel double sum as 102.63593749999999 or 102.63593750000001, which one rounding to
    9 digits would tell apart (102.635937 / 102.635938); the first rounding removes that noise.
    """
    digits = f"cast(ceil(log10(abs({value}))) as integer)"
    return (f"case when {value} = 0 or not isfinite({value}) then {value} else "
            f"round(round({value}, 12 - {digits}), {DOUBLE_DIGITS} - {digits}) end")


def _compared(name: str, data_type: str) -> str:
    if data_type in ("DOUBLE", "FLOAT"):
        return f'{_significant(chr(34) + name + chr(34))} as "{name}"'
    if data_type in ("DOUBLE[]", "FLOAT[]"):
        return f'list_transform("{name}", lambda v: {_significant("v")}) as "{name}"'
    return f'"{name}"'



def _tables(con: duckdb.DuckDBPyConnection, catalog: str, schema: str) -> set[str]:
    return {row[0] for row in con.execute(
        "select table_name from information_schema.tables where table_catalog = ? "
        "and table_schema = ?", [catalog, schema]).fetchall()}


def compare(old: Path, new: Path, schemas: Sequence[str] = ("main",)) -> list[TableComparison]:
    con = duckdb.connect()
    try:
        con.execute(f"attach '{old}' as old_wh (read_only)")
        con.execute(f"attach '{new}' as new_wh (read_only)")
        found = []
        for schema in schemas:
            common = (_tables(con, "old_wh", schema) & _tables(con, "new_wh", schema)) \
                - SKIPPED_TABLES
            for table in sorted(common):
                old_columns = _columns(con, "old_wh", schema, table)
                new_columns = _columns(con, "new_wh", schema, table)
                shared = [name for name in old_columns if name in new_columns
                          and not name.endswith(SKIPPED_COLUMN_SUFFIXES)]
                listed = ", ".join(_compared(name, old_columns[name]) for name in shared)
                old_rel = f'old_wh."{schema}"."{table}"'
                new_rel = f'new_wh."{schema}"."{table}"'
                count = "select count(*) from ({} except all {})"
                examples = "select * from ({} except all {}) limit 3"
                old_only = con.execute(examples.format(
                    f"select {listed} from {old_rel}", f"select {listed} from {new_rel}")
                ).fetchall()
                new_only = con.execute(examples.format(
                    f"select {listed} from {new_rel}", f"select {listed} from {old_rel}")
                ).fetchall()
                found.append(TableComparison(
                    schema, table,
                    con.execute(f"select count(*) from {old_rel}").fetchone()[0],
                    con.execute(f"select count(*) from {new_rel}").fetchone()[0],
                    con.execute(count.format(f"select {listed} from {old_rel}",
                                             f"select {listed} from {new_rel}")).fetchone()[0],
                    con.execute(count.format(f"select {listed} from {new_rel}",
                                             f"select {listed} from {old_rel}")).fetchone()[0],
                    tuple(name for name in old_columns if name not in new_columns),
                    tuple(name for name in new_columns if name not in old_columns),
                    tuple(tuple(zip(shared, row, strict=True)) for row in old_only + new_only),
                ))
        return found
    finally:
        con.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--schema", action="append", dest="schemas",
                        help="schema to compare (repeatable; default: main)")
    args = parser.parse_args(argv)
    results = compare(args.old, args.new, args.schemas or ["main"])
    print("| table | rows old | rows new | only in old | only in new | columns only old "
          "| columns only new |")
    print("|---|---|---|---|---|---|---|")
    print(f"(doubles compared to {DOUBLE_DIGITS} significant digits; *_seconds columns and "
          f"{', '.join(sorted(SKIPPED_TABLES))} left out)")
    for item in results:
        print(f"| {item.schema}.{item.table} | {item.old_rows:,} | {item.new_rows:,} | "
              f"{item.only_old:,} | {item.only_new:,} | {', '.join(item.old_only_columns)} | "
              f"{', '.join(item.new_only_columns)} |")
    unequal = [item for item in results if not item.equal]
    print(f"{len(results) - len(unequal)} of {len(results)} tables equal")
    sys.exit(1 if unequal else 0)


if __name__ == "__main__":
    main()
