"""Work the report no longer does, with the same result: blank leaders without their copies
(reports.blank_leaders), WeasyPrint's C declarations from a compiled copy
(reports.compiled_cdefs), and a report process that ends without Python's teardown (cli)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pypdfium2
import pytest

from reports import blank_leaders, compiled_cdefs, content_widths

ROOT = Path(__file__).resolve().parents[1]

# A contents list as the report's: space leaders before page numbers in two sizes, a link
# long enough to wrap, and leaders the fast path must leave alone (dots; an underlined space).
LEADERS_HTML = """<html><head><style>
@page { size: 120mm 90mm; margin: 8mm; }
body { font-family: "DejaVu Sans"; font-size: 9pt; }
a { display: block; color: black; text-decoration: none; }
a.space::after { content: leader(" ") attr(data-page); }
a.small::after { content: leader(" ") "p. " attr(data-page); font-size: 7pt; }
a.dots::after { content: leader(".") attr(data-page); }
a.underlined { text-decoration: underline; }
a.underlined::after { content: leader(" ") attr(data-page); }
</style></head><body>
<a class="space" data-page="2">1 Summary</a>
<a class="small" data-page="13">2 A heading long enough to run onto a second line of the
 contents, with its page number at the right end of the last line</a>
<a class="dots" data-page="4">3 Dotted</a>
<a class="underlined" data-page="5">4 Underlined</a>
</body></html>"""

# Tables as the report's: number cells that do not wrap, text cells that do, a header, a
# cell with two lines, a repeated value, and an auto-width table beside a fixed-width one.
TABLES_HTML = """<html><head><style>
@page { size: 160mm 120mm; margin: 8mm; }
body { font-family: "DejaVu Sans"; font-size: 7.6pt; }
table { border-collapse: collapse; margin-bottom: 4mm; }
td, th { padding: 1mm 1.6mm; border-bottom: 0.4pt solid #999; text-align: right;
         white-space: nowrap; }
td.text { text-align: left; white-space: normal; }
td .sub { display: block; font-size: 6.3pt; }
table.full { width: 100%; }
</style></head><body>
<table class="full"><tr><th>Segment</th><th>Customers</th><th>Revenue</th><th>Share</th></tr>
<tr><td class="text">Champions who buy often and spend the most, contacted monthly</td>
<td>12,345</td><td>¥1.23M<span class="sub">+4.5%</span></td><td>12.0%</td></tr>
<tr><td class="text">At risk</td><td>2,468</td><td>¥297.62K</td><td>12.0%</td></tr>
<tr><td class="text">New</td><td>366</td><td>¥10.8K</td><td>0.9%</td></tr></table>
<table><tr><td>1</td><td>−0.03%</td><td>146,295</td></tr>
<tr><td>2</td><td>▲ +10.6%</td><td>146,295</td></tr></table>
</body></html>"""

RENDER = """
import sys
from reports.weasyprint_import import import_weasyprint
weasyprint = import_weasyprint()
if sys.argv[1] == "dropped":
    from reports.blank_leaders import install
    assert install(weasyprint)
if sys.argv[1] == "measured-once":
    from reports.content_widths import install
    assert install(weasyprint)
