"""Table cells' text measured once for both of their content widths, not twice.

Before laying a table out, WeasyPrint measures every cell's text twice: for its min-content
width (the text broken at every opportunity, `max_width=0`) and for its max-content width
(unbroken, `max_width=None`), each time by laying it out with Pango (`split_first_line`). For
text that does not wrap (the report's number cells are `white-space: nowrap`) WeasyPrint
ignores the width, so the two measurements are the same call: 1,450 of the 3,570 a report
makes. Here the measurements of one document's layout are kept, keyed by everything the
result depends on (the text, the style object, the width as WeasyPrint uses it, the
justification spacing and the line-start and minimum flags), and a repeated call takes the
kept result. Only these width measurements are kept (their layouts are thrown away); the
layout of the lines themselves is WeasyPrint's own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reports import weasyprint_versions

WRAPPING = ("normal", "pre-wrap", "pre-line")  # split_first_line's own test
KEPT = "_retail_tiers_measured_text"  # the layout context's attribute holding the results

SplitFunction = Callable[..., Any]


def measured_once(original: SplitFunction) -> SplitFunction:
    """WeasyPrint's `split_first_line` for the content-width code, with each distinct call's
    result kept on the layout context (`context`) for the rest of that document's layout."""

    def split_first_line(text: str, style: Any, context: Any, max_width: float | None,
                         justification_spacing: float, is_line_start: bool = True,
                         minimum: bool = False) -> Any:
        kept = context.__dict__.setdefault(KEPT, {})
        width = max_width if style["white_space"] in WRAPPING else None
        key = (text, id(style), width, justification_spacing, is_line_start, minimum)
        found = kept.get(key)
        if found is None:
            result = original(text, style, context, max_width, justification_spacing,
                              is_line_start, minimum)
            kept[key] = found = (result, style)  # the style too: its id stays its own
        return found[0]

    return split_first_line


def install(weasyprint: Any) -> bool:
    """Use measured_once for WeasyPrint's content widths, once per process, for the
    WeasyPrint versions it was checked against; returns whether it is in use. Other versions
    measure as WeasyPrint does (slower, same pages)."""
    if not weasyprint_versions.is_checked(weasyprint):
        return False
    from weasyprint.layout import preferred
    from weasyprint.text import line_break

    current = preferred.split_first_line
    if getattr(current, "measured_once", False):
        return True
    if current is not line_break.split_first_line:
        return False
    replacement = measured_once(current)
    replacement.measured_once = True  # type: ignore[attr-defined]
    preferred.split_first_line = replacement
    return True
