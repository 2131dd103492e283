"""Segment rules and scoring methods in words, from the rule seeds the build used.

The report says which method scored each dimension (definitions page) and, for a segment
nobody is in, which rule it would take (segments page): both read the seeds `segment_rules`
and `rfm_thresholds` as the warehouse holds them, so the words follow an analyst's edits.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

Row = dict[str, Any]
Translate = Callable[..., str]
DIMENSIONS = ("r", "f", "m")


def score_ranges(bands: list[Row], dimension: str) -> dict[int, tuple[Any, Any]]:
    """score -> (min_value, max_value) of the dimension's bands (an open bound is None)."""
    return {int(row["score"]): (row["min_value"], row["max_value"])
            for row in bands if row["dimension"] == dimension}


def _whole(value: Any) -> int:
    return int(Decimal(str(value)))


def count_range(low: Any, high: Any, t: Translate) -> str:
    """A band of whole numbers [low, high) as text: '0–59', '2', '365+'."""
    first = _whole(low) if low is not None else 0
    if high is None:
        return t("rules.at_least", value=first)
    last = _whole(high) - 1
    return str(first) if last == first else t("rules.between", low=first, high=last)


def money_range(low: Any, high: Any, t: Translate, money: Callable[[Any], str]) -> str:
    if low is None:
        return t("rules.below", value=money(high))
    if high is None:
        return t("rules.at_least", value=money(low))
    return t("rules.between", low=money(low), high=money(high))


def band_list(bands: list[Row], dimension: str, t: Translate,
              money: Callable[[Any], str]) -> str:
    """'5 = 0–59, 4 = 60–119, …' from the best score down (R: fewest days first)."""
    ranges = score_ranges(bands, dimension)
    parts = []
    for score in sorted(ranges, reverse=True):
        low, high = ranges[score]
        text = (money_range(low, high, t, money) if dimension == "m"
                else count_range(low, high, t))
        parts.append(t("rules.band", score=score, range=text))
    return t("list.join").join(parts)


def method_text(dimension: str, method: str, bands: list[Row], t: Translate,
                money: Callable[[Any], str]) -> str:
    """How one dimension was scored, e.g. R 'by days since the last purchase, in fixed bands …'."""
    key = f"method.{dimension}.{method}"
    if method == "thresholds":
        return t(key, bands=band_list(bands, dimension, t, money))
    return t(key)


def scoring_text(variables: dict[str, Any], bands: list[Row], t: Translate,
                 money: Callable[[Any], str]) -> str:
    """The definitions page's sentence on the scoring method of R, F and M ('' when the
    build's vars do not say: a warehouse from before the methods were recorded)."""
    methods = {dimension: variables.get(f"{dimension}_score_method") for dimension in DIMENSIONS}
    if any(method not in ("quantile", "thresholds") for method in methods.values()):
        return ""
    texts = {dimension: method_text(dimension, str(method), bands, t, money)
             for dimension, method in methods.items()}
    return t("definitions.scoring", **texts)


def _score_span(low: Any, high: Any) -> tuple[int, int]:
    return (int(low) if low is not None else 1, int(high) if high is not None else 5)


def recency_days(low_score: int, high_score: int, bands: list[Row], t: Translate) -> str | None:
    """The days an R score span covers in the R bands ('60–179'), None without bands."""
    ranges = score_ranges(bands, "r")
    if low_score not in ranges or high_score not in ranges:
        return None
    # more days = lower score: the span starts at the best score's band, ends at the worst's
    return count_range(ranges[high_score][0], ranges[low_score][1], t)


def rule_text(rule: Row, bands: list[Row], variables: dict[str, Any], t: Translate) -> str:
    """One rule in words: 'R 1–2 (180+ days), FM 5' or 'first and only purchase …'."""
    parts = []
    if rule.get("is_new_customer"):
        parts.append(t("rules.new", days=variables.get("new_customer_days")))
    elif rule.get("is_new_customer") is False:
        parts.append(t("rules.not_new"))
    if rule.get("rfm8_code"):
        parts.append(t("rules.code", code=rule["rfm8_code"]))
    for dimension, label in (("r_score", "R"), ("fm_score", "FM")):
        low, high = rule.get(f"{dimension}_min"), rule.get(f"{dimension}_max")
        if low is None and high is None:
            continue
        first, last = _score_span(low, high)
        scores = str(first) if first == last else t("rules.between", low=first, high=last)
        days = (recency_days(first, last, bands, t)
                if dimension == "r_score" and variables.get("r_score_method") == "thresholds"
                else None)
        parts.append(t("rules.score_days", label=label, scores=scores, days=days) if days
                     else t("rules.score", label=label, scores=scores))
    return t("list.join").join(parts) if parts else t("rules.everyone")


def segment_rule_texts(rules: list[Row], bands: list[Row], variables: dict[str, Any],
                       t: Translate) -> dict[str, str]:
    """segment_code -> its rules in words (several rules joined with 'or')."""
    texts: dict[str, list[str]] = {}
    for rule in rules:
        texts.setdefault(rule["segment_code"], []).append(rule_text(rule, bands, variables, t))
    return {code: t("rules.or").join(parts) for code, parts in texts.items()}
