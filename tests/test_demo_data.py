"""The committed demo seeds are the generator's output, and a build accounts for every row
exactly as the generator's manifest says (counts per quarantine reason, guests, revenue)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from conftest import PROJECT_DIR, Workspace

from retail_tiers.demo_data import write_demo_seeds

SEEDS = PROJECT_DIR / "seeds" / "demo"


def test_committed_demo_seeds_are_the_generator_output(tmp_path: Path) -> None:
    write_demo_seeds(tmp_path)
    generated = sorted(path.name for path in tmp_path.iterdir())
    assert generated == sorted(path.name for path in SEEDS.iterdir()
                               if path.suffix in {".csv", ".json"})
    for name in generated:
        assert (tmp_path / name).read_bytes() == (SEEDS / name).read_bytes(), (
            f"seeds/demo/{name} differs from the generator's output: run `make demo-data`")


def test_demo_build_quarantines_exactly_what_the_manifest_planted(
        demo_workspace: Workspace) -> None:
    manifest = json.loads((SEEDS / "manifest.json").read_text())
    for source_file in ("transactions", "feedback"):
        planted = {reason: count for reason, count
                   in manifest[source_file]["quarantined_by_reason"].items() if count}
        found = dict(demo_workspace.query(
            "select quarantine_reason, count(*) from quarantined_rows "
            "where source_file = ? group by quarantine_reason", [source_file]))
        assert found == planted, source_file
    raw_rows, quarantined = demo_workspace.query(
        "select raw_rows, quarantined_rows from row_accounting where source_file = 'feedback'")[0]
    assert raw_rows == manifest["rows"]["feedback"] == manifest["feedback"]["total_rows"]
    assert quarantined == manifest["feedback"]["dirty_rows"]


def test_demo_build_accounts_for_every_line(demo_workspace: Workspace) -> None:
    manifest = json.loads((SEEDS / "manifest.json").read_text())
    truth = manifest["transactions"]
    raw_rows, clean_rows, quarantined, guests = demo_workspace.query(
        "select raw_rows, clean_rows, quarantined_rows, guest_rows from row_accounting "
        "where source_file = 'transactions'")[0]
    assert raw_rows == truth["total_lines"] == manifest["rows"]["transactions"]
    assert clean_rows == truth["clean_lines"]
    assert quarantined == truth["dirty_lines"]
    assert guests == truth["guest_lines"]


def test_demo_build_net_revenue_matches_the_manifest_to_the_cent(
        demo_workspace: Workspace) -> None:
    manifest = json.loads((SEEDS / "manifest.json").read_text())
    expected = Decimal(manifest["transactions"]["clean_net_revenue_cents"]) / 100
    lines = demo_workspace.scalar("select sum(net_amount) from intermediate.int_transaction_lines")
    orders = demo_workspace.scalar("select sum(net_revenue) from intermediate.int_orders_netted")
    assert Decimal(lines) == expected
    assert Decimal(orders) == expected
