"""The report's charts: matplotlib figures saved as SVG with text kept as text.

`svg.fonttype = 'none'` writes labels as <text> elements, so they stay selectable, use the
PDF's fonts (CJK included) and scale cleanly. Each chart is sized in millimetres to the slot it
fills in the page grid, so 7 pt in the chart is 7 pt on paper. Charts never compute figures:
they draw numbers (and labels already formatted by `reports.formats`) handed to them.
Greyscale: series differ by lightness, hatching and marker shape, and carry direct labels.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Sequence
from typing import Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LinearSegmentedColormap, to_hex
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from reports import theme
from reports.chart_sizes import BY_ROWS_MM, FIXED_MM, rows_height_mm
from reports.formats import Formatter
from reports.theme import Fonts

matplotlib.use("svg")

SVG_NS = "http://www.w3.org/2000/svg"


def _register_namespaces() -> None:
    """SVG as the default namespace of the SVG written. Done before each chart is written:
    importing WeasyPrint registers the empty prefix for its PDF metadata, after which a chart
    drawn in the report process (when the worker fails) came out as `<ns0:svg>`."""
    ElementTree.register_namespace("", SVG_NS)
    ElementTree.register_namespace("xlink", "http://www.w3.org/1999/xlink")


_register_namespaces()

Number = float | int | None
HATCH = "////"   # the light series also differs by hatching, for greyscale print
BACK_HATCH = "\\\\\\\\"  # hatching the other way, for values below zero


def _rc(fonts: Fonts, chart_id: str) -> dict[str, Any]:
    return {
        "svg.fonttype": "none",
        "svg.hashsalt": chart_id,     # ids of clip paths differ between charts of one page
        "svg.id": chart_id,
        "text.parse_math": False,     # a '$' in a campaign name is text, not maths
        "font.family": list(fonts.families),
        "font.size": theme.CHART_SIZE_PT,
        "text.color": theme.INK,
        "axes.labelcolor": theme.MUTED,
        "axes.edgecolor": theme.RULE,
        "axes.linewidth": 0.6,
        "axes.titlesize": theme.CHART_TITLE_PT,
        "axes.labelsize": theme.CHART_SIZE_PT,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "xtick.color": theme.MUTED,
        "ytick.color": theme.MUTED,
        "xtick.labelsize": theme.CHART_SIZE_PT,
        "ytick.labelsize": theme.CHART_SIZE_PT,
        "xtick.major.size": 2,
        "ytick.major.size": 0,
        "xtick.major.width": 0.6,
        "grid.color": theme.GRID,
        "grid.linewidth": 0.6,
        "legend.fontsize": theme.CHART_SIZE_PT,
        "legend.frameon": False,
        "hatch.linewidth": 0.6,
        "hatch.color": theme.HATCH,
        "figure.dpi": 72,
    }


def _figure(width_mm: float, height_mm: float) -> Figure:
    return Figure(figsize=(width_mm / theme.MM_PER_INCH, height_mm / theme.MM_PER_INCH))


def _to_svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg",
                   metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    text = buffer.getvalue()
    return lean_svg(text[text.index("<svg"):])


def lean_svg(svg: str) -> str:
    """The same drawing in fewer and simpler nodes, which WeasyPrint paints faster.

    matplotlib styles every node with a universal rule (`*{stroke-linejoin: round; ...}`),
    which WeasyPrint matches against each node; on the root the same properties are
    inherited instead. Each node's `style="fill: ...; stroke: ..."` becomes presentation
    attributes (`fill="..." stroke="..."`), which mean the same and which WeasyPrint reads
    without running a CSS parser over every node. matplotlib wraps every artist in a group
    that carries only an id: such groups are dropped (their children kept in place) unless
    something refers to the id. Also dropped: the identity rotation on every label
    (`rotate(-0 x y)`), paths that only move the pen (a one-point line under a marker), and
    the clip of a path that lies wholly inside its clip rectangle, stroke included.
    Rendered pages are pixel-identical (checked with pdftoppm).
    """
    root = ElementTree.fromstring(svg)
    referenced = set(re.findall(r'(?:href="#|url\(#)([^")]+)', svg))
    for defs in root.findall(f"{{{SVG_NS}}}defs"):
        style = defs.find(f"{{{SVG_NS}}}style")
        rule = (style.text or "").strip() if style is not None else ""
        if style is not None and rule.startswith("*{") and rule.endswith("}"):
            defs.remove(style)
            root.set("style", rule[2:-1].strip())
            if len(defs) == 0:
                root.remove(defs)
    _unwrap_id_groups(root, referenced)
    _simplify(root, _clip_rectangles(root), {})
    _drop_pen_moves(root, referenced)
    _register_namespaces()
    return ElementTree.tostring(root, encoding="unicode")


IDENTITY_ROTATION = re.compile(r"rotate\(-?0(?:\.0*)? [-+.0-9e]+ [-+.0-9e]+\)")
PEN_MOVE = re.compile(r"\s*M\s*[-+.0-9e]+[\s,]+[-+.0-9e]+\s*")
ABSOLUTE_PATH = re.compile(r"[MLCQZz0-9eE.+\-\s,]*")  # no relative or other commands
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?")
CLIP_URL = re.compile(r"url\(#([^)]+)\)")


def _simplify(element: ElementTree.Element,
              clips: dict[str, tuple[float, float, float, float]],
              inherited: dict[str, str]) -> None:
    """Styles to attributes, identity rotations and needless clips away, in `element` and
    below; `inherited` holds the stroke properties the element inherits."""
    style = element.attrib.pop("style", None)
    for declaration in (style or "").split(";"):
        name, colon, value = declaration.partition(":")
        if colon and name.strip():
            element.set(name.strip(), value.strip())
    if IDENTITY_ROTATION.fullmatch(element.get("transform", "")):
        del element.attrib["transform"]
    stroke = {name: element.get(name, inherited.get(name, default))
              for name, default in (("stroke", "none"), ("stroke-width", "1"))}
    if element.tag == f"{{{SVG_NS}}}path" and _inside_its_clip(element, clips, stroke):
        del element.attrib["clip-path"]
    for child in element:
        _simplify(child, clips, stroke)


def _clip_rectangles(root: ElementTree.Element) -> dict[str, tuple[float, float, float, float]]:
    """Clip paths that are one untransformed rectangle: id -> (x0, y0, x1, y1)."""
    rectangles = {}
    for clip in root.iter(f"{{{SVG_NS}}}clipPath"):
        shapes = list(clip)
        if (len(shapes) == 1 and shapes[0].tag == f"{{{SVG_NS}}}rect"
                and "transform" not in clip.attrib and "transform" not in shapes[0].attrib
                and clip.get("clipPathUnits", "userSpaceOnUse") == "userSpaceOnUse"):
            try:
                x, y, width, height = (float(shapes[0].get(name, "")) for name in
                                       ("x", "y", "width", "height"))
            except ValueError:
                continue
            rectangles[clip.get("id", "")] = (x, y, x + width, y + height)
    return rectangles


def _inside_its_clip(path: ElementTree.Element,
                     clips: dict[str, tuple[float, float, float, float]],
                     stroke: dict[str, str]) -> bool:
    """True when clipping `path` cannot change a pixel: it has no transform, its data uses
    absolute commands only, and every point (control points bound the curves), widened by
    twice the stroke width (more than a square cap or a miter within the default limit
    reaches), lies inside the clip rectangle. An unknown stroke width keeps the clip."""
    found = CLIP_URL.fullmatch(path.get("clip-path", ""))
    data = path.get("d", "")
    if found is None or found.group(1) not in clips or "transform" in path.attrib:
        return False
    if not ABSOLUTE_PATH.fullmatch(data):
        return False
    numbers = [float(number) for number in NUMBER.findall(data)]
    if not numbers or len(numbers) % 2:
        return False
    if stroke["stroke"] == "none":
        reach = 0.0
    else:
        try:
            reach = 2 * float(stroke["stroke-width"])
        except ValueError:
            return False
    xs, ys = numbers[0::2], numbers[1::2]
    x0, y0, x1, y1 = clips[found.group(1)]
    return (min(xs) - reach >= x0 and max(xs) + reach <= x1
            and min(ys) - reach >= y0 and max(ys) + reach <= y1)


def _drop_pen_moves(element: ElementTree.Element, referenced: set[str]) -> None:
    """Remove paths whose data only moves the pen (nothing is painted)."""
    for child in list(element):
        _drop_pen_moves(child, referenced)
        if (child.tag == f"{{{SVG_NS}}}path" and PEN_MOVE.fullmatch(child.get("d", ""))
                and child.get("id") not in referenced and len(child) == 0):
            element.remove(child)


def _unwrap_id_groups(element: ElementTree.Element, referenced: set[str]) -> None:
    children: list[ElementTree.Element] = []
    for child in element:
        _unwrap_id_groups(child, referenced)
        if (child.tag == f"{{{SVG_NS}}}g" and set(child.attrib) <= {"id"}
                and child.get("id") not in referenced):
            children.extend(child)
        else:
            children.append(child)
    element[:] = children


def _fit_axes(figure: Figure, axes: Axes, pad_mm: float = 0.6) -> None:
    """Place `axes` so that its tick labels stay inside the figure, with `pad_mm` to spare.

    Margins as fractions of the figure fit one size only: a small chart with wide labels
    (¥40,000 on a 42 mm chart, a month over its year) was clipped at the left and bottom."""
    renderer = FigureCanvasAgg(figure).get_renderer()
    pad = pad_mm / theme.MM_PER_INCH * figure.dpi
    tight = axes.get_tightbbox(renderer)
    inner = axes.get_window_extent(renderer)
    width, height = figure.bbox.width, figure.bbox.height
    left = (inner.x0 - tight.x0 + pad) / width
    bottom = (inner.y0 - tight.y0 + pad) / height
    right = 1 - (max(tight.x1 - inner.x1, 0) + pad) / width
    top = 1 - (max(tight.y1 - inner.y1, 0) + pad) / height
    axes.set_position((left, bottom, right - left, top - bottom))


def _render(fonts: Fonts, chart_id: str, draw: Callable[[], Figure]) -> str:
    with matplotlib.rc_context(_rc(fonts, chart_id)):
        return _to_svg(draw())


def heat_colormap() -> LinearSegmentedColormap:
    low, high = theme.HEATMAP_RANGE
    base = matplotlib.colormaps[theme.HEATMAP_CMAP]
    return LinearSegmentedColormap.from_list(
        "report_heat", [base(low + (high - low) * step / 10) for step in range(11)])


def _is_number(value: Number) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


# ---- trend small multiple -----------------------------------------------------------------
def value_formatter(kind: str, fmt: Formatter) -> Callable[[float], str]:
    """Tick / label text for a value of a KPI kind: money, count, rate or days."""
    if kind == "money":
        return fmt.axis_money
    if kind == "rate":
        return lambda value: fmt.percent(value, 0 if abs(value) >= 0.1 else 1)
    if kind == "days":
        return lambda value: fmt.number(value, 0)
    if kind == "nps":
        return fmt.nps
    if kind == "score":
        return lambda value: fmt.score(value, 1)
    return fmt.axis_count


def trend_chart(months: Sequence[dt.date], values: Sequence[Number], kind: str,
                fmt: Formatter, fonts: Fonts, chart_id: str,
                width_mm: float = FIXED_MM["trend_chart"][0],
                height_mm: float = FIXED_MM["trend_chart"][1],
                weak: Sequence[bool] | None = None, tick_every: int = 3) -> str:
    """One KPI over the months: a line with markers, the last month marked and labelled.
    Months flagged `weak` (e.g. too few survey responses) get a hollow marker."""
    tick_text = value_formatter(kind, fmt)

    def draw() -> Figure:
        figure = _figure(width_mm, height_mm)
        axes = figure.add_axes((0.16, 0.2, 0.8, 0.72))
        positions = list(range(len(months)))
        points = [(x, float(v)) for x, v in zip(positions, values, strict=True) if _is_number(v)]
        if points:
            xs, ys = zip(*points, strict=True)
            axes.plot(xs, ys, color=theme.PRIMARY, linewidth=1.3)
            hollow = [(x, y) for x, y in points if weak and weak[x]]
            if hollow:
                axes.plot(*zip(*hollow, strict=True), linestyle="none", marker="o",
                          markersize=3.2, color=theme.PRIMARY, markerfacecolor="white",
                          markeredgewidth=0.9, zorder=4)
            last_x, last_y = points[-1]
            axes.plot([last_x], [last_y], marker="o", markersize=4.5, color=theme.ACCENT,
                      markeredgecolor="white", markeredgewidth=0.8, zorder=5)
            low, high = min(ys), max(ys)
            pad = (high - low) * 0.18 or abs(high) * 0.1 or 1.0
            bottom = 0.0 if low >= 0 and (low - pad) < 0 else low - pad
            axes.set_ylim(bottom, high + pad * 1.6)
        axes.set_xlim(-0.5, len(months) - 0.5)
        axes.yaxis.set_major_locator(MaxNLocator(nbins=3, min_n_ticks=2))
        if kind == "money":  # one unit per axis: the one of its largest value
            reference = max(abs(limit) for limit in axes.get_ylim())
            axes.yaxis.set_major_formatter(FuncFormatter(
                lambda value, _pos: fmt.axis_money(value, reference)))
        else:
            axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: tick_text(value)))
        axes.grid(axis="y")
        axes.set_axisbelow(True)
        ticks = [i for i in positions if (len(months) - 1 - i) % tick_every == 0]
        axes.set_xticks(ticks)
        axes.set_xticklabels([fmt.month_tick(months[i], i == ticks[0] or months[i].month == 1)
                              for i in ticks])
        axes.tick_params(axis="x", pad=1.5)
        axes.tick_params(axis="y", pad=1)
        _fit_axes(figure, axes)
        return figure

    return _render(fonts, chart_id, draw)


# ---- segment bars -------------------------------------------------------------------------
def share_bars(labels: Sequence[str], first: Sequence[float], second: Sequence[float],
               legend: tuple[str, str], fmt: Formatter, fonts: Fonts, chart_id: str,
               width_mm: float = BY_ROWS_MM["share_bars"][0], height_mm: float | None = None,
               label_mm: float = 30) -> str:
    """Two shares per row as paired horizontal bars (light hatched vs solid), labelled."""
    rows = len(labels)
    height = height_mm or rows_height_mm("share_bars", rows)

    def draw() -> Figure:
        figure = _figure(width_mm, height)
        left = label_mm / width_mm
        axes = figure.add_axes((left, 0.02, 0.97 - left, 1 - 9 / height))
        bar = 0.38
        ys = list(range(rows))
        first_bars = axes.barh([y - bar / 2 for y in ys], first, height=bar,
                               color=theme.PRIMARY_LIGHT, hatch=HATCH, edgecolor=theme.HATCH,
                               linewidth=0, label=legend[0])
        second_bars = axes.barh([y + bar / 2 for y in ys], second, height=bar,
                                color=theme.PRIMARY, linewidth=0, label=legend[1])
        top = max([*first, *second, 0.01])
        for bars, values in ((first_bars, first), (second_bars, second)):
            for rect, value in zip(bars, values, strict=True):
                axes.text(rect.get_width() + top * 0.015, rect.get_y() + rect.get_height() / 2,
                          fmt.percent(value, 1), va="center",
                          ha="left", fontsize=theme.CHART_SIZE_PT - 0.5, color=theme.INK)
        axes.set_yticks(ys)
        axes.set_yticklabels(labels)
        axes.invert_yaxis()
        axes.set_xlim(0, top * 1.22)
        axes.xaxis.set_visible(False)
        axes.spines["bottom"].set_visible(False)
        axes.tick_params(axis="y", length=0, pad=3)
        axes.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncols=2,
                    handlelength=1.4, handleheight=0.9, columnspacing=1.2, borderaxespad=0.2)
        return figure

    return _render(fonts, chart_id, draw)


# ---- heatmap colours -------------------------------------------------------------------
HEAT_STEPS = 8


def heat_palette() -> list[tuple[str, str]]:
    """The heatmap tables' colour steps, light to dark: (background, text colour) each, worked
    out from the colour map (theme.HEAT_PALETTE holds the result; a test keeps them equal)."""
    colormap = heat_colormap()
    steps = []
    for step in range(HEAT_STEPS):
        share = step / (HEAT_STEPS - 1)
        steps.append((to_hex(colormap(share)), "#ffffff" if share > 0.55 else theme.INK))
    return steps


# ---- distribution -------------------------------------------------------------------------
def histogram(edge_labels: Sequence[str], counts: Sequence[float], highlight: Sequence[bool],
              legend: tuple[str, str], x_title: str, y_title: str, fmt: Formatter,
              fonts: Fonts, chart_id: str, width_mm: float = FIXED_MM["histogram"][0],
              height_mm: float = FIXED_MM["histogram"][1]) -> str:
    """Customers per value band, bars side by side with the band edges as ticks between
    them (edge_labels has one label more than counts: the last is the open end, e.g. '200+').
    Highlighted bands (e.g. those reaching the top decile) are solid, others light."""

    def draw() -> Figure:
        figure = _figure(width_mm, height_mm)
        axes = figure.add_axes((0.13, 0.2, 0.85, 0.7))
        xs = [i + 0.5 for i in range(len(counts))]
        bars = axes.bar(xs, counts, width=0.9, color=[
            theme.PRIMARY if flag else theme.PRIMARY_LIGHT for flag in highlight], linewidth=0.4)
        for rect, flag in zip(bars, highlight, strict=True):
            rect.set_hatch("" if flag else HATCH)
            rect.set_edgecolor(theme.PRIMARY if flag else theme.HATCH)
        top = max([*counts, 1])
        for x, count in zip(xs, counts, strict=True):
            axes.text(x, count + top * 0.02, fmt.integer(count), ha="center", va="bottom",
                      fontsize=theme.CHART_SIZE_PT - 1, color=theme.MUTED)
        axes.set_ylim(0, top * 1.15)
        axes.set_xlim(0, len(counts))
        axes.set_xticks(list(range(len(edge_labels))))
        axes.set_xticklabels(edge_labels)
        axes.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
        axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: fmt.axis_count(value)))
        axes.grid(axis="y")
        axes.set_axisbelow(True)
        axes.set_xlabel(x_title)
        axes.set_ylabel(y_title)
        handles = [matplotlib.patches.Patch(facecolor=theme.PRIMARY_LIGHT, hatch=HATCH,
                                            edgecolor=theme.HATCH, linewidth=0.4,
                                            label=legend[0]),
                   matplotlib.patches.Patch(facecolor=theme.PRIMARY, label=legend[1])]
        axes.legend(handles=handles, loc="upper right", handlelength=1.4, handleheight=0.9)
        _fit_axes(figure, axes)
        return figure

    return _render(fonts, chart_id, draw)


def column_shares(labels: Sequence[str], shares: Sequence[float], highlight: Sequence[bool],
                  x_title: str, y_title: str, fmt: Formatter, fonts: Fonts, chart_id: str,
                  width_mm: float = FIXED_MM["column_shares"][0],
                  height_mm: float = FIXED_MM["column_shares"][1]) -> str:
    """Shares as labelled columns (e.g. the share of predicted value held by each decile)."""

    def draw() -> Figure:
        figure = _figure(width_mm, height_mm)
        axes = figure.add_axes((0.17, 0.2, 0.81, 0.7))
        xs = list(range(len(shares)))
        colours = [theme.PRIMARY if flag else theme.PRIMARY_LIGHT for flag in highlight]
        bars = axes.bar(xs, shares, width=0.78, color=colours, linewidth=0)
        for rect, flag in zip(bars, highlight, strict=True):
            if not flag:
                rect.set_hatch(HATCH)
                rect.set_edgecolor(theme.HATCH)
        top = max([*shares, 0.01])
        for x, share in zip(xs, shares, strict=True):
            axes.text(x, share + top * 0.02, fmt.percent(share, 0), ha="center", va="bottom",
                      fontsize=theme.CHART_SIZE_PT - 1, color=theme.INK)
        axes.set_ylim(0, top * 1.25)
        axes.set_xticks(xs)
        axes.set_xticklabels(labels)
        axes.set_xlabel(x_title)
        axes.yaxis.set_major_locator(MaxNLocator(nbins=4))
        axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: fmt.percent(value, 0)))
        axes.grid(axis="y")
        axes.set_axisbelow(True)
        axes.set_ylabel(y_title)
        _fit_axes(figure, axes)
        return figure

    return _render(fonts, chart_id, draw)


# ---- campaign uplift ----------------------------------------------------------------------
def uplift_chart(labels: Sequence[str], uplift: Sequence[Number], low: Sequence[Number],
                 high: Sequence[Number], significant: Sequence[bool], x_title: str,
                 fmt: Formatter, fonts: Fonts, chart_id: str,
                 width_mm: float = BY_ROWS_MM["uplift_chart"][0],
                 height_mm: float | None = None) -> str:
    """Uplift per campaign with its confidence interval; a filled dot = interval excludes 0."""
    rows = len(labels)
    height = height_mm or rows_height_mm("uplift_chart", rows)

    def draw() -> Figure:
        figure = _figure(width_mm, height)
        axes = figure.add_axes((0.3, 10 / height, 0.62, 1 - 12 / height))
        finite = [float(v) for v in (*uplift, *low, *high) if _is_number(v)]
        span = max([abs(v) for v in finite] + [0.01])
        for y, (value, lo, hi, flag) in enumerate(zip(uplift, low, high, significant,
                                                      strict=True)):
            if _is_number(lo) and _is_number(hi):
                axes.plot([lo, hi], [y, y], color=theme.SECONDARY, linewidth=1.2,
                          solid_capstyle="butt")
                axes.plot([lo, hi], [y, y], linestyle="none", marker="|", markersize=5,
                          color=theme.SECONDARY)
            if _is_number(value):
                axes.plot([value], [y], marker="o", markersize=4.5, linestyle="none",
                          color=theme.PRIMARY, markerfacecolor=theme.PRIMARY if flag else "white",
                          markeredgewidth=1.1)
                # right of the interval, clear of the zero line and the other rows
                label_x = max(value, float(hi) if _is_number(hi) else value) + span * 0.04
                axes.text(label_x, y, fmt.change_points(value), ha="left", va="center",
                          fontsize=theme.CHART_SIZE_PT - 0.5, color=theme.INK)
        axes.axvline(0, color=theme.MUTED, linewidth=0.7, linestyle=(0, (3, 2)))
        axes.set_xlim(-span * 1.15, span * 1.3)
        axes.set_ylim(rows - 0.5, -0.5)
        axes.set_yticks(list(range(rows)))
        axes.set_yticklabels(labels)
        axes.tick_params(axis="y", length=0, pad=4)
        axes.xaxis.set_major_formatter(FuncFormatter(
            lambda value, _pos: fmt.change_points(value, 0)))
        axes.xaxis.set_major_locator(MaxNLocator(nbins=6, symmetric=True))
        axes.grid(axis="x")
        axes.set_axisbelow(True)
        axes.set_xlabel(x_title)
        return figure

    return _render(fonts, chart_id, draw)


# ---- NPS by segment --------------------------------------------------------------------
def nps_bars(labels: Sequence[str], values: Sequence[Number], notes: Sequence[str],
             weak: Sequence[bool], x_title: str, empty_text: str, fmt: Formatter,
             fonts: Fonts, chart_id: str, width_mm: float = BY_ROWS_MM["nps_bars"][0],
             label_mm: float = 36, note_mm: float = 16,
             height_mm: float | None = None) -> str:
    """Net Promoter Score per row as horizontal bars diverging from zero: solid navy above
    zero, light red and hatched below (apart in greyscale too), each labelled with its signed
    value. `weak` rows (too few responses) are drawn as a dashed outline only; `notes` (e.g.
    'n = 12') are printed in a column right of the plot; rows without a value say
    `empty_text`."""
    rows = len(labels)
    height = height_mm or rows_height_mm("nps_bars", rows)

    def draw() -> Figure:
        figure = _figure(width_mm, height)
        left = label_mm / width_mm
        right = 1 - note_mm / width_mm
        axes = figure.add_axes((left, 10 / height, right - left, 1 - 12 / height))
        finite = [abs(float(v)) for v in values if _is_number(v)]
        limit = min(100.0, max(20.0, math.ceil(max(finite, default=0.0) / 10) * 10))
        row_axis = axes.get_yaxis_transform()  # x in axes fraction, y in data
        for y, (value, note, flag) in enumerate(zip(values, notes, weak, strict=True)):
            if note:
                axes.text(1.02, y, note, transform=row_axis, va="center", ha="left",
                          fontsize=theme.CHART_SIZE_PT - 0.5, color=theme.MUTED, clip_on=False)
            if not _is_number(value):
                axes.text(limit * 0.03, y, empty_text, va="center", ha="left",
                          color=theme.MUTED, fontsize=theme.CHART_SIZE_PT - 0.5)
                continue
            number = float(value)
            positive = number >= 0
            fill = theme.PRIMARY if positive else theme.NEGATIVE
            edge = theme.PRIMARY if positive else theme.NEGATIVE_EDGE
            axes.barh([y], [number], height=0.62, color="white" if flag else fill,
                      edgecolor=edge, linewidth=0.9 if flag else 0,
                      hatch="" if positive or flag else BACK_HATCH,
                      linestyle=(0, (2.5, 1.5)) if flag else "solid")
            offset = limit * 0.025
            axes.text(number + offset if positive else number - offset, y, fmt.nps(number),
                      va="center", ha="left" if positive else "right",
                      fontsize=theme.CHART_SIZE_PT - 0.5,
                      color=theme.MUTED if flag else theme.INK)
        axes.axvline(0, color=theme.INK, linewidth=0.8)
        axes.set_xlim(-limit * 1.22, limit * 1.22)
        axes.set_ylim(rows - 0.5, -0.6)
        axes.set_yticks(list(range(rows)))
        axes.set_yticklabels(labels)
        axes.tick_params(axis="y", length=0, pad=4)
        axes.set_xticks([step * limit / 2 for step in (-2, -1, 0, 1, 2)])
        axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _pos: fmt.nps(value)))
        axes.grid(axis="x")
        axes.set_axisbelow(True)
        axes.spines["left"].set_visible(False)
        axes.set_xlabel(x_title)
        return figure

    return _render(fonts, chart_id, draw)


# ---- category mix -------------------------------------------------------------------------
def stacked_shares(labels: Sequence[str], shares: Sequence[Sequence[float]],
                   colours: Sequence[tuple[str, str]], hatched: Sequence[bool],
                   totals: Sequence[str], fmt: Formatter, fonts: Fonts, chart_id: str,
                   width_mm: float = BY_ROWS_MM["stacked_shares"][0], label_mm: float = 36,
                   total_mm: float = 18, height_mm: float | None = None) -> str:
    """One 100% bar per row, split into series (shares[row][series], fractions summing to
    about 1); a piece of 7% or more is labelled inside. Each series has one colour (fill,
    label colour) in every row; `hatched` series (e.g. 'Other') are white with grey hatching.
    `totals` are printed right of each bar (e.g. the row's revenue)."""
    rows = len(labels)
    height = height_mm or rows_height_mm("stacked_shares", rows)

    def draw() -> Figure:
        figure = _figure(width_mm, height)
        left = label_mm / width_mm
        right = 1 - total_mm / width_mm
        axes = figure.add_axes((left, 8 / height, right - left, 1 - 10 / height))
        for y, row in enumerate(shares):
            start = 0.0
            for series, share in enumerate(row):
                width = max(float(share), 0.0)
                if width <= 0:
                    continue
                fill, ink = colours[series]
                axes.barh([y], [width], left=start, height=0.66, color=fill,
                          edgecolor="white", linewidth=0.7)
                if hatched[series]:
                    axes.barh([y], [width], left=start, height=0.66, color="none",
                              edgecolor=theme.HATCH, hatch=HATCH, linewidth=0)
                    axes.barh([y], [width], left=start, height=0.66, color="none",
                              edgecolor="white", linewidth=0.7)
                if width >= 0.07:
                    axes.text(start + width / 2, y, fmt.percent(width, 0), ha="center",
                              va="center", fontsize=theme.CHART_SIZE_PT - 0.5, color=ink)
                start += width
            axes.text(max(start, 1.0) + 0.012, y, totals[y], ha="left", va="center",
                      fontsize=theme.CHART_SIZE_PT - 0.5, color=theme.MUTED)
        axes.set_xlim(0, 1)
        axes.set_ylim(rows - 0.5, -0.5)
        axes.set_yticks(list(range(rows)))
        axes.set_yticklabels(labels)
        axes.tick_params(axis="y", length=0, pad=4)
        axes.set_xticks([0, 0.25, 0.5, 0.75, 1])
        axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _pos: fmt.percent(value, 0)))
        axes.spines["left"].set_visible(False)
        axes.spines["bottom"].set_visible(False)
        axes.tick_params(axis="x", length=0, pad=2)
        return figure

    return _render(fonts, chart_id, draw)


