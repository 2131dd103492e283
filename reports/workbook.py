"""`retail-tiers report --format xlsx`: the month's KPI, segment and campaign tables as an
Excel workbook, one sheet each, typed cells (retail_tiers/workbook.py), read from the same
marts and with the same month rules as the PDF (reports/data.py).
"""

from __future__ import annotations

from pathlib import Path

from reports import data as marts
from reports.i18n import Lang, Messages
from retail_tiers.export import column_titles
from retail_tiers.warehouse import connect, require_tables
from retail_tiers.workbook import Sheet, write_workbook

CAMPAIGN_MONTHS = marts.CAMPAIGN_MONTHS
KPI_COLUMNS = ["kpi_code", "kpi_name", "value", "previous_value", "change_amount",
               "change_rate", "year_ago_value", "year_over_year_change_rate"]
SEGMENT_COLUMNS = ["segment_code", "segment_name_en", "segment_name_zh", "customer_count",
                   "customer_share_rate", "month_net_revenue", "revenue_share_rate",
                   "average_order_value_amount", "mean_historical_clv_amount",
                   "mean_days_since_last_order", "mean_frequency_orders", "action_en",
                   "action_zh"]
CAMPAIGN_COLUMNS = ["campaign_id", "campaign_name", "channel", "starts_on", "ends_on",
                    "contacted_customer_count", "converted_customer_count", "conversion_rate",
                    "control_conversion_rate", "conversion_uplift", "conversion_uplift_lower",
                    "conversion_uplift_upper", "attributed_net_revenue_amount", "cost_amount",
                    "roi", "incremental_gross_margin_amount", "incremental_roi"]


def write_report_workbook(warehouse: Path, month: str | None, lang: Lang,
                          out_dir: Path) -> Path:
    """The workbook of `month` (default: the as-of month) in `out_dir`; returns its path."""
    t = Messages(lang)
    con = connect(warehouse)
    try:
        require_tables(con, warehouse, ["report_months", "report_kpi_changes",
                                        "report_segment_months", "campaign_performance"])
        chosen = marts.pick_month(marts.available_months(con), month)
        kpis = list(marts.kpi_changes(con, chosen).values())
        segments = marts.segments(con, chosen)
        campaigns = marts.campaigns(con, chosen, CAMPAIGN_MONTHS)
    finally:
        con.close()
    for row in kpis:
        code = row["kpi_code"]
        row["kpi_name"] = t(f"kpi.{code}") if t.has(f"kpi.{code}") else code
    target = out_dir / f"customer-report-{chosen.label}-{lang}.xlsx"
    sheets = [
        Sheet(t("workbook.kpis"), KPI_COLUMNS, column_titles(KPI_COLUMNS, lang),
              [[row.get(column) for column in KPI_COLUMNS] for row in kpis]),
        Sheet(t("workbook.segments"), SEGMENT_COLUMNS, column_titles(SEGMENT_COLUMNS, lang),
              [[row.get(column) for column in SEGMENT_COLUMNS] for row in segments]),
        Sheet(t("workbook.campaigns"), CAMPAIGN_COLUMNS, column_titles(CAMPAIGN_COLUMNS, lang),
              [[row.get(column) for column in CAMPAIGN_COLUMNS] for row in campaigns]),
    ]
    write_workbook(target, sheets)
    return target
