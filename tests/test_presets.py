"""Import presets: a Taobao order + item report (GBK CSV) and a 聚水潭 ERP item export (Excel)
build, their row accounting matches the fixtures' own counts by order status, excluded
statuses are quarantined under the preset's reasons (never dropped), and the paid amounts
spread over the lines add up to what the buyers paid, to the cent.
"""

from __future__ import annotations

import shutil
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import PROJECT_DIR, CliResult, Workspace, run_cli
from preset_fixtures import (
    TAOBAO_ITEM_HEADER,
    TAOBAO_ORDER_HEADER,
    Fixture,
    _write_csv,
    generated_orders,
    write_jushuitan,
    write_taobao,
)

from retail_tiers.presets import apply_preset, load_preset

TAOBAO_REASONS = {"交易关闭": "order_closed", "等待买家付款": "order_unpaid"}
JUSHUITAN_REASONS = {"Cancelled": "order_closed", "WaitPay": "order_unpaid",
                     "Merged": "order_superseded", "Split": "order_superseded"}


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Fixture]:
    root = tmp_path_factory.mktemp("presets")
    return {
        "taobao": write_taobao(root / "taobao", generated_orders(root / "generated1")),
        "jushuitan": write_jushuitan(root / "jushuitan", generated_orders(root / "generated2")),
    }


def build(fixture: Fixture, preset: str, root: Path) -> tuple[Workspace, CliResult]:
    workspace = Workspace(root)
    result = run_cli(["build", "--input", str(fixture.folder), "--preset", preset], workspace)
    assert result.exit_code == 0, result.stderr + result.stdout[-3000:]
    return workspace, result


@pytest.fixture(scope="module")
def taobao_build(fixtures, tmp_path_factory) -> tuple[Workspace, CliResult]:
    return build(fixtures["taobao"], "taobao", tmp_path_factory.mktemp("taobao_build"))


@pytest.fixture(scope="module")
def jushuitan_build(fixtures, tmp_path_factory) -> tuple[Workspace, CliResult]:
    return build(fixtures["jushuitan"], "jushuitan", tmp_path_factory.mktemp("jst_build"))


def assert_accounting_matches(workspace: Workspace, fixture: Fixture,
                              reasons: dict[str, str]) -> None:
    raw, clean, quarantined = workspace.query(
        "select raw_rows, clean_rows, quarantined_rows from main.row_accounting "
        "where source_file = 'transactions'")[0]
    counts = fixture.lines_by_status
    excluded = Counter()
    for status, count in counts.items():
        if status in reasons:
            excluded[reasons[status]] += count
    assert raw == sum(counts.values())
    assert quarantined == sum(excluded.values()) > 0
    assert clean == sum(count for status, count in counts.items() if status not in reasons)
    by_reason = Counter(dict(workspace.query(
        "select quarantine_reason, count(*) from main.quarantined_rows "
        "where source_file = 'transactions' group by all")))
    assert by_reason == excluded
    # each excluded line keeps its status in its raw record
    by_status = Counter(dict(workspace.query(
        "select raw_record ->> 'order_status', count(*) from main.quarantined_rows "
        "where source_file = 'transactions' group by all")))
    assert by_status == Counter({status: count for status, count in counts.items()
                                 if status in reasons})


def assert_paid_amounts_add_up(workspace: Workspace, fixture: Fixture,
                               reasons: dict[str, str]) -> None:
    """The clean lines of each kept status hold exactly what the buyers of those orders paid
    (the fixture's own sums), so revenue is the platform's to the cent."""
    found = {status: Decimal(amount) for status, amount in workspace.query(
        "select order_status, sum(line_amount) from staging.stg_transactions "
        "where quarantine_reason is null group by all")}
    expected = {status: amount for status, amount in fixture.paid_by_status.items()
                if status not in reasons}
    assert found == expected
    net = workspace.scalar("select sum(net_amount) from intermediate.int_transaction_lines")
    assert Decimal(net) == sum(expected.values())


def test_taobao_fixture_builds_and_counts_every_line_by_status(taobao_build, fixtures) -> None:
    workspace, result = taobao_build
    assert "preset taobao read ExportOrderList202406.csv" in result.stdout
    assert "preset taobao read ExportOrderDetailList202406.csv" in result.stdout
    assert_accounting_matches(workspace, fixtures["taobao"], TAOBAO_REASONS)


