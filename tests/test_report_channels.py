"""The stores, channels and cities page reads its figures from the marts and prints names,
not the codes of the user's data."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from conftest import PROJECT_DIR, Workspace, run_cli


def channels_section(workspace: Workspace, out: Path, lang: str) -> str:
    result = run_cli(["report", "--format", "html", "--lang", lang, "--out", str(out)], workspace)
    assert result.exit_code == 0, result.stdout + result.stderr
    html = next(out.glob("*.html")).read_text(encoding="utf-8")
    assert 'id="channels"' in html, "no channels section"
    start = html.index('id="channels"')
    section = html[start:html.index("</section>", start)]
    return re.sub(r"<[^>]+>", " ", section)


def test_channels_page_prints_names_and_mart_figures(demo_workspace: Workspace,
                                                     tmp_path: Path) -> None:
    text = channels_section(demo_workspace, tmp_path / "zh", "zh")
    with (PROJECT_DIR / "seeds" / "display_names.csv").open(encoding="utf-8") as handle:
        names = list(csv.DictReader(handle))
    codes = {row["code"] for row in names if row["kind"] in ("sales_channel",
                                                              "acquisition_channel")}
    channels = {value for (value,) in demo_workspace.query(
        "select distinct dimension_value from main.sales_by_channel_store_city "
        "where dimension = 'channel'")}
    assert channels <= codes, "every demo channel has a display name"
    for code in codes - {"app"}:  # 'app' is its own Chinese name
        assert re.search(rf"(?<![\w-]){re.escape(code)}(?![\w-])", text) is None, code
    for row in names:
        if row["kind"] == "sales_channel":
            assert row["name_zh"] in text
    top, member_share = demo_workspace.query(
        "select net_revenue_amount, member_revenue_share from main.sales_by_channel_store_city "
        "where dimension = 'all' and month_start_on = (select max(month_start_on) "
        "from main.sales_by_channel_store_city)")[0]
    assert f"{member_share * 100:.1f}%" in text
    best = demo_workspace.query(
        "select net_revenue_amount from main.sales_by_channel_store_city "
        "where dimension = 'channel' and month_start_on = (select max(month_start_on) "
        "from main.sales_by_channel_store_city) order by net_revenue_amount desc limit 1")[0][0]
    assert f"¥{round(best):,}" in text
    assert top >= best
