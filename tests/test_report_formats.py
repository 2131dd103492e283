"""Number, money and date formats of the report (reports.formats), from hand-worked examples."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from reports.formats import MINUS, MISSING, Formatter, grouped
from reports.i18n import Messages, load_messages
from reports.render import code_spans, css_string
from retail_tiers.errors import RetailTiersError

EN = Formatter("en")
ZH = Formatter("zh")


@pytest.mark.parametrize(("value", "decimals", "expected"), [
    (1234567.891, 2, "1,234,567.89"),
    (2.5, 0, "3"),                      # half up, not Python's half-to-even (2)
    (0.125, 2, "0.13"),
    (-2.5, 0, f"{MINUS}3"),
    (999.995, 2, "1,000.00"),
    (0, 0, "0"),
])
def test_grouped_rounds_half_up_with_separators(value: float, decimals: int,
                                                 expected: str) -> None:
    assert grouped(value, decimals) == expected


def test_money_full_and_negative() -> None:
    assert EN.money(1234567.5) == "¥1,234,568"
    assert EN.money(-1234.555, 2) == f"{MINUS}¥1,234.56"
    assert ZH.money(88616.72, 2) == "¥88,616.72"
    assert EN.money(None) == MISSING


@pytest.mark.parametrize(("value", "english", "chinese"), [
    (1234.5, "¥1,235", "¥1,235"),
    (12345.67, "¥12.35K", "¥12,346"),          # zh abbreviates from 10万 up
    (123456.78, "¥123.46K", "¥12.35万"),
    (12345678.9, "¥12.35M", "¥1,234.57万"),
    (123456789.0, "¥123.46M", "¥1.23亿"),
    (-5_000_000_000.0, f"{MINUS}¥5.00B", f"{MINUS}¥50.00亿"),
])
def test_short_money_uses_k_m_b_in_english_and_wan_yi_in_chinese(value: float, english: str,
                                                                 chinese: str) -> None:
    assert EN.short_money(value) == english
    assert ZH.short_money(value) == chinese


def test_percent_and_changes() -> None:
    assert EN.percent(0.12345) == "12.3%"
    assert EN.percent(0.0005, 1) == "0.1%"
    assert EN.change_rate(0.2586) == "+25.9%"
    assert EN.change_rate(-0.01) == f"{MINUS}1.0%"
    assert EN.change_rate(-0.0004) == f"{MINUS}0.04%"     # not a bare 0.0% beside a ▼
    assert EN.change_rate(0) == "0.0%"
    assert ZH.change_points(0.0002) == "+0.02pp"
    assert EN.change_points(-0.0123) == f"{MINUS}1.2 pp"
    assert ZH.change_points(0.003) == "+0.3pp"
    assert ZH.change_points(0.003, sentence=True) == "+0.3个百分点"
    assert EN.change_days(2.5) == "+2.5 days"
    assert ZH.days(63) == "63天"


def test_nps_and_satisfaction() -> None:
    assert EN.nps(31.746) == "+32"
    assert EN.nps(-4.5) == f"{MINUS}5"                   # half away from zero
    assert EN.nps(0.3) == "0" and EN.nps(-0.3) == "0"    # no sign on a zero
    assert ZH.nps(100) == "+100"
    assert EN.nps(None) == MISSING
    assert EN.change_nps(4.2) == "+4"
    assert EN.change_nps(-12.5) == f"{MINUS}13"
    assert EN.change_nps(0.3) == "+0.3"                  # not a bare 0 for a real change
    assert EN.change_nps(0) == "0"
    assert ZH.score(4.25) == "4.3"


def test_dates_per_language() -> None:
    day = dt.date(2026, 9, 30)
    assert EN.month(day) == "September 2026"
    assert ZH.month(day) == "2026年9月"
    assert EN.month_short(day) == "Sep 2026"
    assert EN.date(day) == "30 Sep 2026"
    assert ZH.date(day) == "2026年9月30日"
    assert EN.month_tick(dt.date(2026, 1, 1), with_year=True) == "Jan\n2026"
    assert ZH.month_tick(dt.date(2026, 1, 1), with_year=False) == "1月"
    assert EN.date_range(dt.date(2026, 9, 19), dt.date(2026, 10, 7)) == "19 Sep – 7 Oct 2026"
    assert EN.date_range(dt.date(2025, 12, 20), dt.date(2026, 1, 3)) == \
        "20 Dec 2025 – 3 Jan 2026"
    assert ZH.date_range(dt.date(2026, 9, 19), dt.date(2026, 10, 7)) == "2026年9月19日–10月7日"


def test_both_languages_have_the_same_messages_and_placeholders() -> None:
    english, chinese = load_messages("en"), load_messages("zh")
    assert set(english) == set(chinese)
    import string

    def fields(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    for key in english:
        assert fields(english[key]) == fields(chinese[key]), key
    assert Messages("zh")("headline.clv", share="45.2%") == "前 10% 的客户贡献了 45.2% 的预测价值"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_messages_read_by_libyaml_equal_pyyaml_s_own_reading(lang: str) -> None:
    """The report reads its messages with libyaml's parser (faster); PyYAML's pure-Python
    safe loader must give the very same table."""
    import yaml

    from reports.i18n import MESSAGES_DIR

    text = (MESSAGES_DIR / f"{lang}.yml").read_text(encoding="utf-8")
    expected = {str(key): str(value) for key, value in yaml.safe_load(text).items()}
    assert load_messages(lang) == expected


def test_css_strings_cannot_escape_the_string_or_the_style_element() -> None:
    text = css_string('a"b\\c</style><script>')
    assert text.startswith('"') and text.endswith('"')
    inner = text[1:-1]
    assert '"' not in inner and "<" not in inner and ">" not in inner
    assert "\\22 " in inner and "\\5c " in inner and "\\3c " in inner


def test_code_spans_escape_before_marking_commands() -> None:
    assert str(code_spans("run `retail-tiers build` <now>")) == \
        "run <code>retail-tiers build</code> &lt;now&gt;"


def test_chart_worker_draws_what_the_report_process_would(monkeypatch: pytest.MonkeyPatch) -> None:
    """Charts drawn by the worker process equal charts drawn in-process, and a worker that
    dies falls back to drawing in-process."""
    import subprocess
    import sys

    from reports import chartjobs, theme
    from reports.chartjobs import ChartJob, ChartRenderer

    fonts = theme.Fonts(families=("DejaVu Sans",), has_cjk=False)
    jobs = [ChartJob("column_shares", {
        "labels": ["1", "2"], "shares": [0.25, 0.75], "highlight": [False, True],
        "x_title": "decile", "y_title": "share", "fmt": EN, "fonts": fonts,
        "chart_id": "t"}), ChartJob("heat_palette")]
    local = chartjobs.run_jobs(jobs)
    with ChartRenderer() as renderer:
        worker = renderer.process
        assert worker is not None
        assert renderer.run(jobs) == local
        # back once it has sent every result: the next month's charts go to the same worker
        assert renderer.process is worker
        assert renderer.run(jobs[::-1]) == local[::-1]
        assert renderer.process is worker
    assert worker.returncode == 0  # told to end, it ran its exit handlers: not killed
    with ChartRenderer() as unused:  # a report that fails before its charts: not waited for
        never_used = unused.process
    assert never_used is not None and never_used.returncode == -9
    assert "<text" in local[0] and "75%" in local[0]      # text stays text in the SVG

    real_popen = subprocess.Popen
    started: list[subprocess.Popen[bytes]] = []

    def dying_worker(*_args: object, **_kwargs: object) -> subprocess.Popen[bytes]:
        started.append(real_popen([sys.executable, "-c", "import sys; sys.exit(3)"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE))
        return started[-1]

    monkeypatch.setattr(chartjobs.subprocess, "Popen", dying_worker)
    with ChartRenderer() as renderer:
        assert renderer.run(jobs) == local
        assert renderer.process is None  # a worker that died is not taken back
        assert renderer.run(jobs) == local  # the next submission starts another
    assert len(started) == 2


def test_lean_svg_keeps_the_drawing_and_drops_only_bare_groups() -> None:
    """The universal style rule becomes the root's (inherited) style; a group is unwrapped
    only when it has nothing but an id that nothing refers to."""
    import xml.etree.ElementTree as ElementTree

    from reports.charts import SVG_NS, lean_svg

    svg = (
        f'<svg xmlns="{SVG_NS}" xmlns:xlink="http://www.w3.org/1999/xlink" id="chart">'
        '<defs><style type="text/css">*{stroke-linejoin: round; stroke-linecap: butt}</style>'
        '</defs>'
        '<g id="bare"><g id="used"><path id="p1" d="M 0 0 L 1 1"/></g>'
        '<path id="p2" d="M 1 1 L 2 2"/></g>'
        '<g id="moved" transform="translate(1 1)"><use xlink:href="#used"/></g>'
        '<g id="clipped" clip-path="url(#clip)"><path d="M 2 2 L 3 3"/></g>'
        '</svg>'
    )
    root = ElementTree.fromstring(lean_svg(svg))
    g = f"{{{SVG_NS}}}g"
    assert root.get("style") is None
    assert (root.get("stroke-linejoin"), root.get("stroke-linecap")) == ("round", "butt")
    assert root.find(f".//{{{SVG_NS}}}style") is None
    assert root.find(f"{{{SVG_NS}}}defs") is None          # emptied, so removed
    assert [element.get("id") for element in root.iter(g)] == ["used", "moved", "clipped"]
    # the unwrapped group's children stay, in order, where the group was
    assert [element.get("id") for element in root] == ["used", "p2", "moved", "clipped"]
    assert [element.get("id") for element in root.iter(f"{{{SVG_NS}}}path")] == [
        "p1", "p2", None]


def test_lean_svg_writes_styles_as_attributes_and_drops_what_paints_nothing() -> None:
    """Styles become presentation attributes; an identity rotation, a path that only moves
    the pen and the clip of a path inside its clip rectangle (stroke included) go; a clip
    that a stroke, a transform or relative path data could cross stays."""
    import xml.etree.ElementTree as ElementTree

    from reports.charts import SVG_NS, lean_svg

    clip = ('<defs><clipPath id="c"><rect x="10" y="10" width="100" height="50"/></clipPath>'
            '</defs>')
    svg = (
        f'<svg xmlns="{SVG_NS}" xmlns:xlink="http://www.w3.org/1999/xlink">{clip}'
        '<text id="t" style="font-size: 7px; font-family: \'Noto Sans\'; text-anchor: end"'
        ' x="5" y="6" transform="rotate(-0 5 6)">1</text>'
        '<text id="r" x="5" y="6" transform="rotate(-90 5 6)">2</text>'
        '<path id="move" d="M 20 20 " style="stroke: #000"/>'
        # filled bar inside the rectangle; a stroke of 1 reaches 2 (twice the width) out
        '<path id="bar" d="M 20 20 L 40 20 L 40 58 L 20 58 z" clip-path="url(#c)"'
        ' style="fill: #123456; stroke: none"/>'
        '<path id="line" d="M 12 30 C 20 30 30 40 108 30" clip-path="url(#c)"'
        ' style="fill: none; stroke: #000; stroke-width: 1"/>'
        '<path id="edge" d="M 12 30 L 109 30" clip-path="url(#c)"'
        ' style="fill: none; stroke: #000; stroke-width: 1"/>'
        '<g style="stroke: #000; stroke-width: 3">'
        '<path id="inherits" d="M 15 30 L 100 30" clip-path="url(#c)"/></g>'
        '<path id="relative" d="m 20 20 l 5 5" clip-path="url(#c)" style="stroke: none"/>'
        '<path id="moved" d="M 20 20 L 30 30" clip-path="url(#c)" transform="scale(9)"'
        ' style="stroke: none"/>'
        '</svg>'
    )
    root = ElementTree.fromstring(lean_svg(svg))
    by_id = {element.get("id"): element for element in root.iter() if element.get("id")}
    label = by_id["t"]
    assert label.get("style") is None and label.get("transform") is None
    assert (label.get("font-size"), label.get("font-family"), label.get("text-anchor")) == (
        "7px", "'Noto Sans'", "end")
    assert label.text == "1"
    assert by_id["r"].get("transform") == "rotate(-90 5 6)"
    assert "move" not in by_id
    assert by_id["bar"].get("fill") == "#123456" and by_id["bar"].get("clip-path") is None
    assert by_id["line"].get("clip-path") is None          # 12 - 2 >= 10, 108 + 2 <= 110
    assert by_id["edge"].get("clip-path") == "url(#c)"     # 109 + 2 > 110
    assert by_id["inherits"].get("clip-path") == "url(#c)"  # inherited width 3: 15 - 6 < 10
    assert by_id["relative"].get("clip-path") == "url(#c)"
    assert by_id["moved"].get("clip-path") == "url(#c)"


def test_linked_charts_reach_the_pdf_and_one_that_cannot_be_drawn_stops_it(
        tmp_path: Path) -> None:
    """A PDF's `chart:N` links are filled from the worker's results as WeasyPrint reaches
    them; a link to a chart that cannot be drawn ends the render with an error and no file
    (not a page with a hole)."""
    from pypdf import PdfReader

    from reports import theme
    from reports.chartjobs import ChartJob, ChartRenderer
    from reports.render import write_pdf

    fonts = theme.Fonts(families=("DejaVu Sans",), has_cjk=False)
    jobs = [ChartJob("column_shares", {
        "labels": ["1", "2"], "shares": [0.25, 0.75], "highlight": [False, True],
        "x_title": "decile", "y_title": "share", "fmt": EN, "fonts": fonts,
        "chart_id": "t"}), ChartJob("no_such_chart")]
    with ChartRenderer() as renderer:
        pending = renderer.submit(jobs)
    try:
        good = tmp_path / "good.pdf"
        write_pdf('<html><body><img src="chart:0" style="width: 80mm"></body></html>', good,
                  pending)
        text = "".join(page.extract_text() for page in PdfReader(good).pages)
        assert "75%" in text and "decile" in text      # the chart's own text, as PDF text

        bad = tmp_path / "bad.pdf"
        with pytest.raises(RetailTiersError, match=r"chart:1.*KeyError"):
            write_pdf('<html><body><img src="chart:1"></body></html>', bad, pending)
        assert sorted(path.name for path in tmp_path.iterdir()) == ["good.pdf"]
    finally:
        pending.close()


def test_a_chart_that_fails_while_its_page_is_painted_stops_the_render(tmp_path: Path) -> None:
    """A chart of known size is laid out as a frame and drawn when its page is painted;
    when it cannot be drawn then (WeasyPrint would paint nothing), the render still ends with
    an error and no file."""
    from reports import theme
    from reports.chartjobs import ChartJob, ChartRenderer
    from reports.render import write_pdf

    fonts = theme.Fonts(families=("DejaVu Sans",), has_cjk=False)
    broken = ChartJob("column_shares", {   # two labels, one share: zip(strict=True) fails
        "labels": ["1", "2"], "shares": [0.25], "highlight": [False, True],
        "x_title": "decile", "y_title": "share", "fmt": EN, "fonts": fonts, "chart_id": "b"})
    with ChartRenderer() as renderer:
        pending = renderer.submit([broken])
    try:
        assert pending.size_pt(0) is not None
        with pytest.raises(RetailTiersError, match=r"bad\.pdf: chart:0 could not be drawn: "
                                                   r"ValueError"):
            write_pdf('<html><body><img src="chart:0"></body></html>', tmp_path / "bad.pdf",
                      pending)
        assert list(tmp_path.iterdir()) == []
    finally:
        pending.close()


CHART_SAMPLES = [
    ("trend_chart", {"months": [dt.date(2026, m, 1) for m in (8, 9, 10)],
                     "values": [1.0, 2.0, 3.0], "kind": "count"}),
    ("trend_chart", {"months": [dt.date(2026, m, 1) for m in (8, 9, 10)],
                     "values": [1.0, None, 3.0], "kind": "rate", "width_mm": 42.5,
                     "height_mm": 26}),
    ("share_bars", {"labels": ["a", "b", "c"], "first": [0.2, 0.3, 0.5],
                    "second": [0.1, 0.6, 0.3], "legend": ("x", "y")}),
    ("histogram", {"edge_labels": ["0", "10", "20+"], "counts": [5, 3],
                   "highlight": [False, True], "legend": ("x", "y"), "x_title": "v",
                   "y_title": "n"}),
    ("column_shares", {"labels": ["1", "2"], "shares": [0.4, 0.6], "highlight": [False, True],
                       "x_title": "d", "y_title": "s"}),
    ("uplift_chart", {"labels": ["c1", "c2"], "uplift": [0.02, -0.01], "low": [0.0, -0.03],
                      "high": [0.04, 0.01], "significant": [True, False], "x_title": "u"}),
    ("nps_bars", {"labels": ["a", "b"], "values": [20.0, None], "notes": ["n = 40", ""],
                  "weak": [False, False], "x_title": "NPS", "empty_text": "none"}),
    ("stacked_shares", {"labels": ["a", "b"], "shares": [[0.6, 0.4], [0.5, 0.5]],
                        "colours": [("#1f4e79", "#ffffff"), ("#dfe5ec", "#1d2733")],
                        "hatched": [False, True], "totals": ["¥1", "¥2"]}),
    ("tracking_chart", {"weeks": [1, 2, 3, 4], "actual": [1.0, 2.0, 3.0, 4.0],
                        "expected": [1.0, 2.1, 2.9, 4.2], "holdout_from": 3,
                        "legend": ("a", "e", "h"), "x_title": "w", "y_title": "n"}),
    ("paired_columns", {"labels": ["0", "1"], "actual": [1.0, 2.0], "expected": [1.5, 1.8],
                        "legend": ("a", "e"), "x_title": "f", "y_title": "n"}),
]


@pytest.mark.parametrize(("function", "arguments"), CHART_SAMPLES)
def test_each_chart_is_the_size_its_frame_is_given(function: str,
                                                   arguments: dict[str, object]) -> None:
    """The size the PDF's layout takes for a chart before it is drawn (reports.chart_sizes)
    is the size of the SVG matplotlib then writes, for every chart function."""
    import xml.etree.ElementTree as ElementTree

    from reports import charts, theme
    from reports.chart_sizes import chart_size_pt

    fonts = theme.Fonts(families=("DejaVu Sans",), has_cjk=False)
    svg = charts.run_job(function, {**arguments, "fmt": EN, "fonts": fonts, "chart_id": "s"})
    root = ElementTree.fromstring(svg)
    drawn = tuple(float(root.get(name, "").removesuffix("pt")) for name in ("width", "height"))
    assert chart_size_pt(function, arguments) == pytest.approx(drawn, abs=1e-5)
    assert set(charts.JOBS) - {"heat_palette"} == {name for name, _ in CHART_SAMPLES}


def test_the_stylesheets_heat_palette_is_the_colour_maps() -> None:
    """theme.HEAT_PALETTE, written out for the stylesheet, equals what matplotlib's colour
    map gives (reports.charts.heat_palette)."""
    from reports import charts, theme

    assert [tuple(step) for step in charts.heat_palette()] == list(theme.HEAT_PALETTE)


def test_chart_results_arrive_one_by_one_and_a_dead_worker_is_replaced_in_process() -> None:
    """Results are read frame by frame in job order; when the worker dies after the first
    result, the rest are drawn in this process and equal what the worker would have sent."""
    import io

    from reports import theme
    from reports.chartjobs import ChartJob, PendingCharts, read_frame, run_jobs, write_frame

    stream = io.BytesIO()
    write_frame(stream, (0, "first"))
    write_frame(stream, (1, ["second"]))
    stream.seek(0)
    assert read_frame(stream) == (0, "first")
    assert read_frame(stream) == (1, ["second"])
    with pytest.raises(EOFError):
        read_frame(stream)

    fonts = theme.Fonts(families=("DejaVu Sans",), has_cjk=False)
    jobs = [ChartJob("heat_palette"), ChartJob("column_shares", {
        "labels": ["a"], "shares": [1.0], "highlight": [True], "x_title": "x",
        "y_title": "y", "fmt": EN, "fonts": fonts, "chart_id": "d"})]
    # a stand-in worker that answers the first job with a marker and then dies
    script = ("import sys; from reports.chartjobs import read_frame, write_frame; "
              "read_frame(sys.stdin.buffer); write_frame(sys.stdout.buffer, (0, 'from worker')); "
              "sys.exit(3)")
    process = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE)
    pending = PendingCharts(jobs, process)
    try:
        assert pending.get(0) == "from worker"
        assert pending.get(1) == run_jobs([jobs[1]])[0]
    finally:
        pending.close()


def test_one_money_axis_uses_one_unit() -> None:
    """Ticks of one axis take the unit of its largest value: never ¥10万 beside ¥80,000."""
    zh, en = Formatter("zh"), Formatter("en")
    assert [zh.axis_money(v, 120_000) for v in (80_000, 100_000, 120_000)] == [
        "¥8万", "¥10万", "¥12万"]
    assert [en.axis_money(v, 12_000) for v in (8_000, 10_000, 12_000)] == ["¥8K", "¥10K", "¥12K"]
    assert [en.axis_money(v, 9_000) for v in (8_000, 9_000)] == ["¥8,000", "¥9,000"]
    assert zh.axis_money(80_000) == "¥80,000"  # without a reference: the value's own unit


def test_compiled_templates_are_cached_and_an_unusable_cache_is_only_slower(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The report's templates are compiled once into Jinja's cache folder and read back from
    there; a cache folder that cannot be read or written does not stop a render."""
    from reports import render

    def rendered_css(cache_dir: Path) -> str:
        monkeypatch.setattr(render, "template_cache",
                            lambda: render.QuietBytecodeCache(str(cache_dir)))
        return render.environment().get_template("report.css.j2").render(
            theme=render.theme, fonts=render.theme.pick_fonts(), t=Messages("en"),
            heat_palette=render.theme.HEAT_PALETTE, month="October 2026", as_of="2026-10-31",
            source="demo")

    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    expected = rendered_css(cache_dir)
    assert len(list(cache_dir.iterdir())) == 1
    compile_template = render.Environment._compile
    compiled: list[str] = []

    def counting(self: object, source: str, filename: str) -> object:
        compiled.append(filename)
        return compile_template(self, source, filename)  # type: ignore[arg-type]

    monkeypatch.setattr(render.Environment, "_compile", counting)
    assert rendered_css(cache_dir) == expected
    assert compiled == []  # read from the cache, not compiled again

    blocked = tmp_path / "a-file"
    blocked.write_text("")
    assert rendered_css(blocked / "cache") == expected  # neither read nor written: compiled
    assert len(compiled) == 1


