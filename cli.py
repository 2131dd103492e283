"""retail-tiers command line: parses arguments and calls the functions that do the work.

Errors a user can cause are RetailTiersError and print as one line (exit 1). Set
RETAIL_TIERS_DEBUG=1 to see the traceback of an unexpected error.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
from pathlib import Path

import click

from retail_tiers.errors import RetailTiersError

ENCODINGS = click.Choice(["utf-8", "gb18030", "gbk"], case_sensitive=False)
PRESET_HELP = ("An import preset: a platform's or ERP's export mapped onto the contract "
               "(taobao, jushuitan, or the path of your own .yml; see docs/import.md).")
SHEET_HELP = ("The sheet to read in every Excel workbook (.xlsx) of the folder "
              "(default: each workbook's first sheet).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="retail-tiers")
def cli() -> None:
    """Customer tiering, customer value and monthly reports for retailers."""


@cli.command()
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True,
              help="Folder to write the dataset into (created if absent).")
@click.option("--customers", type=click.IntRange(min=1), default=3000, show_default=True)
@click.option("--months", type=click.IntRange(min=1, max=240), default=24, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--format", "file_format", type=click.Choice(["csv", "parquet"]), default="csv",
              show_default=True)
@click.option("--dirty-rate", type=click.FloatRange(min=0, max=0.5), default=0.01,
              show_default=True,
              help="Share of transaction lines and feedback responses made dirty, "
                   "spread over reasons.")
@click.option("--end-month", default="2026-10", show_default=True,
              help="Last simulated month (YYYY-MM).")
@click.option("--split-by", type=click.Choice(["none", "month"]), default="none",
              show_default=True,
              help="month: transactions/YYYY-MM.csv, one file per month, as a retailer adds them.")
def generate(out_dir: Path, customers: int, months: int, seed: int, file_format: str,
             dirty_rate: float, end_month: str, split_by: str) -> None:
    """Write a realistic synthetic dataset in the raw data contract, with manifest.json."""
    from retail_tiers.generate import GeneratorConfig, write_dataset

    config = GeneratorConfig(customers=customers, months=months, seed=seed,
                             file_format=file_format, dirty_rate=dirty_rate, end_month=end_month,
                             split_by=split_by)
    manifest = write_dataset(config, out_dir)
    click.echo(f"wrote {manifest['rows']['transactions']:,} transaction lines for "
               f"{customers:,} customers to {out_dir}")


@cli.command()
@click.option("--input", "input_dir", type=click.Path(path_type=Path), required=True,
              help="Folder with transactions.csv|parquet|xlsx and optional files.")
@click.option("--encoding", type=ENCODINGS, default=None,
              help="Encoding of CSV files [default: utf-8, or the preset's].")
@click.option("--sheet", default=None, metavar="NAME", help=SHEET_HELP)
@click.option("--preset", default=None, metavar="NAME", help=PRESET_HELP)
def check(input_dir: Path, encoding: str | None, sheet: str | None,
          preset: str | None) -> None:
    """Check a folder of raw files against the data contract (no warehouse is touched)."""
    from retail_tiers.check import check_input, format_report

    report = check_input(input_dir, encoding=encoding, sheet=sheet, preset=preset)
    click.echo(format_report(report))
    if not report.usable:
        raise RetailTiersError(report.first_error())


@cli.command()
@click.option("--input", "input_dir", type=click.Path(path_type=Path), default=None,
              help="Folder of raw files; without it the demo data in seeds/demo is used.")
@click.option("--as-of", "as_of", default=None, metavar="YYYY-MM-DD",
              help="Compute customer state as of this date (default: end of the latest "
                   "complete month in the data).")
@click.option("--encoding", type=ENCODINGS, default=None,
              help="Encoding of CSV files [default: utf-8, or the preset's].")
@click.option("--var", "extra_vars", multiple=True, metavar="NAME=VALUE",
              help="Override a dbt var, e.g. --var churn_days=120 (repeatable).")
@click.option("--sheet", default=None, metavar="NAME", help=SHEET_HELP)
@click.option("--preset", default=None, metavar="NAME", help=PRESET_HELP)
@click.option("--full-refresh", is_flag=True,
              help="Read every transactions file again, even when only new ones were added.")
@click.option("--target", type=click.Choice(["duckdb", "spark"]), default="duckdb",
              show_default=True,
              help="spark: build on a local SparkSession, then copy the marts into the "
                   "warehouse (docs/spark.md).")
def build(input_dir: Path | None, as_of: str | None, encoding: str | None,
          extra_vars: tuple[str, ...], sheet: str | None, preset: str | None,
          full_refresh: bool, target: str) -> None:
    """Build the warehouse with dbt and print a summary."""
    from retail_tiers.build import BuildOptions, run_build

    for option, value in (("--sheet", sheet), ("--preset", preset)):
        if value is not None and input_dir is None:
            raise RetailTiersError(f"{option}: give it with --input (it is not for the demo "
                                   "data)")
    options = BuildOptions(input_dir=input_dir, as_of=as_of, encoding=encoding,
                           extra_vars=extra_vars, sheet=sheet, preset=preset,
                           full_refresh=full_refresh)
    if target == "spark":
        from retail_tiers.spark_warehouse import run_spark_build

        summary = run_spark_build(options, echo=click.echo)
    else:
        summary = run_build(options, echo=click.echo)
    if not summary.success:
        raise RetailTiersError(summary.failure_line())


@cli.command()
@click.option("--month", default=None, metavar="YYYY-MM",
              help="Month to show (default: the as-of month of the last build).")
def kpis(month: str | None) -> None:
    """Print one month's KPIs and their change from the month before."""
    from retail_tiers.kpis import show_kpis
    from retail_tiers.project import warehouse_path

    click.echo(show_kpis(warehouse_path(), month))


