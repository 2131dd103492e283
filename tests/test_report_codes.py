"""The Chinese report prints names, not the codes of the data: categories, channels, campaign
channels, acquisition channels, quarantine reasons and raw file names each have a Chinese
label, and none of the demo's codes appears in the Chinese report's text."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pypdf
import pytest
from conftest import PROJECT_DIR, Workspace, run_cli

from reports.i18n import Messages
from retail_tiers.contract import RAW_FILES


def staging_reasons() -> set[str]:
    reasons: set[str] = set()
    for spec in RAW_FILES:
        sql = (PROJECT_DIR / "models" / "staging" / f"stg_{spec.name}.sql").read_text()
        reasons |= set(re.findall(r"then '([a-z_]+)'", sql))
    return reasons - {"promoter", "passive", "detractor"}  # NPS groups, not reasons


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_reason_and_file_has_a_label(lang: str) -> None:
    t = Messages(lang)
    missing = sorted(code for code in staging_reasons() if not t.has(f"reason.{code}"))
    assert not missing, f"{lang}: quarantine reasons without a label: {missing}"
    files = sorted(spec.name for spec in RAW_FILES if not t.has(f"file.{spec.name}"))
    assert not files, f"{lang}: raw files without a label: {files}"


def demo_codes(workspace: Workspace) -> set[str]:
    codes = {value for (value,) in workspace.query(
        "select distinct category from staging.stg_transactions where category is not null "
        "union select distinct channel from staging.stg_transactions where channel is not null "
        "union select distinct channel from staging.stg_campaigns where channel is not null "
        "union select distinct acquisition_channel from staging.stg_customers "
        "where acquisition_channel is not null "
        "union select distinct quarantine_reason from main.quarantined_rows")}
    codes |= {spec.name for spec in RAW_FILES}
    with (PROJECT_DIR / "seeds" / "display_names.csv").open(encoding="utf-8") as handle:
        same_in_chinese = {row["code"] for row in csv.DictReader(handle)
                           if row["code"] == row["name_zh"]}  # e.g. 'app' is 'App' in Chinese too
    return {code for code in codes if code.casefold() not in
            {name.casefold() for name in same_in_chinese}}


def test_no_raw_code_in_the_chinese_report(demo_workspace: Workspace, tmp_path: Path) -> None:
    result = run_cli(["report", "--lang", "zh", "--out", str(tmp_path)], demo_workspace)
    assert result.exit_code == 0, result.stderr
    pdf = next(tmp_path.glob("*.pdf"))
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(str(pdf)).pages)
    # commands to run are code by nature: leave out the lines that show them
    text = "\n".join(line for line in text.splitlines() if "retail-tiers" not in line)
    # the extraction reads Chinese: the display names stand where the codes would be
    assert "客户分层" in text and "生鲜食品" in text and "短信" in text and "问卷反馈" in text
    codes = demo_codes(demo_workspace)
    assert len(codes) > 20
    found = sorted(code for code in codes
                   if re.search(rf"(?<![\w/-]){re.escape(code)}(?![\w-])", text))
    assert not found, f"raw codes in the Chinese report: {found}"