# ---- the holdout report card ------------------------------------------------------------
def tracking_chart(weeks: Sequence[int], actual: Sequence[float], expected: Sequence[float],
                   holdout_from: int, legend: tuple[str, str, str], x_title: str, y_title: str,
                   fmt: Formatter, fonts: Fonts, chart_id: str,
                   width_mm: float = FIXED_MM["tracking_chart"][0],
                   height_mm: float = FIXED_MM["tracking_chart"][1]) -> str:
    """Cumulative actual (solid) vs expected (dashed) purchases by week; the holdout weeks
    (from week `holdout_from`) shaded and named."""

    def draw() -> Figure:
        figure = _figure(width_mm, height_mm)
        axes = figure.add_axes((0.13, 0.17, 0.84, 0.7))
        axes.axvspan(holdout_from - 0.5, weeks[-1] + 0.5, color=theme.PANEL, zorder=0,
                     label=legend[2])
        axes.plot(weeks, actual, color=theme.PRIMARY, linewidth=1.4, label=legend[0])
        axes.plot(weeks, expected, color=theme.ACCENT, linewidth=1.3, linestyle=(0, (4, 2)),
                  label=legend[1])
        axes.set_xlim(weeks[0] - 0.5, weeks[-1] + 0.5)
        axes.set_ylim(0, max([*actual, *expected, 1.0]) * 1.08)
        axes.yaxis.set_major_locator(MaxNLocator(nbins=4, min_n_ticks=2))
        axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: fmt.axis_count(value)))
        axes.xaxis.set_major_locator(MaxNLocator(nbins=8, integer=True))
        axes.grid(axis="y")
        axes.set_axisbelow(True)
        axes.set_xlabel(x_title)
        axes.set_ylabel(y_title)
        axes.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncols=3, handlelength=1.8,
                    columnspacing=1.2, borderaxespad=0.2)
        _fit_axes(figure, axes)
        return figure

    return _render(fonts, chart_id, draw)


