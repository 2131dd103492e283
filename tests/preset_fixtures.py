"""Synthetic platform exports for the import presets, in the publicly documented layouts.

- Taobao/Tmall seller centre: the order report (订单报表, ExportOrderList*.csv) and the item
  report (宝贝报表, ExportOrderDetailList*.csv), GBK CSV, with the report's documented
  headers; order numbers written as ="..." as the seller centre writes them.
- 聚水潭 (Jushuitan) ERP: one row per order item, the order fields repeated on each item, with
  the field names of its open API (orders.single.query and its items), as an Excel workbook.

The rows come from a clean generated dataset (retail_tiers.generate: enough customers and
months for every model to fit): each generated order becomes a platform order, with an
order-level discount on some orders (so the paid amount must be spread over the lines) and a
known share of closed, unpaid, merged or split orders. `python tests/preset_fixtures.py OUT`
writes both into OUT/taobao and OUT/jushuitan.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import sys
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from retail_tiers.generate import GeneratorConfig, write_dataset

BASE = {"customers": 150, "months": 14, "seed": 23, "end_month": "2024-06", "dirty_rate": 0}
CENT = Decimal("0.01")

TAOBAO_ORDER_HEADER = [
    "订单编号", "买家会员名", "买家支付宝账号", "买家应付货款", "买家应付邮费", "总金额",
    "买家实际支付金额", "订单状态", "买家留言", "收货人姓名", "收货地址", "运送方式", "联系手机",
    "订单创建时间", "订单付款时间", "宝贝标题", "宝贝种类", "物流单号", "物流公司", "订单备注",
    "宝贝总数量", "店铺Id", "店铺名称", "订单关闭原因", "是否手机订单", "退款金额",
]
TAOBAO_ITEM_HEADER = [
    "订单编号", "标题", "价格", "购买数量", "外部系统编号", "商品属性", "套餐信息", "备注",
    "订单状态", "商家编码",
]
JUSHUITAN_HEADER = [
    "o_id", "so_id", "shop_id", "shop_name", "shop_buyer_id", "order_date", "pay_date",
    "status", "pay_amount", "paid_amount", "freight", "free_amount", "oi_id", "sku_id", "i_id",
    "name", "qty", "price", "base_price", "amount",
]
TAOBAO_STATUSES = ("交易成功", "卖家已发货，等待买家确认", "买家已付款，等待卖家发货")
JUSHUITAN_STATUSES = ("Sent", "WaitConfirm", "Delivering")


@dataclass
class Order:
    number: int
    customer_id: str
    paid_at: dt.datetime
    lines: list[tuple[str, str, int, Decimal]]  # product, category, quantity, unit price
    status: str = ""
    discount: Decimal = Decimal(0)  # order-level (满减, 店铺优惠券)

    @property
    def value(self) -> Decimal:
        return sum((price * quantity for _, _, quantity, price in self.lines), Decimal(0))

    @property
    def paid(self) -> Decimal:
        return self.value - self.discount


@dataclass
class Fixture:
    """A written fixture and what it holds, counted here (the tests' expectations)."""

    folder: Path
    lines_by_status: Counter = field(default_factory=Counter)
    paid_by_status: dict[str, Decimal] = field(default_factory=dict)


def generated_orders(folder: Path) -> list[Order]:
    """The sale lines of a clean generated dataset, grouped into orders."""
    write_dataset(GeneratorConfig(**BASE), folder)
    orders: dict[str, Order] = {}
    text = (folder / "transactions.csv").read_text(encoding="utf-8")
    for row in csv.DictReader(io.StringIO(text)):
        quantity = int(row["quantity"])
        if quantity <= 0 or not row["customer_id"]:
            continue  # platform orders have a buyer; refunds are not modelled here
        order = orders.get(row["order_id"])
        if order is None:
            order = orders[row["order_id"]] = Order(
                number=len(orders) + 1, customer_id=row["customer_id"],
                paid_at=_parse_time(row["ordered_at"]), lines=[])
        price = Decimal(row["unit_price"])
        discount = Decimal(row["discount_amount"] or "0")
        # a line discount becomes part of the unit price the platform shows
        price = ((price * quantity - discount) / quantity).quantize(CENT)
        order.lines.append((row["product_id"], row["category"], quantity, max(price, CENT)))
    return list(orders.values())


def _parse_time(text: str) -> dt.datetime:
    for pattern in ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y%m%d"):
        try:
            return dt.datetime.strptime(text, pattern)
        except ValueError:
            continue
    raise ValueError(text)


def _assign(orders: list[Order], kept: tuple[str, ...], special: dict[int, str]) -> None:
    """Statuses (every n-th order gets special[n], the rest cycle through `kept`) and an
    order-level discount on every third order worth at least 50."""
    for order in orders:
        order.status = kept[order.number % len(kept)]
        for every, status in special.items():
            if order.number % every == 0:
                order.status = status
                break
        if order.number % 3 == 0 and order.value >= 50:
            order.discount = Decimal("5.00") if order.value < 200 else Decimal("20.00")


def write_taobao(folder: Path, orders: list[Order]) -> Fixture:
    _assign(orders, TAOBAO_STATUSES, {13: "交易关闭", 17: "等待买家付款"})
    fixture = Fixture(folder=folder)
    order_rows, item_rows = [], []
    for order in orders:
        number = f"{3_800_000_000_000_000_000 + order.number * 7919}"
        unpaid = order.status == "等待买家付款"
        created = order.paid_at - dt.timedelta(minutes=3 + order.number % 50)
        order_rows.append([
            f'="{number}"', f"tb_{order.customer_id.lower()}",
            f"{order.customer_id.lower()}@example.com",
            f"{order.value:.2f}", "0.00", f"{order.value:.2f}",
            "0.00" if unpaid else f"{order.paid:.2f}", order.status, "", "张三",
            "浙江省 杭州市 西湖区 文三路 1 号", "快递", "138****0000",
            created.strftime("%Y-%m-%d %H:%M:%S"),
            "" if unpaid else order.paid_at.strftime("%Y-%m-%d %H:%M:%S"),
            ";".join(product for product, _, _, _ in order.lines), str(len(order.lines)),
            "", "", "", str(sum(quantity for _, _, quantity, _ in order.lines)), "100001",
            "示例旗舰店", "买家取消" if order.status == "交易关闭" else "", "是", "0.00",
        ])
        for product, category, quantity, price in order.lines:
            item_rows.append([f'="{number}"', f"商品 {product}", f"{price:.2f}", str(quantity),
                              "", category, "", "", order.status, product])
            fixture.lines_by_status[order.status] += 1
        fixture.paid_by_status[order.status] = (fixture.paid_by_status.get(
            order.status, Decimal(0)) + (Decimal(0) if unpaid else order.paid))
    folder.mkdir(parents=True, exist_ok=True)
    _write_csv(folder / "ExportOrderList202406.csv", TAOBAO_ORDER_HEADER, order_rows, "gbk")
    _write_csv(folder / "ExportOrderDetailList202406.csv", TAOBAO_ITEM_HEADER, item_rows, "gbk")
    return fixture


def write_jushuitan(folder: Path, orders: list[Order]) -> Fixture:
    import xlsxwriter

    _assign(orders, JUSHUITAN_STATUSES,
            {11: "Cancelled", 19: "WaitPay", 23: "Merged", 29: "Split"})
    fixture = Fixture(folder=folder)
    folder.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(folder / "jushuitan_orders_202406.xlsx"))
    sheet = workbook.add_worksheet("订单明细")
    when = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    sheet.write_row(0, 0, JUSHUITAN_HEADER)
    row = 1
    for order in orders:
        shop = ("天猫旗舰店", "京东自营店", "拼多多店")[order.number % 3]
        unpaid = order.status == "WaitPay"
        for line_number, (product, category, quantity, price) in enumerate(order.lines, 1):
            values = [
                900000 + order.number, f"SO{order.number:08d}", 10 + order.number % 3, shop,
                f"{shop[:2]}_{order.customer_id}", order.paid_at - dt.timedelta(minutes=5),
                None if unpaid else order.paid_at, order.status, float(order.value),
                0.0 if unpaid else float(order.paid), 0.0, float(order.discount),
                (900000 + order.number) * 100 + line_number, product, category,
                f"商品 {product}", quantity, float(price), float(price),
                float(price * quantity),
            ]
            for column, value in enumerate(values):
                if isinstance(value, dt.datetime):
                    sheet.write_datetime(row, column, value, when)
                elif value is not None:
                    sheet.write(row, column, value)
            row += 1
            fixture.lines_by_status[order.status] += 1
        fixture.paid_by_status[order.status] = (fixture.paid_by_status.get(
            order.status, Decimal(0)) + (Decimal(0) if unpaid else order.paid))
    workbook.close()
    return fixture


def _write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))


def main(out: Path) -> None:
    orders = generated_orders(out / "generated")
    write_taobao(out / "taobao", orders)
    write_jushuitan(out / "jushuitan", generated_orders(out / "generated"))
    print(f"wrote {out / 'taobao'} and {out / 'jushuitan'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
