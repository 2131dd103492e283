"""Space leaders laid out without the thousands of blank text boxes WeasyPrint fills them with.

The contents and the highlights put each page number at the right end of its line with
`leader(" ")`. WeasyPrint lays a leader out by copying its text box once per leader width
that fits in the line (about 200 copies of one space per line, 4,200 in a report) and then
paints every copy: a Pango layout made and a PDF text object opened and closed for each,
although a blank text draws no glyph. What places the page number is the leader box's width
(the line's free width), not its copies, so for a blank leader without text decoration the
copies are dropped once the line is laid out: the same page, the same text, a twentieth of
the report's text boxes. Any other leader (dots, or a decorated one) keeps its copies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reports import weasyprint_versions

LeaderFunction = Callable[[Any, Any, Any], None]


def draws_nothing(text_box: Any) -> bool:
    """A text box that paints nothing: blank text (WeasyPrint's draw_first_line skips it)
    and no underline, overline or line-through (drawn even under blank text)."""
    return not text_box.text.strip() and text_box.style["text_decoration_line"] == "none"


def without_blank_copies(original: LeaderFunction, leader_index: Callable[[Any], Any]
                         ) -> LeaderFunction:
    """WeasyPrint's `handle_leader(context, line, containing_block)`, with the copies of a
    leader that draws nothing dropped after it has placed what follows the leader."""

    def handle_leader(context: Any, line: Any, containing_block: Any) -> None:
        index, leader = leader_index(line)
        blank = (index is not None and len(leader.children) == 1
                 and draws_nothing(leader.children[0]))
        original(context, line, containing_block)
        if blank:
            leader.children = ()

    return handle_leader


def install(weasyprint: Any) -> bool:
    """Use without_blank_copies for WeasyPrint's leaders, once per process, for the
    WeasyPrint versions it was checked against; returns whether it is in use. Other versions
    keep WeasyPrint's own leaders (slower, same pages)."""
    if not weasyprint_versions.is_checked(weasyprint):
        return False
    from weasyprint.layout import inline, leader

    current = inline.handle_leader
    if getattr(current, "blank_copies_dropped", False):
        return True
    if current is not leader.handle_leader:
        return False
    replacement = without_blank_copies(current, leader.leader_index)
    replacement.blank_copies_dropped = True  # type: ignore[attr-defined]
    inline.handle_leader = replacement
    return True
