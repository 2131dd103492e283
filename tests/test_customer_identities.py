"""One customer across shops: the optional customer_identities file.

The same generated sales are built twice: once with each customer's own id, and once as the
shops would export them, a different buyer id per shop (`a_C0001` in store S000, `b_C0001` in
the other stores, `web_C0001` online), with a customer_identities file mapping those ids
back to the customer. Every customer's orders and revenue must come out the same, except for
the one customer whose online id the file leaves out: that id stays a customer of its own,
and the audit counts it as unresolved.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest
from conftest import CliResult, Workspace, csv_text, run_cli

from reports.data import identity_audit
from reports.formats import Formatter
from reports.i18n import Messages
from reports.sections import Sections
from retail_tiers.generate import GeneratorConfig, write_dataset

BASE = {"customers": 150, "months": 14, "seed": 31, "end_month": "2024-06", "dirty_rate": 0}


def platform_id(row: dict[str, str]) -> str:
    prefix = {"": "web", "S000": "a"}.get(row["store_id"], "b")
    return f"{prefix}_{row['customer_id']}"


def store_of(prefix: str) -> str:
    return {"a": "S000", "web": ""}.get(prefix, "")


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("identities")
    original = root / "original"
    write_dataset(GeneratorConfig(**BASE), original)
    for name in ("customers", "campaigns", "campaign_contacts", "feedback"):
        (original / f"{name}.csv").unlink()
    text = (original / "transactions.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    columns = list(rows[0])
    # the customer whose online id the identities file leaves out: one who buys both online
    # and in a store
    online = {row["customer_id"] for row in rows if row["store_id"] == ""}
    in_store = {row["customer_id"] for row in rows if row["store_id"] != ""}
    left_out = min((online & in_store) - {""})

    shops = root / "shops"
    shops.mkdir()
    split = [{**row, "customer_id": platform_id(row) if row["customer_id"] else ""}
             for row in rows]
    (shops / "transactions.csv").write_text(csv_text(split, columns), encoding="utf-8")
    pairs = sorted({(row["store_id"], platform_id(row), row["customer_id"]) for row in rows
                    if row["customer_id"]})
    identities = []
    for store, platform, customer in pairs:
        if platform == f"web_{left_out}":
            continue
        # ids of the other stores are given per store; a-ids and web-ids for every store
        prefix = platform.split("_")[0]
        identities.append({"store_id": store if prefix == "b" else "",
                           "customer_id": platform, "customer_key": customer})
    identities = list({(row["store_id"], row["customer_id"]): row
                       for row in identities}.values())
    every_store = next(row for row in identities if row["store_id"] == "")
    # the same id mapped again, to someone else: the first mapping keeps it
    broken = [{**every_store, "customer_key": "someone else"},
              {"store_id": "S001", "customer_id": "x", "customer_key": ""}]
    (shops / "customer_identities.csv").write_text(
        csv_text(identities + broken, ["store_id", "customer_id", "customer_key"]),
        encoding="utf-8")

    results: dict[str, object] = {"rows": rows, "pairs": pairs, "left_out": left_out,
                                  "duplicated": every_store["customer_id"]}
    for name, folder in (("original", original), ("shops", shops)):
        workspace = Workspace(root / f"{name}_build")
        result: CliResult = run_cli(["build", "--input", str(folder)], workspace)
        assert result.exit_code == 0, result.stderr + result.stdout[-3000:]
        results[name] = workspace
    return results


CUSTOMER_FIGURES = ("select customer_id, first_order_on, last_order_on, lifetime_orders, "
                    "lifetime_net_revenue from main.customers")


def test_customers_are_stitched_across_shops(builds) -> None:
    original, shops, left_out = builds["original"], builds["shops"], builds["left_out"]
    expected = {row[0]: row for row in original.query(CUSTOMER_FIGURES)}
    found = {row[0]: row for row in shops.query(CUSTOMER_FIGURES)}
    assert len(expected) > 100
    # every customer but the one left out is the same customer with the same figures
    for customer_id, figures in expected.items():
        if customer_id != left_out:
            assert found[customer_id] == figures
    # the left-out customer's online id is a customer of its own, beside its store self
    assert set(found) - set(expected) == {f"web_{left_out}"}
    assert left_out in found


def test_the_audit_counts_stitched_and_unresolved_ids(builds) -> None:
    shops, pairs, left_out = builds["shops"], builds["pairs"], builds["left_out"]
    audit = dict(zip(
        ["identity_rows", "quarantined_identity_rows", "platform_id_count",
         "stitched_id_count", "unresolved_id_count", "stitch_rate",
         "customers_before_stitching", "customer_count"],
        shops.query("select identity_rows, quarantined_identity_rows, platform_id_count, "
                    "stitched_id_count, unresolved_id_count, stitch_rate, "
                    "customers_before_stitching, customer_count "
                    "from main.customer_identity_audit")[0], strict=True))
    platform_ids = {(store, platform) for store, platform, _ in pairs}
    unresolved = {(store, platform) for store, platform in platform_ids
                  if platform == f"web_{left_out}"}
    assert audit["platform_id_count"] == len(platform_ids)
    assert audit["unresolved_id_count"] == len(unresolved) == 1
    assert audit["stitched_id_count"] == len(platform_ids) - 1
    assert audit["stitch_rate"] == pytest.approx((len(platform_ids) - 1) / len(platform_ids))
    assert audit["quarantined_identity_rows"] == 2
    customers = {customer for _, _, customer in pairs}
    assert audit["customer_count"] == len(customers) + 1
    assert audit["customers_before_stitching"] == len({platform for _, platform in
                                                       platform_ids})
    listed = shops.query("select store_id, platform_customer_id, line_count "
                         "from main.unresolved_customer_ids")
    lines = sum(1 for row in builds["rows"]
                if row["customer_id"] == left_out and row["store_id"] == "")
    assert listed == [(None, f"web_{left_out}", lines)]


def test_bad_identity_rows_are_quarantined_and_counted(builds) -> None:
    shops = builds["shops"]
    reasons = sorted(shops.query(
        "select quarantine_reason, record_key from main.quarantined_rows "
        "where source_file = 'customer_identities'"))
    assert reasons == [("duplicate_identity", f"/{builds['duplicated']}"),
                       ("missing_customer_key", "S001/x")]
    raw, clean, quarantined = shops.query(
        "select raw_rows, clean_rows, quarantined_rows from main.row_accounting "
        "where source_file = 'customer_identities'")[0]
    assert (raw - clean, quarantined) == (2, 2)


def test_without_an_identities_file_the_audit_says_so(builds) -> None:
    original = builds["original"]
    assert original.query("select identity_rows, stitch_rate, unresolved_id_count = "
                          "platform_id_count from main.customer_identity_audit") == [
        (0, None, True)]
    assert original.scalar("select count(*) from main.unresolved_customer_ids") == 0


def test_the_report_data_page_prints_the_stitch_rate(builds, tmp_path: Path) -> None:
    con = duckdb.connect(str(builds["shops"].warehouse), read_only=True)
    try:
        audit = identity_audit(con)
    finally:
        con.close()
    sections = SimpleNamespace(fmt=Formatter("en"), t=Messages("en"),
                               data=SimpleNamespace(identities=audit))
    line = Sections.identities_line(sections)  # type: ignore[arg-type]
    ids = audit["platform_id_count"]
    assert line.startswith(f"One customer across shops: the customer_identities file stitches "
                           f"{ids - 1:,} of {ids:,} platform ids (")
    assert "1 ids are left unresolved" in line
