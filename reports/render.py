"""Render monthly reports: marts -> Jinja HTML -> WeasyPrint PDF (or the HTML itself).

The PDF is written to a temporary file in the output folder and renamed over the target with
os.replace, so a failed render never leaves a partial report behind.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import (
    BytecodeCache,
    Environment,
    FileSystemBytecodeCache,
    FileSystemLoader,
    StrictUndefined,
)
from jinja2.bccache import Bucket
from markupsafe import Markup, escape

from reports import blank_leaders, content_widths, svg_text, theme
from reports import data as marts
from reports.chartjobs import (
    CHART_BODY_PREFIX,
    CHART_URL_PREFIX,
    ChartRenderer,
    PendingCharts,
    chart_frame,
    chart_index,
    submit_slots,
)
from reports.formats import LANGS, Formatter, Lang
from reports.i18n import Messages
from reports.sections import build_context
from reports.theme import Fonts
from retail_tiers.errors import RetailTiersError
from retail_tiers.project import project_dir, warehouse_path
from retail_tiers.tempfiles import remove_stale_temp_files, temp_path
from retail_tiers.warehouse import connect, require_tables

TEMPLATES = Path(__file__).resolve().parent / "templates"
FORMATS = ("pdf", "html")


@dataclass(frozen=True)
class ReportRequest:
    month: str | None = None          # YYYY-MM; None = the as-of month
    lang: Lang = "en"
    file_format: str = "pdf"
    out_dir: Path | None = None       # None = reports/output in the project
    all_months: bool = False


def default_out_dir(project: Path) -> Path:
    return project / "reports" / "output"


def report_file_name(month: marts.ReportMonth, lang: Lang, file_format: str) -> str:
    return f"customer-report-{month.label}-{lang}.{file_format}"


def require_fonts(lang: Lang) -> Fonts:
    """The fonts for `lang`; Chinese without a CJK font is refused (it would print boxes)."""
    fonts = theme.pick_fonts()
    if lang == "zh" and not fonts.has_cjk:
        raise RetailTiersError(
            "--lang zh: no Chinese font installed (`fc-list :lang=zh` lists none); "
            "install one with `make fonts` or `sudo apt-get install fonts-noto-cjk`")
    return fonts


def css_string(text: object) -> str:
    """A quoted CSS string that cannot end the string, the rule or the <style> element."""
    escaped = []
    for char in str(text):
        if char in '"\\' or char in "<>&" or ord(char) < 0x20:
            escaped.append(f"\\{ord(char):x} ")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


def code_spans(text: object) -> Markup:
    """Escape a message, then show its `backquoted` parts (commands) as <code>."""
    escaped = str(escape(str(text)))
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped))


class QuietBytecodeCache(FileSystemBytecodeCache):
    """Jinja's cache of compiled templates in the user's temp folder (`_jinja2-cache-<uid>`,
    private to the user; an entry is used only for the same template text, Jinja and Python):
    compiling the two templates took about 5% of a report's time. A cache that cannot be
    read or written is only a slower report, never a failed one."""

    def load_bytecode(self, bucket: Bucket) -> None:
        with suppress(OSError):
            super().load_bytecode(bucket)

    def dump_bytecode(self, bucket: Bucket) -> None:
        with suppress(OSError):
            super().dump_bytecode(bucket)


def template_cache() -> BytecodeCache | None:
    try:
        return QuietBytecodeCache()
    except (OSError, RuntimeError):  # no private temp folder to be had: compile every time
        return None


def environment() -> Environment:
    """Jinja with autoescaping for HTML templates: names and ids from the data stay text."""
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        bytecode_cache=template_cache(),
        autoescape=lambda name: bool(name) and name.endswith(".html.j2"),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["css_string"] = css_string
    env.filters["code_spans"] = code_spans
    return env


def compose(data: marts.ReportData, lang: Lang, fonts: Fonts, generated_at: dt.datetime,
            renderer: ChartRenderer, while_charts_draw: Callable[[], object] | None = None,
            linked_charts: bool = False) -> tuple[str, PendingCharts]:
    """The report's HTML and its charts, submitted to `renderer`. `while_charts_draw()` runs
    right after the submission. With `linked_charts` the HTML refers to each chart as a
    `chart:N` link (write_pdf resolves them), else it holds the SVGs (waits for them)."""
    env = environment()
    fmt = Formatter(lang)
    t = Messages(lang)
    context, slots = build_context(data, fmt, t, fonts)
    pending = submit_slots(slots, renderer, [], linked_charts)
    try:
        if while_charts_draw is not None:
            while_charts_draw()
        css = env.get_template("report.css.j2").render(theme=theme, fonts=fonts, t=t,
                                                       heat_palette=theme.HEAT_PALETTE,
                                                       month=context["month_title"],
                                                       as_of=context["month_end"],
                                                       source=context["source_short"])
        html = env.get_template("report.html.j2").render(
            **context, css=Markup(css), lang=lang, t=t, fmt=fmt, theme=theme,
            generated_at=generated_at)
    except BaseException:
        pending.close()
        raise
    return html, pending


def render_html(data: marts.ReportData, lang: Lang, fonts: Fonts, generated_at: dt.datetime,
                renderer: ChartRenderer | None = None) -> str:
    """The report as one self-contained HTML document (CSS inline, charts as SVG images)."""
    with renderer or ChartRenderer(use_worker=False) as drawer:
        html, pending = compose(data, lang, fonts, generated_at, drawer)
    pending.close()
    return html


def write_atomic(target: Path, write: Callable[[Path], None]) -> None:
    """Call write(temp_path) for a temp file beside `target`, then rename it over `target`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(target)
    temp = temp_path(target)
    try:
        write(temp)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def write_pdf(html: str, target: Path, charts: PendingCharts | None = None) -> None:
    """The PDF of `html`; its `chart:N` links are resolved from `charts`. A chart of known size
    is given to the layout as a frame of that size at once and drawn into it when its page is
    painted, so the layout never waits for the chart worker. A chart that cannot be had stops
    the render: never a PDF with a chart missing. The contents' page numbers are written in
    (with_page_numbers) and checked after the layout; if a section ran onto more pages than
    counted, the document is laid out again with WeasyPrint's target-counter() numbers."""
    import weasyprint
    from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

    svg_text.install(weasyprint)  # chart labels drawn as one run each, not letter by letter
    blank_leaders.install(weasyprint)  # the contents' space leaders without blank copies
    content_widths.install(weasyprint)  # a table cell's text measured once for both widths
    failures: list[tuple[int, BaseException]] = []

    class ChartFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            framed = chart_index(url)
            drawn = chart_index(url, CHART_BODY_PREFIX)
            if charts is None or (framed is None and drawn is None):
                return super().fetch(url, headers)
            if framed is not None and charts.size_pt(framed) is not None:
                body = chart_frame(framed, *charts.size_pt(framed))
            else:
                index = framed if framed is not None else drawn
                assert index is not None
                try:
                    body = charts.get(index)
                except Exception as error:
                    # WeasyPrint paints an image it cannot fetch as nothing: keep the cause
                    failures.append((index, error))
                    raise
            return URLFetcherResponse(url, body=body.encode("utf-8"),
                                      headers={"Content-Type": "image/svg+xml"})

    def layout(text: str) -> Any:
        return weasyprint.HTML(string=text, base_url=str(TEMPLATES),
                               url_fetcher=ChartFetcher(fail_on_errors=True)).render()

    def write(temp: Path) -> None:
        numbered, pages = with_page_numbers(html)
        try:
            document = layout(numbered)
            laid_out = section_pages(document)
            if any(laid_out.get(key) != page for key, page in pages.items()):
                document = layout(html)  # a section took more pages: WeasyPrint's numbers
            document.write_pdf(str(temp))
        except FatalURLFetchingError as error:  # a BaseException: stop it here, one line
            cause = error.__cause__
            raise RetailTiersError(f"{target.name}: {error}: "
                                   f"{type(cause).__name__}: {cause}") from None
        if failures:
            index, cause = failures[0]
            raise RetailTiersError(f"{target.name}: {CHART_URL_PREFIX}{index} could not be "
                                   f"drawn: {type(cause).__name__}: {cause}")

    write_atomic(target, write)


