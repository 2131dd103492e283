"""Each chart's size on paper, worked out from its job's arguments without matplotlib.

reports.charts sizes its figures from these tables, and the PDF writer reads them to give
WeasyPrint each chart's box before the chart is drawn (see reports.render.write_pdf), so the
two cannot disagree. Sizes are in millimetres; a chart's SVG is as many points wide.
"""

from __future__ import annotations

from typing import Any

from reports import theme

POINTS_PER_INCH = 72
# function -> (width, height) when the height does not depend on the data
FIXED_MM: dict[str, tuple[float, float]] = {
    "trend_chart": (56, 30),
    "histogram": (100, 48),
    "column_shares": (70, 48),
    "tracking_chart": (104, 56),
    "paired_columns": (70, 56),
}
# function -> (width, height without rows, height per row) when it grows with its rows
BY_ROWS_MM: dict[str, tuple[float, float, float]] = {
    "share_bars": (86, 12, 6.2),
    "uplift_chart": (178, 14, 11),
    "nps_bars": (178, 15, 5),
    "stacked_shares": (178, 10, 6.4),
}


def rows_height_mm(function: str, rows: int) -> float:
    """The height of a chart of `function` with `rows` rows (one per label)."""
    _width, base, per_row = BY_ROWS_MM[function]
    return base + rows * per_row


def chart_size_mm(function: str, arguments: dict[str, Any]) -> tuple[float, float] | None:
    """(width, height) in mm of the chart that `function(**arguments)` draws; None for a job
    that is not a chart of a known size."""
    if function in FIXED_MM:
        width, height = FIXED_MM[function]
        return (arguments.get("width_mm", width), arguments.get("height_mm", height))
    if function in BY_ROWS_MM:
        height = (arguments.get("height_mm")
                  or rows_height_mm(function, len(arguments["labels"])))
        return (arguments.get("width_mm", BY_ROWS_MM[function][0]), height)
    return None


def chart_size_pt(function: str, arguments: dict[str, Any]) -> tuple[float, float] | None:
    """The same size in points (the unit of the chart's SVG width and height)."""
    size = chart_size_mm(function, arguments)
    if size is None:
        return None
    return (size[0] / theme.MM_PER_INCH * POINTS_PER_INCH,
            size[1] / theme.MM_PER_INCH * POINTS_PER_INCH)
