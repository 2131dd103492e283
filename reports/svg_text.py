"""Chart labels drawn by WeasyPrint as one run of text instead of one run per letter.

WeasyPrint's SVG renderer lays a `<text>` out once to measure it and then lays out and draws
every letter on its own (so that it can honour per-letter `x`, `dx`, `rotate` lists): a chart
label of 8 characters costs 9 Pango layouts and 8 text runs in the PDF. The report's charts
(matplotlib with `svg.fonttype: none`) never position letters: each label is a `<text>` with
one `x` and `y` (or a transform) and no child. For such a label the letters sit exactly where
laying out the whole string puts them, provided that shaping does not move them (no kerning,
no ligatures: letters laid out alone get neither), so here the whole string is laid out once,
with kerning and ligatures off, and drawn as one run. Every other text node (tspans, letter
positions or rotations, letter spacing, textLength) is left to WeasyPrint's own function.
"""

from __future__ import annotations

from collections.abc import Callable
from math import inf
from typing import Any

from reports import weasyprint_versions

# Attributes that position or stretch single letters: a node with any of them is WeasyPrint's.
PER_LETTER_ATTRIBUTES = ("dx", "dy", "rotate", "letter-spacing", "textLength")
# An anchored label (text-anchor middle or end, left to right) is drawn moved left by half or
# all of its width; WeasyPrint would draw it into a group of its own and move the group.
ANCHOR = "{reports.svg_text}text-anchor"
ANCHOR_SHARE = {"middle": 0.5, "end": 1.0}
TextFunction = Callable[[Any, Any, float], None]


def is_single_run(node: Any) -> bool:
    """A `<text>` that holds only its text, at one position, with nothing per letter."""
    if node.tag != "text" or not node.text or any(True for _ in node):
        return False
    attributes = node.attrib
    if any(name in attributes for name in PER_LETTER_ATTRIBUTES):
        return False
    return all(len(attributes.get(name, "").replace(",", " ").split()) <= 1
               for name in ("x", "y"))


def single_run_text(original: TextFunction) -> TextFunction:
    """WeasyPrint's `text(svg, node, font_size)` with single-run labels drawn in one run."""
    from weasyprint.css.properties import INITIAL_VALUES
    from weasyprint.draw.text import draw_emojis, draw_first_line
    from weasyprint.matrix import Matrix
    from weasyprint.svg.bounding_box import extend_bounding_box
    from weasyprint.svg.text import Style, TextBox
    from weasyprint.svg.utils import normalize, size
    from weasyprint.text.line_break import split_first_line

    def text(svg: Any, node: Any, font_size: float) -> None:
        if not is_single_run(node):
            original(svg, node, font_size)
            return
        style = Style()
        style.update(INITIAL_VALUES)
        style.font_config = svg.font_config
        style["font_family"] = [font.strip("\"'")
                                for font in node.get("font-family", "sans-serif").split(",")]
        style["font_style"] = node.get("font-style", "normal")
        weight = node.get("font-weight", 400)
        if weight == "normal":
            style["font_weight"] = 400
        elif weight == "bold":
            style["font_weight"] = 700
        else:
            try:
                style["font_weight"] = int(weight)
            except ValueError:
                style["font_weight"] = 400
        style["font_size"] = font_size
        if node.get("direction") in ("ltr", "rtl"):
            style["direction"] = node.get("direction")
        # letters laid out one by one are neither kerned nor joined: the whole run neither
        style["font_kerning"] = "none"
        style["font_variant_ligatures"] = "none"

        layout, _, _, width, height, baseline = split_first_line(
            node.text, style, svg.context, inf, 0)

        def position(name: str, extent: float, cursor: float) -> float:
            value = normalize(node.attrib[name]).strip() if name in node.attrib else ""
            return size(value, font_size, extent) if value else cursor

        x = position("x", svg.inner_width, svg.cursor_position[0])
        y = position("y", svg.inner_height, svg.cursor_position[1])
        if "x" in node.attrib:
            svg.cursor_d_position[0] = 0
        if "y" in node.attrib:
            svg.cursor_d_position[1] = 0

        ascent, descent = font_size * .8, font_size * .2
        y_align = 0.0
        display_anchor = node.get("display-anchor")
        alignment_baseline = node.get("dominant-baseline", node.get("alignment-baseline"))
        if display_anchor == "middle":
            y_align = -height / 2
        elif display_anchor == "top":
            pass
        elif display_anchor == "bottom":
            y_align = -height
        elif alignment_baseline in ("central", "middle"):
            y_align = (ascent + descent) / 2 - descent
        elif alignment_baseline in ("text-before-edge", "before_edge", "top", "hanging",
                                    "text-top"):
            y_align = ascent
        elif alignment_baseline in ("text-after-edge", "after_edge", "bottom",
                                    "text-bottom"):
            y_align = -descent

        x_position = x + svg.cursor_d_position[0] - ANCHOR_SHARE.get(node.get(ANCHOR), 0) * width
        y_position = y + svg.cursor_d_position[1] + y_align
        svg.cursor_position = x + width, y
        node.text_bounding_box = extend_bounding_box(
            node.text_bounding_box,
            ((x_position, y_position - baseline),
             (x_position + width, y_position - baseline + height)))

        svg.stream.push_state()
        fill, stroke = svg.set_graphical_state(node, font_size)
        svg.stream.begin_text()
        layout.reactivate(style)
        svg.fill_stroke(fill, stroke, text=True)
        text_box = TextBox(layout, style)
        text_box.baseline = baseline
        emojis = draw_first_line(svg.stream, text_box, "none", "none",
                                 Matrix(a=1, d=-1, e=x_position, f=y_position))
        svg.stream.end_text()
        svg.stream.pop_state()
        draw_emojis(svg.stream, style, x, y, emojis)

    return text


def anchored_here(original: Callable[..., None]) -> Callable[..., None]:
    """WeasyPrint's `SVG.draw_node` with the anchor of single-run labels left to
    single_run_text (the width is known before drawing): WeasyPrint draws an anchored label
    into a PDF group of its own, measures it, then draws the group moved by its width, which
    made most of the PDF's objects (one per tick label)."""

    def draw_node(svg: Any, node: Any, font_size: float, fill_stroke: bool = True,
                  context: Any = None) -> None:
        anchor = node.get("text-anchor")
        if (anchor not in ANCHOR_SHARE or node.get("direction", "ltr") != "ltr"
                or not is_single_run(node)):
            original(svg, node, font_size, fill_stroke, context)
            return
        node.attrib[ANCHOR] = node.attrib.pop("text-anchor")
        try:
            original(svg, node, font_size, fill_stroke, context)
        finally:
            node.attrib["text-anchor"] = node.attrib.pop(ANCHOR)

    return draw_node


def install(weasyprint: Any) -> bool:
    """Use single_run_text (and anchored_here) for WeasyPrint's SVG text, once per process,
    for the WeasyPrint versions it was checked against; returns whether it is in use. Other
    versions keep WeasyPrint's own drawing (slower, same pages)."""
    if not weasyprint_versions.is_checked(weasyprint):
        return False
    from weasyprint import svg

    current = svg.TAGS.get("text")
    if getattr(current, "single_run", False):
        return True
    if current is not svg.text:
        return False
    replacement = single_run_text(current)
    replacement.single_run = True  # type: ignore[attr-defined]
    for tag, function in list(svg.TAGS.items()):
        if function is current:
            svg.TAGS[tag] = replacement
    svg.text = replacement  # draw_node tells text nodes by `TAGS.get(tag) == text`
    svg.SVG.draw_node = anchored_here(svg.SVG.draw_node)
    return True