def test_taobao_paid_amounts_are_spread_exactly(taobao_build, fixtures) -> None:
    workspace, _ = taobao_build
    assert_paid_amounts_add_up(workspace, fixtures["taobao"], TAOBAO_REASONS)
    # the order time is the payment time; order numbers lose their ="..." wrapping
    assert workspace.scalar("select count(*) from staging.stg_transactions "
                            "where order_id like '=%' or order_id like '%\"%'") == 0
    assert workspace.scalar("select count(distinct channel) from staging.stg_transactions "
                            "where quarantine_reason is null") == 1


def test_jushuitan_fixture_builds_and_counts_every_line_by_status(jushuitan_build,
                                                                  fixtures) -> None:
    workspace, result = jushuitan_build
    assert "preset jushuitan read jushuitan_orders_202406.xlsx" in result.stdout
    assert_accounting_matches(workspace, fixtures["jushuitan"], JUSHUITAN_REASONS)
    assert_paid_amounts_add_up(workspace, fixtures["jushuitan"], JUSHUITAN_REASONS)


def test_the_allocation_rule_on_a_hand_worked_order(tmp_path: Path) -> None:
    """Items worth 10 x 1, 20 x 2 and 5 x 3 (65.00), paid 60.00 after a 5.00 shop coupon:
    shares 60 x 10/65 = 9.2307 -> 9.23 and 60 x 40/65 = 36.923 -> 36.92, the last line the
    rest, 60.00 - 9.23 - 36.92 = 13.85. A closed item takes no share; a one-line order keeps
    its amount as written."""
    order = {name: "" for name in TAOBAO_ORDER_HEADER}
    order.update({"订单编号": '="1001"', "买家会员名": "buyer", "买家实际支付金额": "60.00",
                  "订单状态": "交易成功", "订单付款时间": "2024-05-01 10:00:00",
                  "宝贝总数量": "6", "店铺名称": "店"})
    single = {**order, "订单编号": '="1002"', "买家实际支付金额": "12.3456"}
    items = [["1001", "a", "10.00", "1", "", "", "", "", "交易成功", "A"],
             ["1001", "b", "20.00", "2", "", "", "", "", "交易成功", "B"],
             ["1001", "x", "99.00", "1", "", "", "", "", "交易关闭", "X"],
             ["1001", "c", "5.00", "3", "", "", "", "", "交易成功", "C"],
             ["1002", "d", "7.00", "2", "", "", "", "", "交易成功", "D"]]
    _write_csv(tmp_path / "ExportOrderList1.csv", TAOBAO_ORDER_HEADER,
               [list(order.values()), list(single.values())], "gbk")
    _write_csv(tmp_path / "ExportOrderDetailList1.csv", TAOBAO_ITEM_HEADER, items, "gbk")
    result = apply_preset(load_preset("taobao"), tmp_path, tmp_path / "cache")
    import duckdb

    rows = duckdb.sql(f"select transaction_id, product_id, quantity, line_amount, order_status "
                      f"from read_parquet('{result.transactions}')").fetchall()
    assert rows == [("1001-1", "A", "1", "9.23", "交易成功"),
                    ("1001-2", "B", "2", "36.92", "交易成功"),
                    ("1001-3", "X", "1", None, "交易关闭"),
                    ("1001-4", "C", "3", "13.85", "交易成功"),
                    ("1002-1", "D", "2", "12.3456", "交易成功")]
    assert result.lines_by_status == {"交易成功": 4, "交易关闭": 1}


def test_without_the_item_report_each_order_is_one_line(tmp_path: Path, fixtures) -> None:
    folder = tmp_path / "orders_only"
    folder.mkdir()
    shutil.copy(fixtures["taobao"].folder / "ExportOrderList202406.csv", folder)
    result = apply_preset(load_preset("taobao"), folder, tmp_path / "cache")
    import duckdb

    lines, paid, quantity = duckdb.sql(
        f"select count(*), sum(cast(line_amount as decimal(18, 2))) filter (where order_status "
        f"not in ('交易关闭', '等待买家付款')), sum(cast(quantity as integer)) "
        f"from read_parquet('{result.transactions}')").fetchall()[0]
    fixture = fixtures["taobao"]
    assert paid == sum(amount for status, amount in fixture.paid_by_status.items()
                       if status not in TAOBAO_REASONS)
    assert quantity > lines > 0