def paired_columns(labels: Sequence[str], actual: Sequence[float], expected: Sequence[float],
                   legend: tuple[str, str], x_title: str, y_title: str, fmt: Formatter,
                   fonts: Fonts, chart_id: str,
                   width_mm: float = FIXED_MM["paired_columns"][0],
                   height_mm: float = FIXED_MM["paired_columns"][1]) -> str:
    """Actual (solid) and expected (light, hatched) values side by side per label."""

    def draw() -> Figure:
        figure = _figure(width_mm, height_mm)
        axes = figure.add_axes((0.16, 0.17, 0.8, 0.7))
        positions = list(range(len(labels)))
        width = 0.38
        axes.bar([x - width / 2 for x in positions], actual, width=width, color=theme.PRIMARY,
                 linewidth=0, label=legend[0])
        axes.bar([x + width / 2 for x in positions], expected, width=width,
                 color=theme.PRIMARY_LIGHT, hatch=HATCH, edgecolor=theme.HATCH, linewidth=0,
                 label=legend[1])
        axes.set_xticks(positions)
        axes.set_xticklabels(labels)
        axes.set_ylim(0, max([*actual, *expected, 0.1]) * 1.1)
        axes.yaxis.set_major_locator(MaxNLocator(nbins=4, min_n_ticks=2))
        axes.yaxis.set_major_formatter(
            FuncFormatter(lambda value, _pos: fmt.number(value, 0 if value >= 10 else 1)))
        axes.grid(axis="y")
        axes.set_axisbelow(True)
        axes.set_xlabel(x_title)
        axes.set_ylabel(y_title)
        axes.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncols=2, handlelength=1.4,
                    handleheight=0.9, columnspacing=1.2, borderaxespad=0.2)
        _fit_axes(figure, axes)
        return figure

    return _render(fonts, chart_id, draw)


JOBS: dict[str, Callable[..., Any]] = {
    "trend_chart": trend_chart,
    "share_bars": share_bars,
    "histogram": histogram,
    "column_shares": column_shares,
    "uplift_chart": uplift_chart,
    "nps_bars": nps_bars,
    "stacked_shares": stacked_shares,
    "heat_palette": heat_palette,
    "tracking_chart": tracking_chart,
    "paired_columns": paired_columns,
}


def run_job(function: str, arguments: dict[str, Any]) -> Any:
    """Run one chart job (reports.chartjobs.ChartJob) by name."""
    return JOBS[function](**arguments)
