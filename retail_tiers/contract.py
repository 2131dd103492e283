"""The raw data contract (DESIGN section 1) as data: the single source of truth.

`check` validates files against it, `build` tells dbt which files and columns exist, the
generator writes files that follow it, and a test keeps the README's table in step with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ColumnType = str  # one of: text, integer, decimal, timestamp, date, boolean

SUFFIXES: tuple[str, ...] = (".csv", ".csv.gz", ".parquet", ".xlsx")


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    required: bool
    notes: str = ""
    # a required column that another column can stand in for (unit_price or line_amount):
    # the file must have at least one of the two
    alternative: str = ""

    @property
    def required_label(self) -> str:
        """`yes`, `no`, or `yes, or <alternative>` (the contract table's `required` cell)."""
        if not self.required:
            return "no"
        return f"yes, or {self.alternative}" if self.alternative else "yes"


@dataclass(frozen=True)
class RawFile:
    name: str
    required: bool
    description: str
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def required_columns(self) -> list[str]:
        """Columns every file must have (a column with an alternative is not one of them)."""
        return [column.name for column in self.columns
                if column.required and not column.alternative]

    def missing_required(self, header: list[str]) -> list[str]:
        """The required columns `header` lacks; a pair of alternatives that are both absent
        is one entry, `unit_price or line_amount`."""
        missing: list[str] = []
        for column in self.columns:
            if not column.required or column.name in header:
                continue
            if column.alternative:
                if column.alternative in header:
                    continue
                pair = " or ".join(sorted((column.name, column.alternative),
                                          key=self.column_names.index))
                if pair not in missing:
                    missing.append(pair)
            else:
                missing.append(column.name)
        return missing


TRANSACTIONS = RawFile(
    name="transactions",
    required=True,
    description="one row per order line; a POS or e-commerce export",
    columns=(
        Column(
            "transaction_id", "text", True, "unique per line; a repeated id is a duplicate export"
        ),
        Column("order_id", "text", True, "groups lines into one order (one checkout / receipt)"),
        Column(
            "customer_id",
            "text",
            True,
            "empty = guest sale: counted in revenue, not in customer analytics",
        ),
        Column(
            "ordered_at",
            "timestamp",
            True,
            "ISO 8601; also `YYYY/MM/DD[ HH:MM[:SS]]` and `YYYYMMDD`",
        ),
        Column("product_id", "text", False),
        Column("category", "text", False),
        Column("quantity", "integer", True, "negative = a return line"),
        Column(
            "unit_price",
            "decimal",
            True,
            "price per unit before discount, in the store currency",
            alternative="line_amount",
        ),
        Column("discount_amount", "decimal", False, "whole-line discount, default 0"),
        Column(
            "line_amount",
            "decimal",
            True,
            "amount paid for the line after discounts (a return line: the amount refunded, "
            "also >= 0); when given it is the line's revenue, exactly as in the file",
            alternative="unit_price",
        ),
        Column(
            "unit_cost",
            "decimal",
            False,
            "for gross margin; when absent the var `default_gross_margin` is used",
        ),
        Column("channel", "text", False, "e.g. store, online, app, mini-program"),
        Column("store_id", "text", False),
        Column(
            "order_status",
            "text",
            False,
            "the platform's order status, kept as written; an import preset names the statuses "
            "that are not sales (docs/import.md)",
        ),
    ),
)

CUSTOMERS = RawFile(
    name="customers",
    required=False,
    description="one row per registered customer",
    columns=(
        Column("customer_id", "text", True, "unique"),
        Column("signed_up_at", "timestamp", False, "registration date or time"),
        Column("city", "text", False),
        Column("acquisition_channel", "text", False, "where the customer came from"),
        Column("acquisition_cost", "decimal", False, "CAC, in the store currency"),
    ),
)

CAMPAIGNS = RawFile(
    name="campaigns",
    required=False,
    description="one row per marketing campaign",
    columns=(
        Column("campaign_id", "text", True, "unique"),
        Column("campaign_name", "text", False),
        Column("channel", "text", False, "e.g. sms, wechat, email, app push"),
        Column("starts_on", "date", True),
        Column("ends_on", "date", True),
        Column("cost", "decimal", False, "total campaign cost"),
    ),
)

CAMPAIGN_CONTACTS = RawFile(
    name="campaign_contacts",
    required=False,
    description="one row per customer contacted (or held out) by a campaign",
    columns=(
        Column("campaign_id", "text", True),
        Column("customer_id", "text", True),
        Column("contacted_at", "timestamp", True),
        Column(
            "is_control", "boolean", False, "true = held-out control (not contacted); default false"
        ),
    ),
)

FEEDBACK = RawFile(
    name="feedback",
    required=False,
    description="one row per survey response (NPS and satisfaction)",
    columns=(
        Column("customer_id", "text", True, "the respondent"),
        Column("responded_at", "timestamp", True, "when the response was given"),
        Column("nps_score", "integer", True, "0-10: how likely to recommend"),
        Column("satisfaction", "integer", False, "1-5"),
        Column("channel", "text", False, "where the survey was answered, e.g. app, wechat, sms"),
        Column("comment", "text", False, "free text"),
    ),
)

CUSTOMER_IDENTITIES = RawFile(
    name="customer_identities",
    required=False,
    description="one row per platform id: which one customer it is, so that a customer "
    "buying in several shops is one customer",
    columns=(
        Column(
            "store_id",
            "text",
            False,
            "the shop or platform the id belongs to, as in transactions.store_id; empty = the "
            "id is this customer in every store",
        ),
        Column("customer_id", "text", True, "the id as it appears in transactions.customer_id"),
        Column(
            "customer_key",
            "text",
            True,
            "the one customer it is: a member phone, 会员卡号 or CRM id; customers and every "
            "customer figure use it",
        ),
    ),
)

RAW_FILES: tuple[RawFile, ...] = (TRANSACTIONS, CUSTOMERS, CAMPAIGNS, CAMPAIGN_CONTACTS, FEEDBACK,
                                  CUSTOMER_IDENTITIES)


def raw_file(name: str) -> RawFile:
    for spec in RAW_FILES:
        if spec.name == name:
            return spec
    raise KeyError(name)


def markdown_table(spec: RawFile) -> str:
    """The file's columns as the README's contract table (DESIGN section 1's format)."""
    lines = ["| column | type | required | notes |", "|---|---|---|---|"]
    for column in spec.columns:
        notes = f" {column.notes} |" if column.notes else " |"
        lines.append(f"| {column.name} | {column.type} | {column.required_label} |{notes}")
    return "\n".join(lines) + "\n"


def amount_form(header: list[str]) -> str:
    """How a transactions file gives its amounts, in one sentence for `check`."""
    has_paid, has_price = "line_amount" in header, "unit_price" in header
    if has_paid and has_price:
        return ("amounts: line_amount (paid) where a line gives it, else quantity x unit_price "
                "- discount_amount; line_amount is used exactly as written")
    if has_paid:
        return ("amounts: paid amounts (line_amount): each line's revenue is its line_amount "
                "exactly as written; discount_amount, when given, is added back for gross sales")
    return "amounts: unit prices: each line's revenue is quantity x unit_price - discount_amount"


def file_format(path: Path) -> str:
    """'parquet', 'xlsx' or 'csv' from a file name."""
    if path.name.endswith(".parquet"):
        return "parquet"
    return "xlsx" if path.name.endswith(".xlsx") else "csv"
