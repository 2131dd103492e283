"""The report's one palette and typography, shared by the CSS (templates/report.css.j2) and the
matplotlib charts, so tables, tiles and charts use the same colours, fonts and sizes.

Colour is restrained: a navy primary, greys for structure and context series, one accent for
the report month, and green / red only for "good" / "bad" changes (always together with an
arrow and a sign, so the meaning survives greyscale printing and colour blindness). Sequential
heatmaps use one hue whose lightness changes monotonically, so they read in greyscale too.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

# ---- palette ---------------------------------------------------------------------------
INK = "#1d2733"          # body text
MUTED = "#5f6b7a"        # secondary text, axis labels
RULE = "#c9d1db"         # table rules, axis lines
GRID = "#e6eaf0"         # chart grid lines, zebra rows
PANEL = "#f4f6f9"        # tile and note backgrounds
PRIMARY = "#1f4e79"      # the series that matters
PRIMARY_LIGHT = "#c4d5e8"
HATCH = "#6f93bb"        # hatching on light bars (greyscale distinction)
SECONDARY = "#8a96a6"    # comparison series
ACCENT = "#c8811a"       # highlight of the report month
GOOD = "#1e7b4a"
BAD = "#b3261e"
NEUTRAL = MUTED
NEGATIVE = "#e2a49d"      # bars below zero (e.g. a negative NPS): light red, hatched
NEGATIVE_EDGE = BAD
# Categories in 100% stacked bars: one colour per category rank, lightness alternating dark /
# light so neighbouring pieces stay apart in greyscale; (fill, label colour) each. "Other" is
# white with grey hatching.
CATEGORY_COLOURS = (
    ("#1f4e79", "#ffffff"), ("#9cc0e4", INK), ("#c8811a", INK), ("#dfe5ec", INK),
    ("#2f7f86", "#ffffff"), ("#f2cf94", INK), ("#5f6b7a", "#ffffff"), ("#c7b8dc", INK),
)
OTHER_COLOUR = ("#ffffff", INK)
HEATMAP_CMAP = "Blues"   # sequential, monotonic lightness
HEATMAP_RANGE = (0.04, 0.88)  # part of the colour map used (avoid white and near-black)
# The heatmap tables' colour steps, light to dark: (background, text colour) each. Binned, not
# continuous: eight steps of one hue stay distinguishable in greyscale print. They are
# HEATMAP_CMAP over HEATMAP_RANGE (reports.charts.heat_palette works them out with matplotlib;
# a test keeps the two equal), written out so the stylesheet never waits for matplotlib.
HEAT_PALETTE = (
    ("#eff6fc", INK), ("#d8e7f5", INK), ("#bcd7eb", INK), ("#94c5df", INK),
    ("#65a9d3", "#ffffff"), ("#3e8ec4", "#ffffff"), ("#206eb2", "#ffffff"),
    ("#084f99", "#ffffff"),
)

# ---- typography ------------------------------------------------------------------------
BASE_SIZE_PT = 8.5        # body text
SMALL_SIZE_PT = 7         # footnotes, table notes
CHART_SIZE_PT = 7         # chart ticks and labels
CHART_TITLE_PT = 7.5
# Latin text uses the CJK font's Latin glyphs when it is installed (one consistent look in both
# languages, and Chinese names in English reports still render); DejaVu Sans is the fallback.
CJK_FAMILIES = ("Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", "WenQuanYi Zen Hei",
                "Microsoft YaHei", "PingFang SC")
LATIN_FAMILIES = ("DejaVu Sans",)

# ---- page geometry (mm) ----------------------------------------------------------------
PAGE_WIDTH_MM = 210
MARGIN_SIDE_MM = 16
CONTENT_WIDTH_MM = PAGE_WIDTH_MM - 2 * MARGIN_SIDE_MM
MM_PER_INCH = 25.4


@dataclass(frozen=True)
class Fonts:
    """Font families available for a report (first = preferred)."""

    families: tuple[str, ...]
    has_cjk: bool

    @property
    def css_stack(self) -> str:
        return ", ".join(f'"{family}"' for family in self.families) + ", sans-serif"


def installed_cjk_families() -> list[str]:
    """Family names of installed fonts covering Chinese (`fc-list :lang=zh family`)."""
    if shutil.which("fc-list") is None:
        return []
    result = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True,
                            check=False)
    families: list[str] = []
    for line in result.stdout.splitlines():
        families.extend(name.strip() for name in line.split(",") if name.strip())
    return families


def pick_fonts() -> Fonts:
    """The preferred CJK family that is installed (if any) followed by the Latin fallback."""
    installed = installed_cjk_families()
    preferred = [family for family in CJK_FAMILIES if family in installed]
    if not preferred and installed:
        sans = [family for family in installed if "sans" in family.lower()]
        preferred = [(sans or installed)[0]]
    return Fonts(families=(*preferred[:1], *LATIN_FAMILIES), has_cjk=bool(preferred))
