"""`retail-tiers export`: a segment's customers or the churn watchlist as CSV, checked against
the customer marts queried here; unknown names and failed writes."""

from __future__ import annotations

import codecs
import csv
from pathlib import Path

import duckdb
import pytest
from conftest import Workspace, run_cli

from retail_tiers.export import copy_atomic, text_cell


def read_csv(path: Path) -> list[dict[str, str]]:
    assert path.read_bytes()[:3] == codecs.BOM_UTF8, "no UTF-8 byte order mark"
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def biggest_segment(workspace: Workspace, column: str) -> tuple[str, str, set[str]]:
    """(code, English name, customer ids) of the largest segment at the as-of date."""
    code = workspace.scalar(f"""
        select {column} from main.customer_monthly_history
        where month_end_on = (select max(month_end_on) from main.customer_monthly_history)
        group by 1 order by count(*) desc, 1 limit 1
    """)
    name = workspace.scalar("select max(segment_name_en) from main.segment_rules "
                            "where segment_code = ?", [code])
    ids = {row[0] for row in workspace.query(f"""
        select customer_id from main.customer_monthly_history
        where month_end_on = (select max(month_end_on) from main.customer_monthly_history)
            and {column} = ?
    """, [code])}
    return code, name, ids


def test_export_by_code_or_english_name(demo_workspace: Workspace, tmp_path: Path) -> None:
    code, name, ids = biggest_segment(demo_workspace, "rfm_grid_segment_code")
    by_code, by_name = tmp_path / "by_code.csv", tmp_path / "by_name.csv"
    first = run_cli(["export", "--segment", code, "--out", str(by_code)], demo_workspace)
    second = run_cli(["export", "--segment", name.upper(), "--scheme", "rfm_grid",
                      "--out", str(by_name)], demo_workspace)
    assert first.exit_code == 0 and second.exit_code == 0, first.stderr + second.stderr
    rows = read_csv(by_code)
    assert {row["customer_id"] for row in rows} == ids
    assert {row["segment_code"] for row in rows} == {code}
    assert by_code.read_bytes() == by_name.read_bytes()
    assert f"wrote {len(ids):,} customers of segment {name} (rfm_grid)" in first.stdout
    assert {"customer_id", "segment_code", "lifecycle_stage", "days_since_last_order",
            "lifetime_orders", "lifetime_net_revenue", "predicted_clv",
            "churn_probability"} <= set(rows[0])


def test_export_rfm8_scheme(demo_workspace: Workspace, tmp_path: Path) -> None:
    code, _, ids = biggest_segment(demo_workspace, "rfm8_segment_code")
    out = tmp_path / "rfm8.csv"
    result = run_cli(["export", "--segment", code, "--scheme", "rfm8", "--out", str(out)],
                     demo_workspace)
    assert result.exit_code == 0, result.stderr
    assert {row["customer_id"] for row in read_csv(out)} == ids


def test_export_watchlist_in_rank_order(demo_workspace: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "watchlist.csv"
    result = run_cli(["export", "--segment", "watchlist", "--out", str(out)], demo_workspace)
    assert result.exit_code == 0, result.stderr
    expected = [row[0] for row in demo_workspace.query(
        "select customer_id from main.churn_watchlist order by watchlist_rank")]
    assert [row["customer_id"] for row in read_csv(out)] == expected


def test_unknown_segment_lists_the_valid_names(demo_workspace: Workspace,
                                               tmp_path: Path) -> None:
    out = tmp_path / "nothing.csv"
    result = run_cli(["export", "--segment", "vip", "--out", str(out)], demo_workspace)
    assert result.exit_code == 1
    codes = [row[0] for row in demo_workspace.query(
        "select distinct segment_code from main.segment_rules where scheme = 'rfm_grid'")]
    for code in codes:
        assert code in result.error
    assert result.error.startswith("error: --segment vip: no such segment in scheme rfm_grid")
    assert result.error.endswith("or watchlist")
    assert not out.exists()


def test_failed_export_leaves_the_old_file_and_no_temp(demo_workspace: Workspace,
                                                      tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from retail_tiers import export

    out = tmp_path / "segment.csv"
    out.write_text("old list\n", encoding="utf-8")
    code, _, _ = biggest_segment(demo_workspace, "rfm_grid_segment_code")

    def broken_replace(source: object, target: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(export.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        export.export_segment(demo_workspace.warehouse, code, out, "rfm_grid")
    assert out.read_text(encoding="utf-8") == "old list\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["segment.csv"]


def test_formula_like_text_cells_are_guarded(tmp_path: Path) -> None:
    """Ids and names starting with = + - @ (or a tab) open as text in Excel, not formulas;
    numbers, negative ones too, stay numbers."""
    values = ["=HYPERLINK(\"http://x\",\"y\")", "@SUM(A1:A9)", "+86 138", "-1", "\tx",
              "C001", "生鲜食品"]
    con = duckdb.connect()
    try:
        out = tmp_path / "guarded.csv"
        rows = copy_atomic(con, f"""
            select {text_cell("value", "customer_id")}, amount
            from (select unnest($values) as value, -5.5 as amount)
        """, {"values": values}, out)
    finally:
        con.close()
    assert rows == len(values)
    read = read_csv(out)
    assert [row["customer_id"] for row in read] == [
        "'=HYPERLINK(\"http://x\",\"y\")", "'@SUM(A1:A9)", "'+86 138", "'-1", "'\tx", "C001",
        "生鲜食品"]
    assert {row["amount"] for row in read} == {"-5.5"}
    assert not list(tmp_path.glob(".*.tmp"))


def test_no_customers_is_one_line_not_an_empty_file(workspace: Workspace,
                                                    tmp_path: Path) -> None:
    workspace.warehouse.parent.mkdir(parents=True)
    con = duckdb.connect(str(workspace.warehouse))
    try:
        con.execute("create table customers (customer_id varchar, as_of_date date)")
        con.execute("create table segment_summary (scheme varchar, segment_code varchar)")
        con.execute("create table customer_predictions (customer_id varchar)")
    finally:
        con.close()
    out = tmp_path / "out.csv"
    result = run_cli(["export", "--segment", "watchlist", "--out", str(out)], workspace)
    assert result.exit_code == 1
    assert result.error == (f"error: warehouse {workspace.warehouse} has no customers (no "
                            "purchase up to its as-of date): nothing to export; check the "
                            "input and --as-of of the build")
    assert not out.exists()
