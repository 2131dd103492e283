"""Chart labels drawn as one run (reports.svg_text): the same glyphs at the same places as
WeasyPrint's letter-by-letter drawing, in fewer PDF objects; anything else left to WeasyPrint."""

from __future__ import annotations

import base64
import ctypes
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from reports.svg_text import install, is_single_run

# Labels as matplotlib writes them (x/y or a transform, anchors start, middle and end, a
# rotated axis title), kerning pairs (AV, To, Wa) and ligature pairs (fi, fl) that shaping
# the whole string would move, Chinese, and nodes the fast path must leave to WeasyPrint: a
# tspan, per-letter x and dx lists, letter spacing and a right-to-left label.
SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="300pt" height="220pt"
 viewBox="0 0 300 220" stroke-linejoin="round">
 <text x="10" y="20" font-size="9px" {latin} fill="#333">AVAV To Wa fi fl</text>
 <text x="150" y="40" font-size="9px" {latin} text-anchor="middle">Jan 2026 ¥1.2M</text>
 <text x="290" y="60" font-size="9px" {latin} text-anchor="end">−15%</text>
 <text transform="translate(40 80)" font-size="7px" {cjk}>10月</text>
 <text x="150" y="100" font-size="8px" {cjk} text-anchor="middle">核心价值客户 ¥297.62万</text>
 <text transform="translate(20 200) rotate(-90)" font-size="8px" {latin}
 text-anchor="middle">Share of revenue</text>
 <text x="10" y="130" font-size="9px" {latin}>A<tspan fill="red">Vx</tspan>Wy</text>
 <text x="10 20 30" y="150" font-size="9px" {latin}>abc</text>
 <text x="60" y="150" dx="0 3 3" font-size="9px" {latin}>def</text>
 <text x="120" y="150" letter-spacing="2" font-size="9px" {latin}>ghi</text>
 <text x="290" y="170" direction="rtl" text-anchor="middle" font-size="9px" {latin}>rtl</text>
</svg>""".format(latin="font-family=\"'DejaVu Sans'\"",
                 cjk="font-family=\"'Noto Sans CJK SC', 'DejaVu Sans'\"")

RENDER = """
import sys
from reports.weasyprint_import import import_weasyprint
weasyprint = import_weasyprint()
if sys.argv[1] == "single":
    from reports.svg_text import install
    assert install(weasyprint)
weasyprint.HTML(string=sys.argv[2]).write_pdf(sys.argv[3])
"""


def render(tmp_path: Path, mode: str) -> Path:
    """The test SVG on a page, written by a fresh WeasyPrint (`single`: with install)."""
    encoded = base64.b64encode(SVG.encode("utf-8")).decode("ascii")
    html = (f'<html><body style="margin:0"><img style="width:300pt" '
            f'src="data:image/svg+xml;base64,{encoded}"></body></html>')
    target = tmp_path / f"{mode}.pdf"
    subprocess.run([sys.executable, "-c", RENDER, mode, html, str(target)], check=True,
                   cwd=Path(__file__).resolve().parents[1])
    return target


def glyph_origins(pdf: Path) -> list[tuple[str, float, float]]:
    """Each drawn character with the origin of its glyph on the page (pdfium)."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    page = pdfium.PdfDocument(str(pdf))[0]
    text = page.get_textpage()
    x, y = ctypes.c_double(), ctypes.c_double()
    found = []
    for index in range(text.count_chars()):
        char = text.get_text_range(index, 1)
        if char.strip():
            pdfium_c.FPDFText_GetCharOrigin(text.raw, index, ctypes.byref(x), ctypes.byref(y))
            found.append((char, x.value, y.value))
    return found


def test_single_runs_put_every_glyph_where_weasyprint_puts_it(tmp_path: Path) -> None:
    own, single = render(tmp_path, "own"), render(tmp_path, "single")
    expected, got = glyph_origins(own), glyph_origins(single)
    assert "".join(char for char, _, _ in got) == "".join(char for char, _, _ in expected)
    assert "核心价值客户" in "".join(char for char, _, _ in got)
    worst = max(max(abs(a[1] - b[1]), abs(a[2] - b[2])) for a, b in zip(expected, got,
                                                                       strict=True))
    # WeasyPrint writes a run's advances in thousandths of an em, so a glyph may drift by
    # that much per glyph before it (0.012 pt here); kerning moves "AVAV" by 0.57 pt per pair
    # and a ligature or a wrong anchor by whole glyphs
    assert worst < 0.02
    # six anchored labels drew into a PDF group each; as single runs they need none
    forms = [pdf.read_bytes().count(b"/Subtype /Form") for pdf in (own, single)]
    assert forms[0] - forms[1] >= 3


class Node(SimpleNamespace):
    """A stand-in for WeasyPrint's svg Node: tag, text, attrib and its children."""

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.children)


@pytest.mark.parametrize(("tag", "text", "children", "attrib", "expected"), [
    ("text", "Jan", 0, {"x": "1", "y": "2"}, True),
    ("text", "10月", 0, {"transform": "translate(1 2)"}, True),
    ("text", "Oct", 0, {"x": " 12.5 ", "y": "3", "text-anchor": "end"}, True),
    ("tspan", "Jan", 0, {"x": "1"}, False),        # part of a text: WeasyPrint's
    ("text", "", 0, {"x": "1"}, False),            # nothing to draw: WeasyPrint's
    ("text", "A", 1, {"x": "1"}, False),           # a text with tspans
    ("text", "abc", 0, {"x": "1 2 3"}, False),     # letters placed one by one
    ("text", "abc", 0, {"x": "1,2"}, False),
    ("text", "abc", 0, {"x": "1", "dx": "2"}, False),
    ("text", "abc", 0, {"rotate": "5"}, False),
    ("text", "abc", 0, {"letter-spacing": "1"}, False),
    ("text", "abc", 0, {"textLength": "20"}, False),
])
def test_only_labels_placed_as_one_run_take_the_fast_path(
        tag: str, text: str, children: int, attrib: dict[str, str], expected: bool) -> None:
    assert is_single_run(Node(tag=tag, text=text, attrib=attrib,
                              children=[object()] * children)) is expected


def test_unchecked_weasyprint_versions_keep_their_own_drawing() -> None:
    assert install(SimpleNamespace(__version__="999.0")) is False
    assert install(SimpleNamespace(__version__="dev")) is False