def test_page_numbers_are_counted_from_the_sections_that_start_a_page() -> None:
    """The cover is page 1; each `section.page-start` starts the next page; a section without
    it stays on the page before. Every link to a section gets its page; other links not."""
    from reports.render import with_page_numbers

    html = ('<div class="cover"><a href="#one">1</a><a href="#two">2</a><a href="#x">?</a></div>'
            '<section class="page-start"><h1 id="one">One</h1></section>'
            '<section><h1 id="two">Two</h1><a href="#one">back</a></section>'
            '<section class="page-start"><h1 id="three">Three</h1></section>')
    numbered, pages = with_page_numbers(html)
    assert pages == {"one": 2, "two": 2, "three": 3}
    assert ('<a href="#one" data-page="2">1</a><a href="#two" data-page="2">2</a>'
            '<a href="#x">?</a>') in numbered
    assert '<a href="#one" data-page="2">back</a>' in numbered


PAGED_CSS = ('<style>@page { size: A6; margin: 10mm } a::after { content: " p" '
             'target-counter(attr(href), page) } a[data-page]::after { content: " p" '
             'attr(data-page) } .page-start { break-before: page } .tall { height: 150mm }'
             '</style>')


@pytest.mark.parametrize(("middle", "expected"), [
    ("", ["one p2", "two p3"]),                        # as counted: one layout
    ('<div class="tall"></div><div class="tall"></div>', ["one p2", "two p5"]),  # 3 pages
])
def test_contents_page_numbers_are_the_laid_out_pages(tmp_path: Path, middle: str,
                                                      expected: list[str]) -> None:
    """When a section runs onto more pages than counted, the contents still print the pages
    the sections are on (WeasyPrint's own target-counter numbers)."""
    from pypdf import PdfReader

    from reports.render import write_pdf

    html = (f'<html><head>{PAGED_CSS}</head><body><div class="cover"><a href="#one">one</a>'
            '<br><a href="#two">two</a></div>'
            f'<section class="page-start"><h1 id="one">One</h1>{middle}</section>'
            '<section class="page-start"><h1 id="two">Two</h1></section></body></html>')
    pdf = tmp_path / "paged.pdf"
    write_pdf(html, pdf)
    reader = PdfReader(pdf)
    cover = reader.pages[0].extract_text()
    assert [line.strip() for line in cover.splitlines()] == expected
    assert "Two" in reader.pages[int(expected[1][-1]) - 1].extract_text()


