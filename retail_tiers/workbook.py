"""Excel output: tables as typed sheets (xlsxwriter), shared by `export --format xlsx` and
`report --format xlsx`.

Each sheet has a bold header row (column titles in English, the column names as in the CSV
export, or in Chinese with `--lang zh`), frozen panes below it, an autofilter and typed
cells: numbers stay numbers (money with two decimals shown, rates as percentages, the full
value kept), dates are date cells, true/false booleans, and text is written as text, never
as a formula (a name starting with `=` stays that text). The file is written beside the
target and renamed over it, so a failed write leaves no partial file.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from retail_tiers.errors import RetailTiersError
from retail_tiers.tempfiles import remove_stale_temp_files, temp_path

MAX_ROWS = 1_048_575  # Excel's 1,048,576 rows, less the header
RATE_SUFFIXES = ("_rate", "_uplift", "_probability", "uplift_lower", "uplift_upper", "roi")
MONEY_SUFFIXES = ("_amount", "_revenue", "_clv", "_value", "cost")


@dataclass(frozen=True)
class Sheet:
    name: str
    columns: Sequence[str]  # column names (what each cell's kind is judged by)
    titles: Sequence[str]  # header row
    rows: Iterable[Sequence[Any]]


def number_format(column: str) -> str | None:
    """The display format of a numeric column (the cell keeps the full value)."""
    if column.endswith(RATE_SUFFIXES):
        return "0.0%"
    if column.endswith(MONEY_SUFFIXES) or "amount" in column:
        return "#,##0.00"
    return None


def write_workbook(target: Path, sheets: Sequence[Sheet]) -> list[int]:
    """Write the sheets to `target` (atomically); returns the data rows of each sheet."""
    import xlsxwriter

    if target.exists() and target.is_dir():
        raise RetailTiersError(f"--out {target}: is a folder; give a file name such as "
                               "customers.xlsx")
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(target)
    temp = temp_path(target)
    counts: list[int] = []
    try:
        workbook = xlsxwriter.Workbook(str(temp), {"constant_memory": True,
                                                   "strings_to_formulas": False,
                                                   "strings_to_urls": False})
        header = workbook.add_format({"bold": True, "bg_color": "#E8EEF4", "border": 1})
        date = workbook.add_format({"num_format": "yyyy-mm-dd"})
        date_time = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        numbers = {pattern: workbook.add_format({"num_format": pattern})
                   for pattern in ("0.0%", "#,##0.00")}
        for sheet in sheets:
            worksheet = workbook.add_worksheet(sheet.name[:31])
            for column, title in enumerate(sheet.titles):
                worksheet.write_string(0, column, str(title), header)
                worksheet.set_column(column, column, max(10, min(40, len(str(title)) * 2)))
            worksheet.freeze_panes(1, 0)
            formats = [numbers.get(number_format(column) or "") for column in sheet.columns]
            count = 0
            for count, row in enumerate(sheet.rows, start=1):
                if count > MAX_ROWS:
                    raise RetailTiersError(f"{target.name}: sheet {sheet.name} would have more "
                                           f"than {MAX_ROWS:,} rows, Excel's limit: export "
                                           "CSV instead (--format csv)")
                for column, value in enumerate(row):
                    _write_cell(worksheet, count, column, value, formats[column], date,
                                date_time)
            worksheet.autofilter(0, 0, max(count, 1), max(len(sheet.columns) - 1, 0))
            counts.append(count)
        workbook.close()
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return counts


def _write_cell(worksheet: Any, row: int, column: int, value: Any, number: Any, date: Any,
                date_time: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        worksheet.write_boolean(row, column, value)
    elif isinstance(value, (int, float, Decimal)):
        worksheet.write_number(row, column, float(value), number)
    elif isinstance(value, dt.datetime):
        worksheet.write_datetime(row, column, value.replace(tzinfo=None), date_time)
    elif isinstance(value, dt.date):
        worksheet.write_datetime(row, column, dt.datetime(value.year, value.month, value.day),
                                 date)
    else:
        worksheet.write_string(row, column, str(value))
