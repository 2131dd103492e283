"""Number, money, percent and date formats for the report, per language.

Decisions (also in the report's footnotes and the README):
- Money is in the store's currency, printed with the yuan sign (¥) in both languages; the data
  contract has no currency column, and the product is built for Chinese retailers.
- Tables print full amounts with thousands separators (1,234,567); KPI tiles and chart axes
  abbreviate large amounts: English K / M / B (thousand, million, billion); Chinese 万 (10^4)
  and 亿 (10^8), as Chinese business reports do (¥123.46万). Counts are never abbreviated in
  tables.
- Negative numbers use the typographic minus sign (U+2212); changes always carry a sign.
- Rates (0-1 fractions in the marts) print as percentages; a change of a rate prints in
  percentage points (en "pp"; zh "pp" in tiles, tables and charts, 个百分点 in sentences), a
  change of an amount or count as a relative %.
- A Net Promoter Score (−100..100) prints as a signed whole number (+32), its change in score
  points (+4); mean satisfaction (1-5) with one decimal.
- A missing value prints as an em dash.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

Lang = Literal["en", "zh"]
LANGS: tuple[Lang, ...] = ("en", "zh")
MINUS = "\u2212"
MISSING = "\u2014"
CURRENCY = "¥"

EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December")


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _round(value: float | Decimal, decimals: int) -> Decimal:
    """Round half up (as accountants do), not Python's round-half-even."""
    quantum = Decimal(1).scaleb(-decimals)
    return Decimal(str(value)).quantize(quantum, rounding=ROUND_HALF_UP)


def _change_decimals(value: float, decimals: int = 1) -> int:
    """`decimals`, or 2 when a non-zero change would otherwise print as zero."""
    return max(decimals, 2) if value != 0 and abs(value) < 0.5 * 10 ** -decimals else decimals


def grouped(value: float | Decimal, decimals: int = 0, signed: bool = False) -> str:
    """1234567.891 -> '1,234,567.89' (decimals=2); negative with a true minus sign."""
    rounded = _round(value, decimals)
    text = f"{abs(rounded):,.{decimals}f}"
    if rounded < 0:
        return MINUS + text
    if signed and rounded > 0:
        return "+" + text
    return text