SECTION_OR_PAGE_START = re.compile(r'<section class="page-start">|<h1 id="([^"]+)">')
PAGE_LINK = re.compile(r'<a href="#([^"]+)">')


def with_page_numbers(html: str) -> tuple[str, dict[str, int]]:
    """`html` with the page number of each section written into its contents and highlight
    links (`data-page`, which the stylesheet prints instead of a target-counter()), and the
    page each section heading is expected on: the cover is page 1, each section that starts a
    page starts the next one. write_pdf checks that against the laid-out pages.

    WeasyPrint lays out the pages holding target-counter() links two more times once it
    knows the pages (the second time for nothing: a WeasyPrint 70 bug counts `page` as a
    counter of the link itself); literal numbers need one layout."""
    pages: dict[str, int] = {}
    page = 1
    for match in SECTION_OR_PAGE_START.finditer(html):
        if match.group(1) is None:
            page += 1
        else:
            pages[match.group(1)] = page

    def numbered(link: re.Match[str]) -> str:
        key = link.group(1)
        return link.group(0) if key not in pages else f'<a href="#{key}" data-page="{pages[key]}">'

    return PAGE_LINK.sub(numbered, html), pages


def section_pages(document: Any) -> dict[str, int]:
    """The page (from 1) of each anchor of a laid-out WeasyPrint document."""
    return {anchor: number for number, page in enumerate(document.pages, start=1)
            for anchor in page.anchors}


