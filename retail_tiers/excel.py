"""Excel input: one sheet of an `.xlsx` workbook as a typed Parquet copy that the Parquet path
reads (macros/raw_input.sql), so a workbook gets the same checks, quarantine and row
accounting as a CSV file.

The sheet is read with python-calamine, which gives each cell as Excel holds it: text,
number, boolean, date or date-time. Cells map onto Parquet with no text round trip that
could change them: a column of numbers stays numbers (whole numbers as integers, so an id or
a quantity typed as a number is `1001`, not `1001.0`; other numbers as doubles, which
staging reads in their shortest exact form, so 12.35 is 12.3500, never 12.3499999), a column
of dates stays dates and of date-times timestamps, a column of booleans booleans. A column
mixing kinds (a number column with a few text cells, say) becomes text, each cell written the
way its kind is written in the typed case, so staging quarantines the text cells exactly as it
would in a CSV file.

Rows: the header is the first non-empty row of the sheet; every row after it down to the
last non-empty one is a data row, blank ones included (staging quarantines a blank row as it
would a line of empty fields), so data row n is Excel row `header_row + n`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from retail_tiers.errors import RetailTiersError

# integers beyond this are not exact as doubles (Excel keeps 15 significant digits)
EXACT_INTEGER = 2**53


@dataclass(frozen=True)
class SheetCopy:
    """What converting one sheet produced."""

    path: Path  # the typed Parquet copy
    sheet: str
    header_row: int  # Excel row number of the header (1 unless the sheet starts lower)
    header: list[str]
    rows: int
    column_types: dict[str, str]  # Parquet type of each column, for `check`


def sheet_to_parquet(path: Path, display: str, out: Path, sheet: str | None,
                     name_columns: Callable[[list[str]], list[str]]) -> SheetCopy:
    """Write sheet `sheet` (default: the first) of workbook `path` to Parquet file `out`.

    `name_columns` turns the header cells (as text, trimmed) into the unique column names
    the copy is written with (`check` gives contract columns their contract names and names
    blank and repeated extra columns, as for a CSV file); it may raise RetailTiersError.
    """
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as error:  # calamine raises its own error types for a damaged file
        raise RetailTiersError(f"{display}: not a readable Excel workbook ({_first_line(error)})"
                               ) from None
    names = list(workbook.sheet_names)
    if not names:
        raise RetailTiersError(f"{display}: the workbook has no sheet")
    if sheet is None:
        sheet = names[0]
    elif sheet not in names:
        raise RetailTiersError(f"{display}: no sheet named {sheet!r} (sheets: "
                               f"{', '.join(repr(name) for name in names)})")
    try:
        values = workbook.get_sheet_by_name(sheet)
        start_row = values.start[0] if values.start else 0
        rows = values.to_python(skip_empty_area=True)
    except Exception as error:
        raise RetailTiersError(f"{display}: sheet {sheet!r} cannot be read "
                               f"({_first_line(error)})") from None
    while rows and all(_is_empty(cell) for cell in rows[0]):  # blank rows above the header
        rows, start_row = rows[1:], start_row + 1
    if not rows:
        raise RetailTiersError(f"{display}: sheet {sheet!r} is empty (no header row)")
    header = [_header_name(cell) for cell in rows[0]]
    names = name_columns(header)
    data = rows[1:]
    arrays = [typed_array([row[position] if position < len(row) else "" for row in data])
              for position in range(len(header))]
    table = pa.Table.from_arrays(arrays, names=names)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    try:
        pq.write_table(table, partial)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return SheetCopy(path=out, sheet=sheet, header_row=start_row + 1, header=names,
                     rows=len(data),
                     column_types={name: str(array.type) for name, array in zip(names, arrays,
                                                                                 strict=True)})


def typed_array(cells: list[Any]) -> pa.Array:
    """One column's cells as a typed array (see the module docstring)."""
    present = [cell for cell in cells if not _is_empty(cell)]
    kinds = {_kind(cell) for cell in present}
    values = [None if _is_empty(cell) else cell for cell in cells]
    if not present:
        return pa.array([None] * len(cells), pa.string())
    if kinds == {"bool"}:
        return pa.array(values, pa.bool_())
    if kinds <= {"int", "float"}:
        if all(_is_whole(cell) for cell in present):
            return pa.array([None if value is None else int(value) for value in values],
                            pa.int64())
        if all(math.isfinite(cell) for cell in present):
            return pa.array([None if value is None else float(value) for value in values],
                            pa.float64())
    if kinds == {"date"}:
        return pa.array(values, pa.date32())
    if kinds <= {"date", "datetime"}:
        return pa.array([None if value is None else _as_datetime(value) for value in values],
                        pa.timestamp("us"))
    return pa.array([None if value is None else cell_text(value) for value in values],
                    pa.string())


def cell_text(cell: Any) -> str:
    """A cell as text, written as its typed column would read in staging."""
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, int):
        return str(cell)
    if isinstance(cell, float):
        return str(int(cell)) if _is_whole(cell) else repr(cell)
    if isinstance(cell, dt.datetime):
        return cell.isoformat(sep=" ")
    if isinstance(cell, (dt.date, dt.time)):
        return cell.isoformat()
    if isinstance(cell, dt.timedelta):
        return str(cell)
    return str(cell)


def _kind(cell: Any) -> str:
    if isinstance(cell, bool):
        return "bool"
    if isinstance(cell, int):
        return "int"
    if isinstance(cell, float):
        return "float"
    if isinstance(cell, dt.datetime):
        return "datetime"
    if isinstance(cell, dt.date):
        return "date"
    return "text"


def _is_whole(cell: Any) -> bool:
    if isinstance(cell, int):
        return abs(cell) < EXACT_INTEGER
    return math.isfinite(cell) and cell == int(cell) and abs(cell) < EXACT_INTEGER


def _is_empty(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and cell == "")


def _as_datetime(cell: dt.date) -> dt.datetime:
    if isinstance(cell, dt.datetime):
        return cell
    return dt.datetime(cell.year, cell.month, cell.day)


def _header_name(cell: Any) -> str:
    return "" if _is_empty(cell) else cell_text(cell).strip()


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