weasyprint.HTML(string=sys.argv[2]).write_pdf(sys.argv[3])
"""


def render(tmp_path: Path, mode: str, html: str = LEADERS_HTML) -> Path:
    target = tmp_path / f"{mode}.pdf"
    subprocess.run([sys.executable, "-c", RENDER, mode, html, str(target)], check=True,
                   cwd=ROOT)
    return target


def page_pixels(pdf: Path) -> bytes:
    document = pypdfium2.PdfDocument(str(pdf))
    try:
        return bytes(document[0].render(scale=3).to_pil().tobytes())
    finally:
        document.close()


def page_text(pdf: Path) -> str:
    document = pypdfium2.PdfDocument(str(pdf))
    try:
        return str(document[0].get_textpage().get_text_range())
    finally:
        document.close()


def test_blank_leaders_draw_the_same_page(tmp_path: Path) -> None:
    """With the copies dropped the page has the same pixels and the same text as WeasyPrint's
    own leaders (page numbers at the same right-hand places, dots and underline kept)."""
    own, dropped = render(tmp_path, "own"), render(tmp_path, "dropped")
    assert page_pixels(dropped) == page_pixels(own)
    assert page_text(dropped) == page_text(own)
    assert "13" in page_text(own) and "....." in page_text(own)


def test_only_leaders_that_draw_nothing_lose_their_copies() -> None:
    """Laid out with install(): the two blank leaders hold no text box, the dotted and the
    underlined ones still hold their copies (one per leader width in the free space)."""
    from reports.weasyprint_import import import_weasyprint

    weasyprint = import_weasyprint()
    assert blank_leaders.install(weasyprint)
    document = weasyprint.HTML(string=LEADERS_HTML).render()

    def leaders(box: object) -> list[object]:
        found = [box] if getattr(box, "is_leader", False) else []
        for child in getattr(box, "children", ()):
            found.extend(leaders(child))
        return found

    copies = [len(leader.children) for leader in leaders(document.pages[0]._page_box)]
    assert copies[:2] == [0, 0]
    assert len(copies) == 4 and copies[2] > 5 and copies[3] > 5


def test_blank_leaders_stay_weasyprint_s_own_in_unchecked_versions() -> None:
    assert blank_leaders.install(SimpleNamespace(__version__="999.0")) is False
    assert blank_leaders.install(SimpleNamespace(__version__="dev")) is False


def test_tables_measured_once_come_out_the_same(tmp_path: Path) -> None:
    """Tables laid out with each distinct width measurement made once: the same PDF bytes
    as WeasyPrint's own (same column widths, same line breaks, same text)."""
    own = render(tmp_path, "own", TABLES_HTML)
    once = render(tmp_path, "measured-once", TABLES_HTML)
    assert once.read_bytes() == own.read_bytes()
    assert "Champions" in page_text(own)


def test_a_cell_s_text_that_does_not_wrap_is_measured_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Counting WeasyPrint's measurements: a nowrap cell's text is laid out once for both of
    its content widths, a wrapping cell's twice (0 and no width are different questions)."""
    calls: list[tuple[str, float | None]] = []

    def original(text: str, style: object, context: object, max_width: float | None,
                 *rest: object) -> tuple[str, float | None]:
        calls.append((text, max_width))
        return (text, max_width)

    measure = content_widths.measured_once(original)
    context = SimpleNamespace()
    nowrap, normal = {"white_space": "nowrap"}, {"white_space": "normal"}
    assert measure("146,295", nowrap, context, 0, 0) == ("146,295", 0)
    assert measure("146,295", nowrap, context, None, 0) == ("146,295", 0)  # the kept result
    measure("At risk", normal, context, 0, 0)
    measure("At risk", normal, context, None, 0)
    measure("146,295", dict(nowrap), context, None, 0)  # another style: measured again
    measure("146,295", nowrap, SimpleNamespace(), None, 0)  # another document: again
    assert calls == [("146,295", 0), ("At risk", 0), ("At risk", None), ("146,295", None),
                     ("146,295", None)]


def test_content_widths_stay_weasyprint_s_own_in_unchecked_versions() -> None:
    assert content_widths.install(SimpleNamespace(__version__="999.0")) is False


DECLARATIONS = """
typedef struct { int width; double ratio; char name[5]; void *next; } box_t;
typedef enum { LEFT, RIGHT = 4 } side_t;
int abs(int);
size_t strlen(const char *);
"""


def test_compiled_declarations_match_parsed_ones(tmp_path: Path) -> None:
    """The FFI loaded from the compiled module lays types out as the parsing FFI does and
    calls the same C functions."""
    import cffi

    parsed = cffi.FFI()
    parsed.cdef(DECLARATIONS)
    compiled = compiled_cdefs.compiled_ffi(DECLARATIONS, tmp_path, cffi.FFI)
    assert type(compiled) is not type(parsed)
    for field in ("width", "ratio", "name", "next"):
        assert compiled.offsetof("box_t", field) == parsed.offsetof("box_t", field)
    assert compiled.sizeof("box_t") == parsed.sizeof("box_t")
    assert compiled.string(compiled.cast("side_t", 4)) == "RIGHT"
    libc = compiled.dlopen(None)
    assert libc.abs(-7) == 7
    assert libc.strlen(compiled.new("char[]", b"report")) == 6