def write_html(html: str, target: Path) -> None:
    write_atomic(target, lambda temp: temp.write_text(html, encoding="utf-8"))


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Python's cycle collector off for a while (reference counting still frees almost
    everything), then back as it was. A report keeps about 300,000 objects alive until the
    end of its render (boxes, styles, the marts), and the collector kept re-scanning them: a
    fifth of the report's CPU time, for a few thousand objects in cycles while it renders.
    A finished document is mostly cycles: render_reports collects each month's before the
    next."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def render_reports(request: ReportRequest, warehouse: Path | None = None,
                   project: Path | None = None,
                   renderer: ChartRenderer | None = None) -> list[Path]:
    """Render the requested month(s); returns the written files, the last one the latest.

    `renderer`: a chart renderer the caller started early (its worker imports matplotlib
    meanwhile); it is closed here in any case."""
    with cyclic_gc_paused():
        return _render_reports(request, warehouse, project, renderer)


def _render_reports(request: ReportRequest, warehouse: Path | None,
                    project: Path | None, renderer: ChartRenderer | None) -> list[Path]:
    drawer = renderer or ChartRenderer()  # the worker starts now, see reports.chartjobs
    written: list[Path] = []
    try:
        if request.lang not in LANGS:
            raise RetailTiersError(f"--lang {request.lang}: expected one of {', '.join(LANGS)}")
        if request.file_format not in FORMATS:
            raise RetailTiersError(f"--format {request.file_format}: expected pdf or html")
        pdf = request.file_format == "pdf"
        # WeasyPrint is imported and set up on a thread while fc-list looks for fonts and DuckDB
        # reads the marts (both run without the GIL, so they overlap); joined once the charts
        # are asked for
        importer = threading.Thread(target=_prepare_weasyprint, daemon=True) if pdf else None
        if importer is not None:
            importer.start()
        meanwhile = importer.join if importer is not None else None
        fonts = require_fonts(request.lang)
        project = project or project_dir()
        warehouse = warehouse or warehouse_path(project)
        out_dir = request.out_dir or default_out_dir(project)
        generated_at = dt.datetime.now().replace(microsecond=0)
        loaded = load_months(request, warehouse, project)
        for index, data in enumerate(loaded):
            target = out_dir / report_file_name(data.month, request.lang, request.file_format)
            html, charts = compose(data, request.lang, fonts, generated_at, drawer,
                                   meanwhile, linked_charts=pdf)
            try:
                if pdf:
                    write_pdf(html, target, charts)
                else:
                    write_html(html, target)
            finally:
                charts.close()  # the worker, done with this month's charts, draws the next's
            written.append(target)
            if index + 1 < len(loaded):
                gc.collect()  # this month's document: boxes and styles that point at each other
    finally:
        drawer.close()
    return written


def _prepare_weasyprint() -> None:
    """Import WeasyPrint and lay out a one-word page: its first layout sets up things once
    per process (cffi's C types, fontconfig, the default stylesheet). Pillow's image plugins
    are imported too: WeasyPrint offers every chart to Pillow before reading it as SVG, and
    Pillow imports them all the first time. Never raises: a failure here shows again, with
    its message, when the real report is rendered. WeasyPrint's C declarations come from a
    compiled copy and its libraries are opened without ~60 helper processes
    (reports.weasyprint_import)."""
    try:
        from PIL import Image

        from reports.weasyprint_import import import_weasyprint

        weasyprint = import_weasyprint()
        weasyprint.HTML(string="<p>.</p>").render()
        Image.init()
    except Exception:
        return


def load_months(request: ReportRequest, warehouse: Path,
                project: Path) -> list[marts.ReportData]:
    """Everything the requested months need, read in one short warehouse session."""
    con = connect(warehouse)
    try:
        require_tables(con, warehouse, ["report_months"])
        months = marts.available_months(con)
        if request.all_months:
            if request.month is not None:
                raise RetailTiersError("--all-months and --month: give one or the other")
            chosen = months
            if not chosen:
                marts.pick_month(months, None)
        else:
            chosen = [marts.pick_month(months, request.month)]
        return [marts.load_month(con, warehouse, project, month, months) for month in chosen]
    finally:
        con.close()