WEASYPRINT_LIBRARY_NAMES = [  # the names WeasyPrint 70 tries (weasyprint/text/ffi.py)
    "libgobject-2.0-0", "gobject-2.0-0", "gobject-2.0", "libgobject-2.0.so.0",
    "libpango-1.0-0", "pango-1.0", "harfbuzz", "harfbuzz-subset", "harfbuzz-vector",
    "libharfbuzz-vector.0.dylib", "libfontconfig-1", "fontconfig", "pangoft2-1.0",
    "libpangoft2-1.0-0.dll"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a Linux library lookup")
def test_weasyprint_s_libraries_are_found_as_ctypes_finds_them() -> None:
    """The lookup from one reading of the linker's cache gives what ctypes.util.find_library
    gives (by ldconfig, gcc and ld) for every name WeasyPrint tries, found or not."""
    import ctypes.util

    from reports.weasyprint_import import cached_find_library, lazily, linker_cache

    find_library = cached_find_library(linker_cache())
    found = {name: find_library(name) for name in WEASYPRINT_LIBRARY_NAMES}
    assert found == {name: ctypes.util.find_library(name) for name in WEASYPRINT_LIBRARY_NAMES}
    lazy = lazily(cached_find_library)
    assert {name: lazy(name) for name in WEASYPRINT_LIBRARY_NAMES} == found
    assert found["gobject-2.0"] == "libgobject-2.0.so.0"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a Linux library lookup")
def test_weasyprint_is_imported_without_helper_processes() -> None:
    """A fresh Python imports WeasyPrint through reports.weasyprint_import starting no process
    (its compiled declarations open the libraries by name, so the linker's cache is never
    read) where a plain import starts dozens, and leaves ctypes' lookup as it was."""
    count = ("import subprocess, ctypes.util\n"
             "started = []\n"
             "real = subprocess.Popen.__init__\n"
             "def counting(self, args, *rest, **options):\n"
             "    started.append(args[0])\n"
             "    real(self, args, *rest, **options)\n"
             "subprocess.Popen.__init__ = counting\n"
             "original = ctypes.util.find_library\n"
             "{}\n"
             "assert ctypes.util.find_library is original\n"
             "print(len(started))\n")
    ours = "from reports.weasyprint_import import import_weasyprint; import_weasyprint()"

    def helpers(code: str) -> int:
        return int(subprocess.run([sys.executable, "-c", count.format(code)], check=True,
                                  capture_output=True, text=True).stdout)

    assert helpers(ours) == 0
    assert helpers("import weasyprint") > 10


def test_the_worker_skips_matplotlib_s_help_texts_and_draws_every_chart_the_same() -> None:
    """Every chart function drawn by the worker (matplotlib without its artists' help texts)
    gives the SVG the report process draws with matplotlib as it comes; the worker's
    matplotlib really lacks the help texts."""
    from reports import chartjobs, theme
    from reports.chartjobs import ChartJob, ChartRenderer

    fonts = theme.Fonts(families=("DejaVu Sans",), has_cjk=False)
    jobs = [ChartJob(function, {**arguments, "fmt": EN, "fonts": fonts, "chart_id": f"c{i}"})
            for i, (function, arguments) in enumerate(CHART_SAMPLES)]
    with ChartRenderer() as renderer:
        assert renderer.run(jobs) == chartjobs.run_jobs(jobs)

    probe = ("from reports.chart_worker import skip_artist_help\n"
             "assert skip_artist_help()\n"
             "from matplotlib.lines import Line2D\n"
             "from matplotlib.artist import Artist\n"
             "print(Line2D.set.__doc__ is None, 'linewidth' in (Artist.set.__doc__ or ''))\n")
    found = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True,
                           text=True).stdout.split()
    assert found == ["True", "True"]  # Line2D.set has none; Artist's own was built before
    from matplotlib.lines import Line2D

    assert "linewidth" in (Line2D.set.__doc__ or "")  # this process's matplotlib is whole


def test_the_worker_ends_at_once_after_running_the_exit_handlers(tmp_path: Path) -> None:
    """The worker's end skips the interpreter's teardown but not the exit handlers (matplotlib
    removes a temporary config folder in one) nor output still buffered."""
    marker = tmp_path / "handler-ran"
    code = ("import atexit, pathlib, sys\n"
            "from reports.chart_worker import end_at_once\n"
            f"atexit.register(pathlib.Path({str(marker)!r}).write_text, 'yes')\n"
            "sys.stdout.write('buffered')\n"
            "end_at_once()\n"
            "sys.exit(5)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (done.returncode, done.stdout, marker.read_text()) == (0, "buffered", "yes")