def test_compiled_declarations_are_made_once_per_text(tmp_path: Path) -> None:
    import cffi

    compiled_cdefs.compiled_ffi(DECLARATIONS, tmp_path, cffi.FFI)
    (made,) = tmp_path.glob("weasyprint_cdefs_*.py")
    written = made.stat().st_mtime_ns
    compiled_cdefs.compiled_ffi(DECLARATIONS, tmp_path, cffi.FFI)
    assert made.stat().st_mtime_ns == written
    compiled_cdefs.compiled_ffi(DECLARATIONS + "int atoi(const char *);", tmp_path, cffi.FFI)
    assert len(list(tmp_path.glob("weasyprint_cdefs_*.py"))) == 2
    assert not list(tmp_path.glob("*.tmp"))


def test_a_cache_folder_others_can_write_to_is_not_used(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compiled_cdefs.tempfile, "gettempdir", lambda: str(tmp_path))
    folder = compiled_cdefs.private_folder()
    assert folder is not None and stat.S_IMODE(folder.stat().st_mode) == 0o700
    folder.chmod(0o777)
    assert compiled_cdefs.private_folder() is None


def test_without_a_cache_folder_the_declarations_are_parsed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import cffi

    monkeypatch.setattr(compiled_cdefs, "private_folder", lambda: None)
    original = cffi.FFI
    with compiled_cdefs.compiled_declarations() as made:
        ffi = cffi.FFI()
        ffi.cdef(DECLARATIONS)
    assert cffi.FFI is original and ffi is made[0]
    assert isinstance(made[0]._ffi, cffi.FFI)
    assert ffi.sizeof("box_t") == made[0]._ffi.sizeof("box_t")


def test_weasyprint_imported_here_uses_the_compiled_declarations() -> None:
    """In a fresh process: WeasyPrint's modules hold the compiled FFI (not the stand-in) and
    pycparser, which parsing needs, is never imported; a page comes out as it does from a
    plain `import weasyprint`."""
    probe = ("import sys\n"
             "from reports.weasyprint_import import import_weasyprint\n"
             "weasyprint = import_weasyprint()\n"
             "from weasyprint.text import ffi, line_break\n"
             "print(type(ffi.ffi).__module__, line_break.ffi is ffi.ffi,\n"
             "      'pycparser' in sys.modules)\n"
             "sys.stdout.flush()\n"
             "sys.stdout.buffer.write(weasyprint.HTML(string=sys.argv[1]).write_pdf())\n")
    plain = ("import sys, weasyprint\n"
             "sys.stdout.buffer.write(weasyprint.HTML(string=sys.argv[1]).write_pdf())\n")
    html = "<p style='font-family: DejaVu Sans'>Net revenue ¥21.31M · 环比 +10.6%</p>"
    subprocess.run([sys.executable, "-c", probe, html], check=True, cwd=ROOT,
                   capture_output=True)  # the first run may compile them
    ours = subprocess.run([sys.executable, "-c", probe, html], check=True, cwd=ROOT,
                          capture_output=True).stdout
    first_line, _, pdf = ours.partition(b"\n")
    assert first_line.split() == [b"_cffi_backend", b"True", b"False"]
    theirs = subprocess.run([sys.executable, "-c", plain, html], check=True, cwd=ROOT,
                            capture_output=True).stdout
    assert pdf == theirs


def test_a_report_process_ends_after_its_exit_handlers_and_output(tmp_path: Path) -> None:
    """cli.end_process skips the teardown but runs the exit handlers and flushes the output;
    started_as_command is true only where __main__ runs cli.main (not in these tests)."""
    import cli

    assert cli.started_as_command() is False
    marker = tmp_path / "handler-ran"
    code = ("import atexit, pathlib, sys\n"
            "from cli import main, end_process, started_as_command\n"
            f"atexit.register(pathlib.Path({str(marker)!r}).write_text, 'yes')\n"
            "sys.stdout.write(str(started_as_command()))\n"
            "end_process()\n"
            "print('never')\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert (done.returncode, done.stdout) == (0, "True")
    assert marker.read_text() == "yes"