@cli.command(epilog="Exit codes: 0 nothing to act on; 3 a notable change for the worse; "
                     "4 the last build's data checks failed; 1 the alerts could not be read.")
@click.option("--month", default=None, metavar="YYYY-MM",
              help="Month to check (default: the as-of month of the last build).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of lines.")
def alerts(month: str | None, as_json: bool) -> None:
    """The month's notable KPI changes, churn watchlist and failed data checks (预警)."""
    from retail_tiers.alerts import alerts_json, format_alerts, read_alerts
    from retail_tiers.project import warehouse_path

    found = read_alerts(warehouse_path(), month)
    click.echo(alerts_json(found) if as_json else "\n".join(format_alerts(found)))
    sys.exit(found.exit_code)


@cli.command()
@click.option("--month", default=None, metavar="YYYY-MM",
              help="Report month (default: the as-of month of the last build).")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
@click.option("--format", "file_format", type=click.Choice(["pdf", "html", "xlsx"]),
              default="pdf", show_default=True,
              help="pdf, html, or xlsx: the month's KPI, segment and campaign tables.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Folder for the report (default: reports/output in the project).")
@click.option("--all-months", is_flag=True,
              help="Render every month of the history (the last history_months months).")
def report(month: str | None, lang: str, file_format: str, out_dir: Path | None,
           all_months: bool) -> None:
    """Render the monthly customer report (A4 PDF, or HTML) from the warehouse."""
    if file_format == "xlsx":
        from reports.render import default_out_dir
        from reports.workbook import write_report_workbook
        from retail_tiers.project import project_dir, warehouse_path

        if all_months:
            raise RetailTiersError("--all-months: not with --format xlsx (one month per "
                                   "workbook: give --month)")
        path = write_report_workbook(warehouse_path(), month, lang,  # type: ignore[arg-type]
                                     out_dir or default_out_dir(project_dir()))
        click.echo(f"wrote {path}")
        return
    from reports.chartjobs import ChartRenderer

    renderer = ChartRenderer()  # first: its worker imports matplotlib while we import the rest
    from reports.render import ReportRequest, render_reports

    ends_process = started_as_command()
    if ends_process:
        gc.disable()  # see end_process: what the render leaves is not worth collecting
    paths = render_reports(ReportRequest(month=month, lang=lang, file_format=file_format,
                                         out_dir=out_dir, all_months=all_months),
                           renderer=renderer)
    for path in paths:
        click.echo(f"wrote {path}")
    if ends_process:
        end_process()


def started_as_command() -> bool:
    """Whether this process is `retail-tiers` itself (or `python cli.py`): its __main__ module
    calls this module's main. In-process callers, such as the tests, are not."""
    return getattr(sys.modules.get("__main__"), "main", None) is main


def end_process() -> None:
    """End a `retail-tiers report` process once its files are written and named: the exit
    handlers run and the output is flushed, but Python's teardown is skipped. A rendered
    report leaves about 300,000 objects (the laid-out pages, mostly in reference cycles); the
    cycle collector's pass over them when it was switched on again and the interpreter's
    teardown freed them one by one, about 0.17 s of a report's 3 s, for memory the system
    takes back at once when the process ends."""
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


@cli.command()
@click.option("--segment", default=None, metavar="NAME",
              help="Segment code, English or Chinese name (e.g. champions, \"At Risk\", "
                   "核心价值客户), or watchlist.")
@click.option("--left", "left_segment", default=None, metavar="NAME",
              help="Instead of --segment: the customers who left this segment this month.")
@click.option("--scheme", type=click.Choice(["rfm_grid", "rfm8"]), default=None,
              help="Segment scheme (default: the scheme of the build, var segment_scheme).")
@click.option("--out", "out_file", type=click.Path(path_type=Path), required=True,
              help="File to write (.csv, or .xlsx for an Excel workbook).")
@click.option("--format", "file_format", type=click.Choice(["csv", "xlsx"]), default=None,
              help="csv or xlsx (typed cells) [default: from the --out name, else csv].")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="Column titles: the column names (en) or Chinese titles (zh).")
def export(segment: str | None, left_segment: str | None, scheme: str | None,
           out_file: Path, file_format: str | None, lang: str) -> None:
    """Write a segment's customers (or the churn watchlist) to CSV or Excel for a campaign
    tool. A segment is named by its code, English or Chinese name (核心价值客户)."""
    from retail_tiers.export import export_segment
    from retail_tiers.project import warehouse_path

    if (segment is None) == (left_segment is None):
        raise RetailTiersError("export: give either --segment NAME or --left NAME")
    if file_format is None:
        file_format = "xlsx" if out_file.suffix.lower() == ".xlsx" else "csv"
    result = export_segment(warehouse_path(), segment or str(left_segment), out_file, scheme,
                            left=left_segment is not None, file_format=file_format, lang=lang)
    if result.notice:
        click.echo(f"note: {result.notice}")
    click.echo(f"wrote {result.rows:,} customers of {result.description} as of "
               f"{result.as_of} to {result.path}")


def main() -> None:
    """Console-script entry point: one line per user error, no traceback."""
    from retail_tiers.tempfiles import exit_cleanly_on_signals

    exit_cleanly_on_signals()
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except RetailTiersError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    except Exception as error:  # last resort: never a traceback for the user
        if os.environ.get("RETAIL_TIERS_DEBUG"):
            raise
        first_line = (str(error).strip().splitlines() or [""])[0]
        click.echo(f"error: unexpected {type(error).__name__}: {first_line} "
                   "(set RETAIL_TIERS_DEBUG=1 for details)", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
