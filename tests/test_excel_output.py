"""Excel output: `export --format xlsx` and `report --format xlsx`, read back with openpyxl
and checked, cell by cell, against the warehouse: typed cells, a header row, frozen panes,
Chinese titles with --lang zh, and Chinese segment names for --segment."""

from __future__ import annotations

import codecs
import datetime as dt
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from conftest import Workspace, run_cli

from retail_tiers.workbook import Sheet, write_workbook

CHAMPIONS_ZH = "核心价值客户"


def segment_rows(workspace: Workspace, code: str) -> list[tuple]:
    return workspace.query("""
        select customers.customer_id, customers.last_order_on, customers.lifetime_orders,
               customers.lifetime_net_revenue, customers.r_score
        from main.customers as customers
        where customers.rfm_grid_segment_code = ?
        order by customers.monetary_amount desc, customers.customer_id
    """, [code])


def sheet_rows(path: Path) -> tuple[openpyxl.worksheet.worksheet.Worksheet, list[dict]]:
    workbook = openpyxl.load_workbook(path)
    sheet = workbook.worksheets[0]
    header = [cell.value for cell in sheet[1]]
    return sheet, [dict(zip(header, (cell.value for cell in row), strict=True))
                   for row in sheet.iter_rows(min_row=2)]


def test_export_xlsx_by_chinese_segment_name_with_chinese_titles(
        demo_workspace: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "champions.xlsx"
    result = run_cli(["export", "--segment", CHAMPIONS_ZH, "--lang", "zh", "--out", str(out)],
                     demo_workspace)
    assert result.exit_code == 0, result.stderr
    expected = segment_rows(demo_workspace, "champions")
    assert len(expected) > 20
    assert f"wrote {len(expected):,} customers of segment Champions (rfm_grid)" in result.stdout
    sheet, rows = sheet_rows(out)
    assert sheet.freeze_panes == "A2"
    assert sheet.title == "champions"
    header = [cell.value for cell in sheet[1]]
    assert header[:4] == ["客户编号", "分层代码", "分层（英文）", "分层"]
    assert all(cell.font.bold for cell in sheet[1])
    assert len(rows) == len(expected)
    for row, (customer_id, last_order_on, orders, revenue, r_score) in zip(
            rows, expected, strict=True):
        assert row["客户编号"] == customer_id
        assert row["分层"] == CHAMPIONS_ZH
        assert row["最近购买日"] == dt.datetime.combine(last_order_on, dt.time())  # a date cell
        assert isinstance(row["累计订单数"], int) and row["累计订单数"] == orders
        # a number cell (openpyxl reads a whole one as int), equal to the cent
        assert type(row["累计净销售额"]) in (int, float)
        assert Decimal(repr(row["累计净销售额"])) == revenue
        assert row["R 分"] == r_score
    money = sheet.cell(row=2, column=header.index("累计净销售额") + 1)
    assert money.data_type == "n" and money.number_format == "#,##0.00"


def test_export_accepts_the_chinese_name_as_the_code(demo_workspace: Workspace,
                                                     tmp_path: Path) -> None:
    by_name, by_code = tmp_path / "zh.csv", tmp_path / "code.csv"
    first = run_cli(["export", "--segment", CHAMPIONS_ZH, "--out", str(by_name)],
                    demo_workspace)
    second = run_cli(["export", "--segment", "champions", "--out", str(by_code)],
                     demo_workspace)
    assert first.exit_code == 0 and second.exit_code == 0, first.stderr + second.stderr
    assert by_name.read_bytes() == by_code.read_bytes()
    assert by_name.read_bytes().startswith(codecs.BOM_UTF8 + b"customer_id,")


def test_export_xlsx_in_english_keeps_the_column_names(demo_workspace: Workspace,
                                                       tmp_path: Path) -> None:
    out = tmp_path / "watchlist.xlsx"
    result = run_cli(["export", "--segment", "watchlist", "--format", "xlsx", "--out",
                      str(out)], demo_workspace)
    assert result.exit_code == 0, result.stderr
    sheet, rows = sheet_rows(out)
    expected = demo_workspace.query("select watchlist_rank, customer_id "
                                    "from main.churn_watchlist order by watchlist_rank")
    assert [(row["watchlist_rank"], row["customer_id"]) for row in rows] == expected
    assert [cell.value for cell in sheet[1]][:3] == ["watchlist_rank", "customer_id",
                                                    "segment_code"]


def test_text_that_looks_like_a_formula_stays_text(tmp_path: Path) -> None:
    out = tmp_path / "t.xlsx"
    write_workbook(out, [Sheet("s", ["customer_id", "lifetime_net_revenue"],
                               ["customer_id", "lifetime_net_revenue"],
                               [["=HYPERLINK(\"http://x\")", Decimal("12.35")],
                                ["@SUM(A1)", None]])])
    sheet = openpyxl.load_workbook(out).worksheets[0]
    assert sheet["A2"].value == "=HYPERLINK(\"http://x\")" and sheet["A2"].data_type == "s"
    assert sheet["A3"].data_type == "s"
    assert sheet["B2"].value == 12.35 and sheet["B3"].value is None


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_report_workbook_has_the_months_kpi_segment_and_campaign_tables(
        demo_workspace: Workspace, tmp_path: Path, lang: str) -> None:
    result = run_cli(["report", "--format", "xlsx", "--lang", lang, "--month", "2026-09",
                      "--out", str(tmp_path)], demo_workspace)
    assert result.exit_code == 0, result.stderr
    path = tmp_path / f"customer-report-2026-09-{lang}.xlsx"
    assert result.stdout.strip() == f"wrote {path}"
    workbook = openpyxl.load_workbook(path)
    names = {"en": ["KPIs", "Segments", "Campaigns"], "zh": ["关键指标", "客户分层", "营销活动"]}
    assert workbook.sheetnames == names[lang]
    kpis, segments, campaigns = workbook.worksheets
    assert all(sheet.freeze_panes == "A2" for sheet in workbook.worksheets)

    expected_kpis = demo_workspace.query(
        "select kpi_code, value, previous_value from main.report_kpi_changes "
        "where month_start_on = date '2026-09-01' order by kpi_order")
    found = [(row[0].value, row[2].value, row[3].value) for row in kpis.iter_rows(min_row=2)]
    assert [row[0] for row in found] == [row[0] for row in expected_kpis]
    for (_, value, previous), (code, expected, expected_previous) in zip(
            found, expected_kpis, strict=True):
        assert value == pytest.approx(float(expected), rel=1e-12) if expected is not None \
            else value is None, code
        assert previous == pytest.approx(float(expected_previous), rel=1e-12) \
            if expected_previous is not None else previous is None, code
    if lang == "zh":
        assert kpis["B2"].value == "净销售额" and kpis["A1"].value == "指标代码"

    expected_segments = demo_workspace.query(
        "select segment_code, customer_count from main.report_segment_months "
        "where month_end_on = date '2026-09-30' and is_active_scheme "
        "order by segment_priority, segment_code")
    assert [(row[0].value, row[3].value) for row in segments.iter_rows(min_row=2)] \
        == expected_segments
    starts = [row[3].value for row in campaigns.iter_rows(min_row=2)]
    expected_campaigns = demo_workspace.scalar(
        "select count(*) from main.campaign_performance where starts_on <= date '2026-09-30' "
        "and starts_on > date '2025-09-30'")
    assert len(starts) == expected_campaigns > 0
    assert all(isinstance(start, dt.datetime) for start in starts)