def test_an_analysts_copy_of_a_preset_works_from_its_path(tmp_path: Path,
                                                         workspace: Workspace) -> None:
    """Copy taobao.yml, rename a header on both sides, and check with the copy's path."""
    text = (PROJECT_DIR / "presets" / "taobao.yml").read_text(encoding="utf-8")
    (tmp_path / "my_shop.yml").write_text(text.replace("买家会员名", "会员"), encoding="utf-8")
    order = {name: "" for name in TAOBAO_ORDER_HEADER}
    order.update({"订单编号": "1", "买家会员名": "buyer", "买家实际支付金额": "9.90",
                  "订单状态": "交易成功", "订单付款时间": "2024-05-01 10:00:00",
                  "宝贝总数量": "1"})
    header = ["会员" if name == "买家会员名" else name for name in TAOBAO_ORDER_HEADER]
    folder = tmp_path / "data"
    folder.mkdir()
    _write_csv(folder / "订单报表-5月.csv", header, [list(order.values())], "gbk")
    result = run_cli(["check", "--input", str(folder), "--preset",
                      str(tmp_path / "my_shop.yml")], workspace)
    assert result.exit_code == 0, result.stderr
    assert "preset my_shop:" in result.stdout
    assert "交易成功: 1 (kept)" in result.stdout


@pytest.mark.parametrize(("preset_text", "message"), [
    (None, "error: --preset nosuch: unknown preset (known: jushuitan, taobao; or give the path "
           "of your own .yml file)"),
    ("orders:\n  files: [a.csv]\n  columns: {order_id: 订单编号}\nexcluded_statuses:\n"
     "  关闭: gone\n", "error: preset bad.yml: excluded_statuses: 关闭: reason 'gone' is not "
                      "one of order_unpaid, order_closed, order_superseded"),
    ("orders:\n  files: [a.csv]\n  columns: {order_id: 订单编号, price: 价格}\n",
     "error: preset bad.yml: orders: price is not a transactions column"),
    ("orders:\n  files: [a.csv]\n  columns: {order_id: 单号, line_amount: 实付}\n"
     "lines:\n  files: [b.csv]\n  columns: {order_id: 单号, quantity: 数量}\n",
     "error: preset bad.yml: orders.columns.line_amount is an order's amount: give "
     "lines.allocation to spread it over the lines"),
])
def test_a_bad_preset_is_one_line(tmp_path: Path, workspace: Workspace,
                                  preset_text: str | None, message: str) -> None:
    name = "nosuch"
    if preset_text is not None:
        (tmp_path / "bad.yml").write_text(preset_text, encoding="utf-8")
        name = str(tmp_path / "bad.yml")
    result = run_cli(["check", "--input", str(tmp_path), "--preset", name], workspace)
    assert result.exit_code == 1
    assert result.error.startswith(message)


def test_a_missing_mapped_column_is_one_line(tmp_path: Path, workspace: Workspace) -> None:
    header = [name for name in TAOBAO_ORDER_HEADER if name != "订单付款时间"]
    _write_csv(tmp_path / "ExportOrderList1.csv", header, [["1"] * len(header)], "gbk")
    result = run_cli(["build", "--input", str(tmp_path), "--preset", "taobao"], workspace,
                     in_process=False)
    assert result.exit_code == 1
    assert result.error == ("error: ExportOrderList1.csv: missing column 订单付款时间 (preset "
                            "taobao maps it to ordered_at)")


@pytest.mark.parametrize("name", ["taobao", "jushuitan"])
def test_docs_show_each_presets_mapping_as_the_file_has_it(name: str) -> None:
    from retail_tiers.presets import mapping_markdown, preset_names

    assert preset_names() == ["jushuitan", "taobao"]
    docs = (PROJECT_DIR / "docs" / "import.md").read_text(encoding="utf-8")
    assert f"### {name}\n\n{mapping_markdown(load_preset(name))}" in docs
