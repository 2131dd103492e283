"""The dbt vars an analyst can set, each with its type and its range or choices.

`retail-tiers build --var NAME=VALUE` checks every value here before dbt starts, and passes
dbt only the typed value (an integer, a number, true/false, a date as YYYY-MM-DD, one of a
list of words, or null), so no value can carry SQL or a Jinja template into the project.
The defaults in dbt_project.yml are checked the same way. To add a var: add it to
dbt_project.yml and one line to SETTINGS (a test checks the two list the same names).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass
from typing import Any

from retail_tiers.errors import RetailTiersError

INTEGER = re.compile(r"[+-]?\d{1,12}")
NUMBER = re.compile(r"[+-]?(\d{1,15}(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
TIME_ZONE = re.compile(r"[A-Za-z][A-Za-z0-9_+/-]{0,63}")  # as macros/parsing.sql accepts
NULLS = {"", "null", "~", "none"}
BOOLEANS = {"true": True, "false": False}


@dataclass(frozen=True)
class Setting:
    """One var: kind is integer | number | boolean | date | time_zone | choice | scheme (a
    scheme of seeds/segment_rules.csv: rfm_grid, rfm8 or an analyst's own)."""

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    nullable: bool = False

    def expected(self) -> str:
        if self.kind == "integer":
            text = f"an integer from {self.low:g} to {self.high:g}"
        elif self.kind == "number":
            text = f"a number from {self.low:g} to {self.high:g}"
        elif self.kind == "boolean":
            text = "true or false"
        elif self.kind == "date":
            text = "a date as YYYY-MM-DD"
        elif self.kind == "time_zone":
            text = "a time zone name such as Asia/Shanghai"
        elif self.kind == "scheme":
            text = "one of " + ", ".join(rule_schemes())
        else:
            text = "one of " + ", ".join(self.choices)
        return text + (", or null" if self.nullable else "")

    def parse(self, value: Any) -> Any:
        """The typed value of `value` (text from --var, or a YAML value from dbt_project.yml);
        a RetailTiersError naming the var, what it must be and what it was."""
        text = "" if value is None else str(value).strip()
        if isinstance(value, bool):
            text = "true" if value else "false"
        if text.lower() in NULLS:
            if self.nullable:
                return None
            raise self.refuse(text)
        if self.kind == "integer" and INTEGER.fullmatch(text):
            return self.in_range(int(text), text)
        if self.kind == "number" and NUMBER.fullmatch(text):
            return self.in_range(float(text), text)
        if self.kind == "boolean" and text.lower() in BOOLEANS:
            return BOOLEANS[text.lower()]
        if self.kind == "date" and DATE.fullmatch(text):
            try:
                return dt.date.fromisoformat(text).isoformat()
            except ValueError:
                raise self.refuse(text) from None
        if self.kind == "time_zone" and TIME_ZONE.fullmatch(text) \
                and text in zoneinfo.available_timezones():
            return text
        if self.kind == "choice" and text in self.choices:
            return text
        if self.kind == "scheme" and text in rule_schemes():
            return text
        raise self.refuse(text)

    def in_range(self, number: float, text: str) -> float:
        assert self.low is not None and self.high is not None
        if not self.low <= number <= self.high:
            raise self.refuse(text)
        return number

    def refuse(self, text: str) -> RetailTiersError:
        return RetailTiersError(f"var {self.name}: must be {self.expected()}, not '{text}'")


SETTINGS: tuple[Setting, ...] = (
    Setting("load_date", "date", nullable=True),
    Setting("as_of_date", "date", nullable=True),
    Setting("reporting_time_zone", "time_zone"),
    Setting("history_months", "integer", 1, 120),
    Setting("rfm_window_days", "integer", 1, 3650),
    Setting("repeat_window_days", "integer", 1, 3650),
    Setting("r_score_method", "choice", choices=("quantile", "thresholds")),
    Setting("f_score_method", "choice", choices=("quantile", "thresholds")),
    Setting("m_score_method", "choice", choices=("quantile", "thresholds")),
    Setting("segment_scheme", "scheme"),
    Setting("rfm8_recency_days_threshold", "integer", 1, 3650, nullable=True),
    Setting("rfm8_frequency_threshold", "number", 0, 1e6, nullable=True),
    Setting("rfm8_monetary_threshold", "number", 0, 1e12, nullable=True),
    Setting("new_customer_days", "integer", 1, 3650),
    Setting("check_segment_invariants", "boolean"),
    Setting("churn_days", "integer", 1, 3650),
    Setting("default_gross_margin", "number", 0, 1),
    Setting("attribution_days", "integer", 1, 365),
    Setting("prediction_horizon_days", "integer", 1, 3650),
    Setting("clv_months", "integer", 1, 120),
    Setting("clv_monthly_discount_rate", "number", 0, 1),
    Setting("churn_alert_threshold", "number", 0, 1),
    Setting("watchlist_top_clv_share", "number", 0, 1),
    Setting("clv_purchase_model", "choice", choices=("auto", "bg_nbd", "pareto_nbd")),
    Setting("holdout_weeks", "integer", 1, 520),
)

def rule_schemes() -> list[str]:
    """The schemes of the project's seeds/segment_rules.csv, in the file's order."""
    from retail_tiers.project import project_dir

    rules = project_dir() / "seeds" / "segment_rules.csv"
    with rules.open(encoding="utf-8", newline="") as handle:
        return list(dict.fromkeys(row["scheme"] for row in csv.DictReader(handle)))


# Set by the CLI itself (`build --input`), never by --var.
RESERVED = ("raw_files", "append_transactions", "input_digests")


def setting(name: str) -> Setting | None:
    return next((item for item in SETTINGS if item.name == name), None)


def check_defaults(defaults: dict[str, Any]) -> None:
    """Every default in dbt_project.yml is a valid value of its setting."""
    for name, value in defaults.items():
        found = setting(name)
        if found is None:
            if name not in RESERVED:
                raise RetailTiersError(f"dbt_project.yml var {name}: has no entry in "
                                       "retail_tiers/settings.py SETTINGS; add its type there")
            continue
        try:
            found.parse(value)
        except RetailTiersError as error:
            raise RetailTiersError(f"dbt_project.yml {error}") from None