@dataclass(frozen=True)
class Formatter:
    """All number formatting of one report language (used by templates and charts)."""

    lang: Lang
    currency: str = CURRENCY

    # ---- numbers -------------------------------------------------------------------------
    def integer(self, value: float | Decimal | None) -> str:
        return MISSING if _is_missing(value) else grouped(value, 0)

    def signed_integer(self, value: float | Decimal | None) -> str:
        """A whole number with its sign: '+12', '−3', '0'."""
        return MISSING if _is_missing(value) else grouped(value, 0, signed=True)

    def number(self, value: float | Decimal | None, decimals: int = 1) -> str:
        return MISSING if _is_missing(value) else grouped(value, decimals)

    def money(self, value: float | Decimal | None, decimals: int = 0) -> str:
        """Full amount: ¥1,234,567 (decimals=0) or ¥123.45 (decimals=2)."""
        if _is_missing(value):
            return MISSING
        text = grouped(value, decimals)
        if text.startswith(MINUS):
            return MINUS + self.currency + text[1:]
        return self.currency + text

    def short_money(self, value: float | Decimal | None) -> str:
        """Abbreviated amount for tiles and axes: ¥12.35M / ¥1,234.57万 (see module doc)."""
        if _is_missing(value):
            return MISSING
        number, unit = self.abbreviate(float(value))
        sign = MINUS if number < 0 else ""
        return f"{sign}{self.currency}{abs(number):,.{2 if unit else 0}f}{unit}"

    def unit_divisor(self, unit: str) -> float:
        return {"亿": 1e8, "万": 1e4, "B": 1e9, "M": 1e6, "K": 1e3}.get(unit, 1.0)

    def abbreviate(self, value: float) -> tuple[float, str]:
        """Scale a value to the language's unit: (12.35, 'M') or (1234.57, '万'), rounded."""
        magnitude = abs(value)
        if self.lang == "zh":
            steps = ((1e8, "亿"), (1e5, "万"))
            divisors = {"亿": 1e8, "万": 1e4}
        else:
            steps = ((1e9, "B"), (1e6, "M"), (1e4, "K"))
            divisors = {"B": 1e9, "M": 1e6, "K": 1e3}
        for threshold, unit in steps:
            if magnitude >= threshold:
                return float(_round(value / divisors[unit], 2)), unit
        return float(_round(value, 0)), ""

    def axis_money(self, value: float, reference: float | None = None) -> str:
        """Tick label on a money axis (no decimals unless needed). With `reference` (the axis's
        largest value) every tick takes that value's unit, so one axis never mixes ¥10万 and
        ¥80,000."""
        number, unit = self.abbreviate(value)
        if reference is not None:
            _, unit = self.abbreviate(reference)
            divisor = self.unit_divisor(unit)
            number = float(_round(value / divisor, 2)) if unit else float(_round(value, 0))
        text = f"{abs(number):,.2f}".rstrip("0").rstrip(".") if unit else f"{abs(number):,.0f}"
        sign = MINUS if number < 0 else ""
        return f"{sign}{self.currency}{text}{unit}"

    def axis_count(self, value: float) -> str:
        """Tick label on a count axis: 950 / 12.5K / 12.5万."""
        number, unit = self.abbreviate(value)
        text = f"{abs(number):,.2f}".rstrip("0").rstrip(".") if unit else f"{abs(number):,.0f}"
        return f"{MINUS if number < 0 else ''}{text}{unit}"

    def percent(self, rate: float | None, decimals: int = 1) -> str:
        """A 0-1 fraction as a percentage: 0.1234 -> '12.3%'."""
        if _is_missing(rate):
            return MISSING
        return grouped(float(rate) * 100, decimals) + "%"

    def nps(self, value: float | None) -> str:
        """A Net Promoter Score (−100..100) as a signed whole number: '+32', '−5', '0'."""
        if _is_missing(value):
            return MISSING
        return grouped(value, 0, signed=True)

    def score(self, value: float | None, decimals: int = 1) -> str:
        """A mean rating, e.g. satisfaction on a 1-5 scale: '4.2'."""
        return self.number(value, decimals)

    def days(self, value: float | None, decimals: int = 0) -> str:
        if _is_missing(value):
            return MISSING
        number = grouped(value, decimals)
        return f"{number}天" if self.lang == "zh" else f"{number} days"

    # ---- changes -------------------------------------------------------------------------
    def change_rate(self, rate: float | None) -> str:
        """Relative change, always signed: +4.2% / −1.0% (−0.04% rather than a bare 0.0%)."""
        if _is_missing(rate):
            return MISSING
        return grouped(float(rate) * 100, _change_decimals(float(rate) * 100), signed=True) + "%"

    def change_points(self, difference: float | None, decimals: int = 1,
                      sentence: bool = False) -> str:
        """Change of a rate in percentage points: '+1.2 pp'; Chinese '+1.2pp' in tiles, tables
        and charts (as Chinese business reports write it) and '+1.2个百分点' in sentences."""
        if _is_missing(difference):
            return MISSING
        points = float(difference) * 100
        number = grouped(points, _change_decimals(points, decimals), signed=True)
        if self.lang == "zh":
            return f"{number}个百分点" if sentence else f"{number}pp"
        return f"{number} pp"

    def change_nps(self, difference: float | None) -> str:
        """Change of an NPS in score points, always signed: '+4', '−12', '0'
        (a non-zero change that rounds to zero keeps one decimal: '+0.4')."""
        if _is_missing(difference):
            return MISSING
        value = float(difference)
        decimals = 1 if value != 0 and abs(value) < 0.5 else 0
        return grouped(value, decimals, signed=True)

    def change_days(self, difference: float | None) -> str:
        if _is_missing(difference):
            return MISSING
        number = grouped(difference, 1, signed=True)
        return f"{number}天" if self.lang == "zh" else f"{number} days"

    # ---- dates ---------------------------------------------------------------------------
    def month(self, day: dt.date) -> str:
        """'September 2026' / '2026年9月'."""
        if self.lang == "zh":
            return f"{day.year}年{day.month}月"
        return f"{EN_MONTHS[day.month - 1]} {day.year}"

    def month_short(self, day: dt.date) -> str:
        """'Sep 2026' / '2026年9月'."""
        if self.lang == "zh":
            return f"{day.year}年{day.month}月"
        return f"{EN_MONTHS[day.month - 1][:3]} {day.year}"

    def month_tick(self, day: dt.date, with_year: bool) -> str:
        """Chart axis tick: 'Sep' or 'Sep\\n2026' / '9月' or '9月\\n2026'."""
        name = f"{day.month}月" if self.lang == "zh" else EN_MONTHS[day.month - 1][:3]
        return f"{name}\n{day.year}" if with_year else name

    def date(self, day: dt.date | None) -> str:
        """'30 Sep 2026' / '2026年9月30日'."""
        if day is None:
            return MISSING
        if self.lang == "zh":
            return f"{day.year}年{day.month}月{day.day}日"
        return f"{day.day} {EN_MONTHS[day.month - 1][:3]} {day.year}"

    def date_range(self, start: dt.date | None, end: dt.date | None) -> str:
        """'19 Sep – 7 Oct 2026' / '2026年9月19日–10月7日' (the year once when shared)."""
        if start is None or end is None:
            return f"{self.date(start)} – {self.date(end)}"
        if self.lang == "zh":
            tail = (f"{end.month}月{end.day}日" if start.year == end.year
                    else self.date(end))
            return f"{self.date(start)}–{tail}"
        head = (f"{start.day} {EN_MONTHS[start.month - 1][:3]}" if start.year == end.year
                else self.date(start))
        return f"{head} – {self.date(end)}"

    def timestamp(self, moment: dt.datetime | None) -> str:
        if moment is None:
            return MISSING
        return f"{self.date(moment.date())} {moment:%H:%M}"
