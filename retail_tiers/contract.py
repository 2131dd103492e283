"""The raw data contract (DESIGN section 1) as data: the single source of truth.

`check` validates files against it, `build` tells dbt which files and columns exist, the
generator writes files that follow it, and a test keeps the README's table in step with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ColumnType = str  # one of: text, integer, decimal, timestamp, date, boolean

SUFFIXES: tuple[str, ...] = (".csv", ".csv.gz", ".parquet")


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    required: bool
    notes: str = ""


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
        return [column.name for column in self.columns if column.required]


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
            "unit_price", "decimal", True, "price per unit before discount, in the store currency"
        ),
        Column("discount_amount", "decimal", False, "whole-line discount, default 0"),
        Column(
            "unit_cost",
            "decimal",
            False,
            "for gross margin; when absent the var `default_gross_margin` is used",
        ),
        Column("channel", "text", False, "e.g. store, online, app, mini-program"),
        Column("store_id", "text", False),
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

RAW_FILES: tuple[RawFile, ...] = (TRANSACTIONS, CUSTOMERS, CAMPAIGNS, CAMPAIGN_CONTACTS, FEEDBACK)


def raw_file(name: str) -> RawFile:
    for spec in RAW_FILES:
        if spec.name == name:
            return spec
    raise KeyError(name)


def markdown_table(spec: RawFile) -> str:
    """The file's columns as the README's contract table (DESIGN section 1's format)."""
    lines = ["| column | type | required | notes |", "|---|---|---|---|"]
    for column in spec.columns:
        required = "yes" if column.required else "no"
        notes = f" {column.notes} |" if column.notes else " |"
        lines.append(f"| {column.name} | {column.type} | {required} |{notes}")
    return "\n".join(lines) + "\n"


def file_format(path: Path) -> str:
    """'parquet' or 'csv' from a file name."""
    return "parquet" if path.name.endswith(".parquet") else "csv"
