"""Segment rules are data: editing seeds/segment_rules.csv alone moves customers.

The project's dbt files are copied to tmp (the repository's CSV is never touched), one row of
the copy's segment_rules.csv is edited the way an analyst would, and only the seed and the
customer models downstream of it are rebuilt on a copy of the generated warehouse. A broken
rule table (or threshold table) must fail the build.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from conftest import PROJECT_DIR, GeneratedBuild, Workspace, copy_project, edit_row, run_cli
from test_customers import (
    first_matching_segment,
    read_rules,
    run_dbt,
)

RULES_CSV = Path("seeds") / "segment_rules.csv"
THRESHOLDS_CSV = Path("seeds") / "rfm_thresholds.csv"


@pytest.fixture(scope="module")
def built(generated_build: GeneratedBuild) -> Workspace:
    return generated_build.workspace


def drop_row(csv_path: Path, row_start: str) -> None:
    lines = csv_path.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith(row_start)]
    assert len(kept) == len(lines) - 1, row_start
    csv_path.write_text("".join(kept), encoding="utf-8")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def as_of_segments(workspace: Workspace) -> dict[str, tuple[int, int, int, str, str, bool]]:
    rows = workspace.query(
        "select customer_id, r_score, f_score, m_score, rfm_grid_segment_code, segment_code, "
        "is_new_customer from main.customers")
    return {row[0]: row[1:] for row in rows}


def test_editing_one_rule_row_moves_customers(built: Workspace, tmp_path: Path) -> None:
    repo_csv_digest = digest(PROJECT_DIR / RULES_CSV)
    project = copy_project(tmp_path / "project")
    # Champions: R 5 -> R 4-5 (FM 4-5 unchanged); priority 10 puts it before Loyal (R 3-4)
    edit_row(project / RULES_CSV, "rfm_grid,10,champions,", ",5,5,4,5,,", ",4,5,4,5,,")
    workspace = built.copy_to(tmp_path / "workspace")
    before = as_of_segments(workspace)
    history_before = workspace.scalar(
        "select count(*) from main.customer_monthly_history where rfm_grid_segment_code = "
        "'champions'")

    # only the seed and the customer models below it (tests of other models wait for theirs)
    run_dbt(["build", "--select", "segment_rules", "int_segment_rules_resolved",
             "int_customer_months_classified", "customers", "report_segment_months",
             "segment_summary",
             "--indirect-selection", "cautious"], workspace, project)

    after = as_of_segments(workspace)
    assert digest(PROJECT_DIR / RULES_CSV) == repo_csv_digest, "the repository's CSV changed"
    assert before.keys() == after.keys()
    moved = {customer for customer in before if before[customer][3] != after[customer][3]}
    assert moved, "no customer moved"
    rules = read_rules(project / RULES_CSV)
    for customer, (r_score, f_score, m_score, _, active, is_new) in after.items():
        assert (r_score, f_score, m_score) == before[customer][:3], "scores changed"
        fm_score = (f_score + m_score + 1) // 2
        expected = first_matching_segment(rules, "rfm_grid", r_score, fm_score, "000", is_new)
        assert after[customer][3] == expected
        assert active == after[customer][3]  # rfm_grid is the active scheme
    for customer in moved:
        r_score, f_score, m_score = before[customer][:3]
        assert r_score == 4 and (f_score + m_score + 1) // 2 >= 4
        assert (before[customer][3], after[customer][3]) == ("loyal", "champions")
    summary = dict(workspace.query(
        "select segment_code, customer_count from main.segment_summary "
        "where scheme = 'rfm_grid'"))
    assert summary["champions"] == sum(1 for values in after.values()
                                       if values[3] == "champions")
    history_after = workspace.scalar(
        "select count(*) from main.customer_monthly_history where rfm_grid_segment_code = "
        "'champions'")
    assert history_after > history_before  # every month end follows the new rule


def test_rule_tables_with_holes_fail_the_build_naming_the_cells(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    drop_row(project / RULES_CSV, "rfm_grid,50,promising,")  # (R 4-5, FM 1) of customers
    # who are not new has no segment left (New holds only the new ones)
    edit_row(project / THRESHOLDS_CSV, "f,4,", "4,6", "4,5")  # F = 5 has no band
    workspace = Workspace(tmp_path / "workspace")
    result = run_cli(["build"], workspace, extra_env={"RETAIL_TIERS_PROJECT_DIR": str(project)})
    assert result.exit_code != 0, result.stdout[-3000:]
    out = result.stdout
    assert "FAIL" in out and "assert_segment_rules_cover_every_cell" in out, out[-3000:]
    # the build names the uncovered cells and the band, not just the failing test
    for cell in ("R 4, FM 1", "R 5, FM 1"):
        assert ("assert_segment_rules_cover_every_cell: seeds/segment_rules.csv, scheme "
                f"rfm_grid: no segment for {cell}") in out, out[-3000:]
    assert "seeds/rfm_thresholds.csv, dimension f: " in out, out[-3000:]
    # what depends on the rules is skipped and counted, not listed line by line
    assert " skipped " not in "\n".join(line for line in out.splitlines()
                                        if line.startswith("  ["))
    assert re.search(r"\d+ skipped \(they depend on what failed\)", out), out[-3000:]
