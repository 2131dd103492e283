"""Turn the mart rows of one report month into what the templates print: formatted text,
headlines and SVG charts. Formatting and layout only; every number comes from `reports.data`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from reports import rules_text, theme
from reports.chartjobs import ChartJob, ChartSlot
from reports.data import ReportData, Row
from reports.formats import MISSING, Formatter
from reports.i18n import Messages
from reports.theme import Fonts
from retail_tiers.alerts import notable_changes

TILE_KPIS = (
    "net_revenue_amount", "order_count", "aov_amount", "revenue_per_active_customer_amount",
    "active_customer_count", "new_customer_count", "repeat_rate", "churn_rate",
    "activity_rate", "median_days_first_to_second_purchase", "historical_clv_amount",
    "gross_margin_rate",
)
# How a tile prints its money value: totals abbreviated, per-order / per-customer to the cent.
SHORT_MONEY_KPIS = {"net_revenue_amount", "gross_margin_amount"}
TREND_KPIS = (
    ("net_revenue_amount", "money"), ("order_count", "count"), ("aov_amount", "money"),
    ("active_customer_count", "count"), ("new_customer_count", "count"),
    ("repeat_rate", "rate"), ("churn_rate", "rate"), ("activity_rate", "rate"),
    ("median_days_first_to_second_purchase", "days"),
)
ARROWS = {"up": "▲", "down": "▼", "flat": "="}
SOURCE_MAX_CHARS = 70
SECTION_ORDER = ("summary", "actions", "trends", "segments", "voice", "mix", "rf", "migration",
                 "cohorts", "clv", "trust", "watchlist", "campaigns", "channels", "quality")
# Sections left out (with their contents entry, bookmark and highlight) when they have no data.
OPTIONAL_SECTIONS = ("mix", "voice", "watchlist", "channels", "actions", "trust")
TOP_PLACES = 6  # stores and cities listed on the channels page
DEMO_SOURCE = "demo data (seeds/demo)"  # build_runs.input_description of the demo build
# The holdout report card's verdict by the holdout-only |% error| of the purchase forecast.
TRUST_GOOD_ERROR = 0.10
TRUST_ROUGH_ERROR = 0.25
# An NPS from fewer scored responses than this is flagged (†, an outlined bar, a hollow trend
# point) rather than shown as if precise: with 30 responses its 95% margin of error is still
# about ±25 points for a typical mix of answers, and it only grows below that.
SMALL_SAMPLE_RESPONSES = 30
SMALL_SAMPLE_MARK = "\u2020"
UNCATEGORISED = "uncategorised"  # segment_category_mix's category of lines without one
MIX_HEADLINE_MIN_SHARE = 0.1
DAYS_PER_YEAR = 365  # a window of whole years of days is named in months: 365 -> "12 months"


def shorten(text: str, limit: int = SOURCE_MAX_CHARS) -> str:
    """Keep the end of a long path (the informative part): '…/exports/2026-10'."""
    return text if len(text) <= limit else "…" + text[-(limit - 1):]


def signed_money(fmt: Formatter, amount: float) -> str:
    """A change of money with its sign: '+¥1,234', '−¥56', '¥0'."""
    text = fmt.money(abs(amount), 0)
    return text if round(amount) == 0 else ("+" if amount > 0 else "\u2212") + text


def localized(row: Row, column: str, lang: str) -> str:
    """row['<column>_<lang>'], falling back to English, then to the code."""
    return str(row.get(f"{column}_{lang}") or row.get(f"{column}_en") or "")


def previous_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


HEAT_STEPS = 8


def heat_steps(values: list[list[Any]]) -> list[list[int | None]]:
    """Each heatmap cell's colour step 0..HEAT_STEPS-1 (theme.HEAT_PALETTE), from 0 (or the
    smallest value, if negative) to the largest value; None for empty cells."""
    numbers = [float(v) for row in values for v in row if v is not None]
    high = max(numbers, default=0.0)
    low = min(min(numbers, default=0.0), 0.0)
    result: list[list[int | None]] = []
    for row in values:
        line: list[int | None] = []
        for value in row:
            if value is None:
                line.append(None)
                continue
            share = (float(value) - low) / (high - low) if high > low else 0.0
            line.append(min(int(share * HEAT_STEPS), HEAT_STEPS - 1))
        result.append(line)
    return result


class Sections:
    """Builds the template context of one report month, section by section. Charts are
    recorded as jobs (self.slots) and drawn afterwards, see reports.chartjobs."""

    def __init__(self, data: ReportData, fmt: Formatter, t: Messages, fonts: Fonts) -> None:
        self.slots: list[ChartSlot] = []
        self.data = data
        self.fmt = fmt
        self.t = t
        self.fonts = fonts
        self.lang = fmt.lang
        self.window = int(data.run.vars.get("rfm_window_days") or DAYS_PER_YEAR)

    # ---- value formatting -------------------------------------------------------------------
    def kpi_value(self, kpi: str, kind: str, value: Any, tile: bool = True) -> str:
        fmt = self.fmt
        if value is None:
            return MISSING
        if kind == "money":
            if kpi in SHORT_MONEY_KPIS and tile:
                return fmt.short_money(value)
            return fmt.money(value, 2)
        if kind == "rate":
            return fmt.percent(value, 1)
        if kind == "days":
            return fmt.days(value, 0 if float(value).is_integer() else 1)
        return fmt.integer(value)

    def kpi_change(self, row: Row, sentence: bool = False) -> str:
        fmt = self.fmt
        if row["change_amount"] is None:
            return ""
        if row["value_kind"] == "rate":
            return fmt.change_points(row["change_amount"], sentence=sentence)
        if row["value_kind"] == "days":
            return fmt.change_days(row["change_amount"])
        if row.get("change_rate") is not None:
            return fmt.change_rate(row["change_rate"])
        if row["value_kind"] == "money":
            text = fmt.money(abs(row["change_amount"]), 2)
        else:
            text = fmt.integer(abs(row["change_amount"]))
        return ("+" if row["change_amount"] >= 0 else "\u2212") + text

    def kpi_year_change(self, row: Row) -> str:
        """同比: the change against the same month a year earlier, as the tile shows changes."""
        if row.get("year_ago_value") is None or row.get("year_over_year_change_amount") is None:
            return ""
        return self.kpi_change({**row, "change_amount": row["year_over_year_change_amount"],
                                "change_rate": row["year_over_year_change_rate"]})

    def chart(self, function: str, alt: str = "", **arguments: Any) -> ChartSlot:
        """A slot for a chart of reports.charts, drawn later with all the others."""
        slot = ChartSlot(ChartJob(function, {**arguments, "fmt": self.fmt,
                                             "fonts": self.fonts}), alt=alt)
        self.slots.append(slot)
        return slot

    # ---- summary ----------------------------------------------------------------------------
    def tiles(self) -> list[dict[str, Any]]:
        previous = self.fmt.month_short(previous_month(self.data.month.month_start_on))
        tiles = []
        for kpi in TILE_KPIS:
            row = self.data.kpis.get(kpi)
            if row is None:
                continue
            if row["is_improvement"] is True:
                tone, word = "good", self.t("tile.better")
            elif row["is_improvement"] is False:
                tone, word = "bad", self.t("tile.worse")
            elif row["direction"] == "flat":
                tone, word = "neutral", self.t("tile.unchanged")
            else:
                tone, word = "neutral", ""
            tiles.append({
                "kpi": kpi,
                "label": self.t(f"kpi.{kpi}"),
                "value": self.kpi_value(kpi, row["value_kind"], row["value"]),
                "arrow": ARROWS.get(row["direction"] or "", ""),
                "change": self.kpi_change(row),
                "tone": tone,
                "word": word,
                "versus": (self.t("tile.vs_previous", month=previous)
                           if row["previous_value"] is not None else self.t("tile.no_previous")),
                "year": (self.t("tile.yoy", change=self.kpi_year_change(row))
                         if self.kpi_year_change(row) else self.t("tile.no_year_ago")),
                "notable": bool(row.get("is_notable")),
            })
        return tiles

    def notable_sentences(self, limit: int = 2) -> list[str]:
        """The month's most unusual KPI changes in plain words (the same list as `retail-tiers
        alerts`), e.g. 'Repeat rate fell 1.6 pp to 65.4%, a 13-month low (usually ±0.7 pp)'."""
        sentences = []
        for row in notable_changes(self.data.kpis.values())[:limit]:
            kpi = row["kpi_code"]
            typical = row["typical_change_amount"]
            usual = (self.t("headline.notable_usual", change=self.kpi_change(
                {**row, "change_amount": typical, "change_rate": None},
                sentence=True).lstrip("+\u2212"))
                if typical else self.t("headline.notable_never"))
            extreme = (self.t(f"headline.notable_{row['trailing_extreme']}")
                       if row["trailing_extreme"] else "")
            sentences.append(self.t(
                f"headline.notable_{row['direction']}", kpi=self.t(f"kpi.{kpi}"),
                # in the unit of the usual variation: by how much, not by what percent
                change=self.kpi_change({**row, "change_rate": None},
                                       sentence=True).lstrip("+\u2212"),
                value=self.kpi_value(kpi, row["value_kind"], row["value"]),
                extreme=extreme, usual=usual))
        return sentences

    def summary_headline(self) -> str:
        """The notable changes first (outside the usual variation, most unusual first), then
        revenue; a change within the usual variation (a −0.1 pp churn move) is not news."""
        t, kpis = self.t, self.data.kpis
        parts = self.notable_sentences()
        leading = {row["kpi_code"] for row in notable_changes(kpis.values())[:len(parts)]}
        revenue = kpis.get("net_revenue_amount")
        if revenue and revenue["value"] is not None and "net_revenue_amount" not in leading:
            value = self.fmt.short_money(revenue["value"])
            change = self.kpi_change(revenue).lstrip("+\u2212")
            key = {"up": "revenue_up", "down": "revenue_down", "flat": "revenue_flat"}.get(
                revenue["direction"] or "", "revenue_only")
            parts.append(t(f"headline.{key}", change=change, value=value))
        if parts and not leading:
            parts.append(t("headline.nothing_notable"))
        return t("headline.join").join(parts)

    # ---- trends -----------------------------------------------------------------------------
    def trend_charts(self) -> list[dict[str, Any]]:
        months = [row["month_start_on"] for row in self.data.trend]
        result = []
        for kpi, kind in TREND_KPIS:
            values = [row[kpi] for row in self.data.trend]
            values = [float(v) if v is not None else None for v in values]
            slot = self.chart("trend_chart", alt=self.t(f"kpi.{kpi}"), months=months,
                              values=values, kind=kind, chart_id=f"trend-{kpi}")
            latest = self.data.trend[-1][kpi] if self.data.trend else None
            result.append({"label": self.t(f"kpi.{kpi}"), "svg": slot,
                           "value": self.kpi_value(kpi, kind, latest)})
        return result

    def trend_table(self) -> list[dict[str, Any]]:
        fmt = self.fmt
        rows = []
        for row in reversed(self.data.trend):
            month = fmt.month_short(row["month_start_on"])
            note = ("" if row["is_complete_month"]
                    else self.t("trends.partial", date=fmt.date(row["month_end_on"])))
            rows.append({
                "month": month,
                "note": note,
                "is_report_month": row["month_start_on"] == self.data.month.month_start_on,
                "cells": [
                    fmt.money(row["net_revenue_amount"], 2),
                    fmt.integer(row["order_count"]),
                    fmt.money(row["aov_amount"], 2),
                    fmt.integer(row["active_customer_count"]),
                    fmt.integer(row["new_customer_count"]),
                    fmt.percent(row["repeat_rate"]),
                    fmt.percent(row["churn_rate"]),
                    fmt.percent(row["activity_rate"]),
                    *([fmt.integer(row["prospects_at_month_end"]),
                       fmt.percent(row["prospect_conversion_rate"])]
                      if self.has_prospects() else []),
                ],
            })
        return rows

    def has_prospects(self) -> bool:
        """Whether the trend table shows prospects: only with registered customers who had
        not bought (a customers file) in some month of the trend."""
        return any(row.get("prospect_pool") for row in self.data.trend)

    def trends_headline(self) -> str:
        revenue = self.data.kpis.get("net_revenue_amount")
        count = len(self.data.trend)
        if revenue and revenue["year_over_year_change_rate"] is not None:
            year_ago = self.data.month.month_start_on.replace(
                year=self.data.month.month_start_on.year - 1)
            return self.t("headline.trends_yoy",
                          change=self.fmt.change_rate(revenue["year_over_year_change_rate"]),
                          month=self.fmt.month_short(year_ago), count=count)
        return self.t("headline.trends", count=count)

    # ---- segments ---------------------------------------------------------------------------
    def segment_rows(self) -> list[dict[str, Any]]:
        fmt = self.fmt
        rules = rules_text.segment_rule_texts(self.data.segment_rules, self.data.score_bands,
                                              self.data.run.vars, self.t)
        month_end = fmt.date(self.data.month.month_end_on)
        return [{
            "code": row["segment_code"],
            "name": localized(row, "segment_name", self.lang),
            "action": localized(row, "action", self.lang),
            "customers": fmt.integer(row["customer_count"]),
            "customer_share": fmt.percent(row["customer_share_rate"]),
            "revenue_share": fmt.percent(row["revenue_share_rate"]),
            "aov": fmt.money(row["average_order_value_amount"], 2),
            "clv": fmt.money(row["mean_historical_clv_amount"], 2),
            "recency": fmt.number(row["mean_days_since_last_order"], 0),
            # the change since last month's end: customers, and the month's net revenue
            "customer_change": (fmt.signed_integer(row["customer_count"]
                                                   - row["previous_customer_count"])
                                if row.get("previous_customer_count") is not None else MISSING),
            "revenue_change": (signed_money(fmt, float(row["month_net_revenue"] or 0)
                                            - float(row["previous_month_net_revenue"] or 0))
                               if row.get("previous_customer_count") is not None else MISSING),
            "is_empty": row["customer_count"] == 0,
            # an empty segment says why instead of a row of zeros: who its rule would hold
            "empty_note": (self.t("segments.empty", date=month_end,
                                  rule=rules.get(row["segment_code"], row["segment_code"]))
                           if row["customer_count"] == 0 else None),
        } for row in self.data.segments]

    def scoring_text(self) -> str:
        """Which method scored R, F and M in this build (definitions page)."""
        return rules_text.scoring_text(self.data.run.vars, self.data.score_bands, self.t,
                                       lambda value: self.fmt.money(value, 0))

    def segments_headline(self) -> str:
        rows = [row for row in self.data.segments if row["revenue_share_rate"] is not None]
        if not rows:
            return ""
        top = max(rows, key=lambda row: (row["revenue_share_rate"], -row["segment_priority"]))
        return self.t("headline.segments", segment=localized(top, "segment_name", self.lang),
                      share=self.fmt.percent(top["customer_share_rate"]),
                      revenue_share=self.fmt.percent(top["revenue_share_rate"]))

    def segment_chart(self) -> ChartSlot:
        rows = self.data.segments
        return self.chart(
            "share_bars", alt=self.t("segments.chart_revenue"),
            labels=[localized(row, "segment_name", self.lang) for row in rows],
            first=[float(row["customer_share_rate"] or 0) for row in rows],
            second=[float(row["revenue_share_rate"] or 0) for row in rows],
            legend=(self.t("segments.chart_customers"), self.t("segments.chart_revenue")),
            chart_id="segments", width_mm=178, label_mm=36)

    # ---- category mix -----------------------------------------------------------------------
    def window_period(self) -> str:
        """The RFM window in words: "last 12 months" for 365 days (whole years of days are
        named in months), else "last N days"."""
        if self.window % DAYS_PER_YEAR == 0:
            return self.t("period.months", count=12 * self.window // DAYS_PER_YEAR)
        return self.t("period.days", count=self.window)

    def category_label(self, row: Row) -> str:
        if row["is_other"]:
            return self.t("mix.other")
        if row["category"] is None or row["category"] == UNCATEGORISED:
            return self.t("mix.none")
        return self.display("category", str(row["category"]))

    def mix(self, as_of_note: str | None = None) -> dict[str, Any] | None:
        """100% bars of each segment's net revenue over the RFM window up to the as-of date, by
        category (segments as of that date). None when nobody bought in the window; only
        `as_of_note` for a month before the as-of month (the mart is as of the as-of date)."""
        rows = self.data.category_mix
        if not rows:
            return None
        if as_of_note is not None:
            return {"forecast_note": as_of_note}
        series: dict[tuple[bool, str | None], str] = {}
        segments: dict[str, Row] = {}
        shares: dict[tuple[str, tuple[bool, str | None]], float] = {}
        for row in sorted(rows, key=lambda row: (row["is_other"], row["category_rank"])):
            key = (bool(row["is_other"]), row["category"])
            series.setdefault(key, self.category_label(row))
        for row in rows:
            segments.setdefault(row["segment_code"], row)
            key = (bool(row["is_other"]), row["category"])
            shares[(row["segment_code"], key)] = float(row["net_revenue_share"] or 0)
        keys = list(series)
        colours = [theme.OTHER_COLOUR if is_other
                   else theme.CATEGORY_COLOURS[index % len(theme.CATEGORY_COLOURS)]
                   for index, (is_other, _) in enumerate(keys)]
        hatched = [is_other for is_other, _ in keys]
        labels = [localized(row, "segment_name", self.lang) or code
                  for code, row in segments.items()]
        period = self.window_period()
        chart_title = self.t("mix.chart_title", period=period)
        chart = self.chart(
            "stacked_shares", alt=chart_title, labels=labels,
            shares=[[shares.get((code, key), 0.0) for key in keys] for code in segments],
            colours=colours, hatched=hatched,
            totals=[self.fmt.short_money(row["segment_net_revenue_amount"])
                    for row in segments.values()],
            chart_id="category-mix")
        legend = [{"label": series[key], "fill": colour[0], "hatched": flag}
                  for key, colour, flag in zip(keys, colours, hatched, strict=True)]
        other = self.t("mix.other_note", count=len(keys) - 1) if any(hatched) else ""
        return {"headline": self.mix_headline(segments, shares, keys, series, period),
                "chart_title": chart_title, "chart": chart, "legend": legend,
                "note": self.t("mix.note", date=self.fmt.date(self.data.run.as_of_date),
                               window=self.window, other=other),
                "forecast_note": None}

    def mix_headline(self, segments: dict[str, Row],
                     shares: dict[tuple[str, tuple[bool, str | None]], float],
                     keys: list[tuple[bool, str | None]],
                     series: dict[tuple[bool, str | None], str], period: str) -> str:
        """Where the segments differ most over the window (`period`, e.g. "last 12 months"):
        the category whose share of net revenue varies most between segments (ties: the larger
        category), with its highest and lowest segment; with one segment, that segment's
        largest category. Segments with less than MIX_HEADLINE_MIN_SHARE of the window's net
        revenue are left out of the comparison (a handful of orders makes extreme shares)."""
        categories = [key for key in keys if not key[0]]
        revenue = {code: float(row["segment_net_revenue_amount"] or 0)
                   for code, row in segments.items()}
        total = sum(revenue.values())
        codes = [code for code in segments if total > 0
                 and revenue[code] >= MIX_HEADLINE_MIN_SHARE * total]
        if not categories or not codes:
            return ""
        fmt = self.fmt

        def share(code: str, key: tuple[bool, str | None]) -> float:
            return shares.get((code, key), 0.0)

        def name(code: str) -> str:
            return localized(segments[code], "segment_name", self.lang) or code

        if len(codes) == 1:
            top = max(categories, key=lambda key: (share(codes[0], key), -keys.index(key)))
            return self.t("headline.mix_one", category=series[top], segment=name(codes[0]),
                          share=fmt.percent(share(codes[0], top), 0), period=period)

        def gap(key: tuple[bool, str | None]) -> float:
            values = [share(code, key) for code in codes]
            return max(values) - min(values)

        widest = max(categories, key=lambda key: (round(gap(key), 9), -keys.index(key)))
        high = max(codes, key=lambda code: share(code, widest))
        low = min(codes, key=lambda code: share(code, widest))
        return self.t("headline.mix", category=series[widest], high=name(high),
                      high_share=fmt.percent(share(high, widest), 0), low=name(low),
                      low_share=fmt.percent(share(low, widest), 0), period=period)

    # ---- customer voice ---------------------------------------------------------------------
    def segment_label(self, row: Row) -> str:
        return localized(row, "segment_name", self.lang) or str(row["segment_code"])

    def voice(self) -> dict[str, Any] | None:
        """NPS and satisfaction by segment, and their 13-month trend (None: no responses)."""
        segments, trend = self.data.feedback_segments, self.data.feedback_trend
        if not any((row["responses"] or 0) > 0 for row in [*segments, *trend]):
            return None
        fmt = self.fmt
        month = self.data.month.month_start_on
        by_month = {row["month_start_on"]: row for row in trend}
        current, previous = by_month.get(month), by_month.get(previous_month(month))
        heard = [row for row in segments if row["responses"]]
        rows = [{
            "code": row["segment_code"],
            "name": self.segment_label(row),
            "customers": fmt.integer(row["segment_customers"]),
            "responses": fmt.integer(row["responses"]),
            "response_rate": fmt.percent(row["response_rate"]),
            "nps": fmt.nps(row["nps"]),
            "promoters": fmt.percent(row["promoter_share"], 0),
            "passives": fmt.percent(row["passive_share"], 0),
            "detractors": fmt.percent(row["detractor_share"], 0),
            "satisfaction": fmt.score(row["mean_satisfaction"]),
            "small": (row["scored_responses"] or 0) < SMALL_SAMPLE_RESPONSES,
        } for row in heard]
        silent = [self.segment_label(row) for row in segments if not row["responses"]]
        change = (current["nps"] - previous["nps"]
                  if current and previous and current["nps"] is not None
                  and previous["nps"] is not None else None)
        return {
            "headline": self.voice_headline(current, change),
            "rows": rows,
            "silent": self.t("voice.silent", segments=self.t("list.join").join(silent))
            if silent and heard else "",
            "chart": self.nps_chart(heard) if heard else None,
            "trend": self.voice_trend(by_month),
            "threshold": SMALL_SAMPLE_RESPONSES,
            "mark": SMALL_SAMPLE_MARK,
            "has_small": any(row["small"] for row in rows),
        }

    def voice_headline(self, current: Row | None, change: float | None) -> str:
        fmt, t = self.fmt, self.t
        month = self.data.month.month_start_on
        if current is None or current["nps"] is None:
            return t("headline.voice_none", month=fmt.month_short(month))
        parts = [t("headline.voice", nps=fmt.nps(current["nps"]), month=fmt.month_short(month))
                 if change is None else
                 t("headline.voice_change", nps=fmt.nps(current["nps"]),
                   month=fmt.month_short(month), change=fmt.change_nps(change),
                   previous=fmt.month_short(previous_month(month)))]
        reliable = [row for row in self.data.feedback_segments
                    if row["nps"] is not None
                    and (row["scored_responses"] or 0) >= SMALL_SAMPLE_RESPONSES]
        if len(reliable) >= 2:
            top = max(reliable, key=lambda row: row["nps"])
            bottom = min(reliable, key=lambda row: row["nps"])
            if top["nps"] > bottom["nps"]:
                parts.append(t("headline.voice_extremes", top=self.segment_label(top),
                               top_nps=fmt.nps(top["nps"]), bottom=self.segment_label(bottom),
                               bottom_nps=fmt.nps(bottom["nps"])))
        return t("headline.join").join(parts)

    def nps_chart(self, rows: list[Row]) -> ChartSlot:
        """NPS of the segments that answered, in the table's order."""
        weak = [(row["scored_responses"] or 0) < SMALL_SAMPLE_RESPONSES for row in rows]
        return self.chart(
            "nps_bars", alt=self.t("voice.chart_title"),
            labels=[self.segment_label(row) for row in rows],
            values=[float(row["nps"]) if row["nps"] is not None else None for row in rows],
            notes=[self.t("voice.chart_n", count=self.fmt.integer(row["scored_responses"]))
                   if flag else ""
                   for row, flag in zip(rows, weak, strict=True)],
            weak=weak, x_title=self.t("voice.chart_x"),
            empty_text=self.t("voice.no_responses"), chart_id="nps-segments",
            height_mm=16 + 8 * len(rows))

    def voice_trend(self, by_month: dict[dt.date, Row]) -> list[dict[str, Any]]:
        months = [row["month_start_on"] for row in self.data.trend] or sorted(by_month)
        found = [by_month.get(month) for month in months]
        weak = [row is not None and (row["responses"] or 0) < SMALL_SAMPLE_RESPONSES
                for row in found]
        charts = []
        for column, kind, text in (("nps", "nps", self.fmt.nps),
                                   ("mean_satisfaction", "score", self.fmt.score),
                                   ("responses", "count", self.fmt.integer)):
            values = [float(row[column]) if row and row[column] is not None else None
                      for row in found]
            slot = self.chart("trend_chart", alt=self.t(f"voice.trend_{column}"),
                              months=months, values=values, kind=kind,
                              weak=weak if column != "responses" else None,
                              chart_id=f"voice-{column}", height_mm=44)
            latest = found[-1][column] if found and found[-1] else None
            charts.append({"label": self.t(f"voice.trend_{column}"), "svg": slot,
                           "value": text(latest) if latest is not None else MISSING})
        return charts

    # ---- heatmap tables ---------------------------------------------------------------------
    @staticmethod
    def grid(values: list[list[Any]], texts: list[list[str]], row_labels: list[str],
             column_labels: list[str], row_notes: list[str] | None = None,
             outline: set[tuple[int, int]] | None = None,
             subs: list[list[str]] | None = None) -> dict[str, Any]:
        """A heatmap as table data: per cell its text and colour step (heat_steps)."""
        steps = heat_steps(values)
        rows = []
        for r, label in enumerate(row_labels):
            cells = []
            for c in range(len(column_labels)):
                cells.append({"text": texts[r][c], "sub": subs[r][c] if subs else "",
                              "step": steps[r][c],
                              "outline": bool(outline and (r, c) in outline)})
            rows.append({"label": label, "note": row_notes[r] if row_notes else "",
                         "cells": cells})
        return {"columns": column_labels, "rows": rows}

    # ---- migration --------------------------------------------------------------------------
    def migration_grid(self) -> dict[str, Any] | None:
        rows = self.data.migration
        if not rows:
            return None
        sources: dict[str, str] = {}
        targets: dict[str, str] = {}
        cells: dict[tuple[str, str], int] = {}
        for row in rows:
            source = row["from_segment_code"]
            sources.setdefault(source, self.t("migration.new") if source == "none"
                               else localized(row, "from_segment_name", self.lang))
            targets.setdefault(row["to_segment_code"],
                               localized(row, "to_segment_name", self.lang))
            cells[(source, row["to_segment_code"])] = int(row["customer_count"])
        source_keys, target_keys = list(sources), list(targets)
        values = [[cells.get((s, d), 0) or None for d in target_keys] for s in source_keys]
        texts = [[self.fmt.integer(v) if v else "" for v in line] for line in values]
        outline = {(r, c) for r, s in enumerate(source_keys) for c, d in enumerate(target_keys)
                   if s == d}
        return self.grid(values, texts, [sources[k] for k in source_keys],
                         [targets[k] for k in target_keys], outline=outline)

    def migration_headline(self) -> str:
        """Net upgrades against downgrades, and why the movers moved (bought or aged)."""
        totals = self.data.migration_totals
        moved = sum(int((totals or {}).get(key) or 0) for key in (
            "upgraded_customers", "downgraded_customers", "lateral_customers"))
        if totals is None or moved == 0:
            return self.t("headline.migration_none")
        fmt = self.fmt
        up, down = int(totals["upgraded_customers"] or 0), int(totals["downgraded_customers"] or 0)
        return self.t("headline.migration", up=fmt.integer(up), down=fmt.integer(down),
                      net=fmt.signed_integer(up - down),
                      bought=fmt.integer(totals["moved_bought_customers"]),
                      aged=fmt.integer(totals["moved_aged_customers"]))

    def migration_moves(self) -> list[dict[str, Any]]:
        """The largest moves between segments, each split by why its customers moved."""
        fmt = self.fmt
        return [{
            "source": localized(row, "from_segment_name", self.lang),
            "target": localized(row, "to_segment_name", self.lang),
            "direction": self.t(f"migration.direction_{row['move_direction']}"),
            "customers": fmt.integer(row["customer_count"]),
            "bought": fmt.integer(row["bought_customer_count"]),
            "aged": fmt.integer(row["aged_customer_count"]),
            "rescored": fmt.integer(row["rescored_customer_count"]),
        } for row in self.data.migration_moves]

    # ---- R x F ------------------------------------------------------------------------------
    def rf_grid(self) -> dict[str, Any]:
        cells = {(row["r_score"], row["f_score"]): row for row in self.data.rf_grid}
        r_scores, f_scores = [5, 4, 3, 2, 1], [1, 2, 3, 4, 5]
        values = [[cells[(r, f)]["customer_count"] if (r, f) in cells else None
                   for f in f_scores] for r in r_scores]
        texts = [[self.fmt.integer(cells[(r, f)]["customer_count"]) if (r, f) in cells else ""
                  for f in f_scores] for r in r_scores]
        subs = [[self.fmt.percent(cells[(r, f)]["customer_share_rate"]) if (r, f) in cells
                 else "" for f in f_scores] for r in r_scores]
        return self.grid(values, texts, [f"R {r}" for r in r_scores],
                         [f"F {f}" for f in f_scores], subs=subs)

    def rf_headline(self) -> str:
        cell = self.data.largest_rf_cell
        if cell is None:
            return ""
        return self.t("headline.rf", count=self.fmt.integer(cell["customer_count"]),
                      share=self.fmt.percent(cell["customer_share_rate"]),
                      r=cell["r_score"], f=cell["f_score"])

    # ---- cohorts ----------------------------------------------------------------------------
    def cohort_grid(self) -> dict[str, Any] | None:
        rows = self.data.cohorts
        if not rows:
            return None
        cohorts: dict[dt.date, int] = {}
        for row in rows:
            cohorts.setdefault(row["cohort_month_start_on"], row["cohort_customer_count"])
        offsets = sorted({row["months_since_first_purchase"] for row in rows})
        cells = {(row["cohort_month_start_on"], row["months_since_first_purchase"]):
                 row["retention_rate"] for row in rows}
        keys = sorted(cohorts)
        # Month 0 is 100% by definition: left white so the shades compare later months.
        values = [[cells.get((c, k)) if k > 0 else None for k in offsets] for c in keys]
        texts = [[self.fmt.percent(cells[(c, k)], 0) if (c, k) in cells else ""
                  for k in offsets] for c in keys]
        return self.grid(values, texts, [self.fmt.month_short(c) for c in keys],
                         [str(k) for k in offsets],
                         row_notes=[self.fmt.integer(cohorts[c]) for c in keys])

    def cohorts_headline(self) -> str:
        last_cohort = previous_month(self.data.month.month_start_on)
        for row in self.data.cohorts:
            if (row["cohort_month_start_on"] == last_cohort
                    and row["months_since_first_purchase"] == 1):
                return self.t("headline.cohorts", rate=self.fmt.percent(row["retention_rate"]),
                              cohort=self.fmt.month_short(last_cohort))
        return self.t("headline.cohorts_plain")

    # ---- CLV --------------------------------------------------------------------------------
    def clv(self) -> dict[str, Any] | None:
        deciles, bands = self.data.clv_deciles, self.data.clv_bands
        if not deciles or not bands:
            return None
        fmt = self.fmt
        top = deciles[-1]
        threshold = top["min_predicted_clv_amount"]
        edges = [fmt.axis_money(band["lower_amount"]) for band in bands]
        edges.append("")
        reaching_top = [band["is_open_ended"] or band["upper_amount"] > threshold
                        for band in bands]
        histogram = self.chart(
            "histogram", alt=self.t("clv.histogram_title"), edge_labels=edges,
            counts=[int(band["customer_count"]) for band in bands], highlight=reaching_top,
            legend=(self.t("clv.histogram_rest"),
                    self.t("clv.histogram_top", threshold=fmt.money(threshold, 2))),
            x_title=self.t("clv.histogram_x", last=fmt.axis_money(bands[-1]["lower_amount"])),
            y_title=self.t("clv.histogram_y"), chart_id="clv-histogram", width_mm=104,
            height_mm=50)
        decile_chart = self.chart(
            "column_shares", alt=self.t("clv.deciles_title"),
            labels=[str(row["decile"]) for row in deciles],
            shares=[float(row["clv_share_rate"] or 0) for row in deciles],
            highlight=[row["decile"] == top["decile"] for row in deciles],
            x_title=self.t("clv.deciles_x"), y_title=self.t("clv.deciles_y"),
            chart_id="clv-deciles", width_mm=70, height_mm=46)
        context = self.data.clv_context or {}
        headline = self.t("headline.clv", share=fmt.percent(top["clv_share_rate"]))
        if context.get("predicted_to_trailing_ratio") is not None:
            headline = self.t(
                "headline.clv_context", forecast=fmt.short_money(context["predicted_clv_amount"]),
                customers=fmt.integer(context["customer_count"]),
                months=fmt.integer(context["clv_months"]),
                ratio=fmt.percent(context["predicted_to_trailing_ratio"]))
        return {
            "headline": headline,
            "customers": fmt.integer(top["all_customer_count"]),
            "total": fmt.short_money(top["all_predicted_clv_amount"]),
            "trailing": fmt.short_money(context.get("trailing_gross_margin_amount")),
            "top_share": fmt.percent(top["clv_share_rate"]),
            "months": fmt.integer(context.get("clv_months")),
            "histogram": histogram,
            "deciles": decile_chart,
            "context": self.clv_context_text(),
            "note": self.t("clv.note", model=self.purchase_model_name(),
                           months=fmt.integer(context.get("clv_months")),
                           rate=fmt.percent(self.data.run.vars.get("clv_monthly_discount_rate")),
                           date=fmt.date(self.data.run.as_of_date)),
        }

    def clv_context_text(self) -> str | None:
        """What is forecast and for whom, beside the same customers' trailing gross margin
        (report_clv_context) and the total's 90% interval (prediction_totals)."""
        context, totals = self.data.clv_context, self.data.prediction_totals
        if not context:
            return None
        fmt = self.fmt
        text = self.t(
            "clv.context", customers=fmt.integer(context["customer_count"]),
            date=fmt.date(context["as_of_date"]), months=fmt.integer(context["clv_months"]),
            forecast=fmt.short_money(context["predicted_clv_amount"]),
            rate=fmt.percent(self.data.run.vars.get("clv_monthly_discount_rate")),
            trailing=fmt.short_money(context["trailing_gross_margin_amount"]),
            start=fmt.date(context["trailing_start_on"]),
            buyers=fmt.integer(context["trailing_buyer_count"]),
            ratio=fmt.percent(context["predicted_to_trailing_ratio"]))
        if totals:
            text += ("" if fmt.lang == "zh" else " ") + self.t("clv.interval",
                                 low=fmt.short_money(totals["predicted_clv_lower"]),
                                 high=fmt.short_money(totals["predicted_clv_upper"]))
        return text

    def purchase_model_name(self) -> str:
        model = (self.data.purchase_model or {}).get("model") or "bg_nbd"
        return self.t(f"trust.model_{model}")

    # ---- can you trust the forecast? (the holdout report card) -------------------------------
    def trust(self) -> dict[str, Any] | None:
        data, fmt, t = self.data, self.fmt, self.t
        holdout = data.holdout_totals.get("holdout")
        if not data.holdout_tracking or holdout is None or holdout["error_rate"] is None:
            return None
        cumulative = data.holdout_totals.get("cumulative") or {}
        error = float(holdout["error_rate"])
        level = ("good" if abs(error) <= TRUST_GOOD_ERROR
                 else "rough" if abs(error) <= TRUST_ROUGH_ERROR else "poor")
        direction = "under" if error < 0 else "over"
        weeks = data.holdout_tracking
        first_holdout = next(row["week_number"] for row in weeks if row["is_holdout"])
        tracking = self.chart(
            "tracking_chart", alt=t("trust.tracking_title"),
            weeks=[int(row["week_number"]) for row in weeks],
            actual=[float(row["actual_cumulative_orders"]) for row in weeks],
            expected=[float(row["expected_cumulative_orders"]) for row in weeks],
            holdout_from=int(first_holdout),
            legend=(t("trust.actual"), t("trust.expected"), t("trust.holdout")),
            x_title=t("trust.tracking_x"), y_title=t("trust.tracking_y"),
            chart_id="trust-tracking", height_mm=74)
        by_frequency = data.holdout_by_frequency
        frequency_chart = self.chart(
            "paired_columns", alt=t("trust.frequency_title"),
            labels=[row["calibration_frequency_label"] for row in by_frequency],
            actual=[float(row["actual_orders_per_customer"]) for row in by_frequency],
            expected=[float(row["expected_orders_per_customer"]) for row in by_frequency],
            legend=(t("trust.actual"), t("trust.expected")),
            x_title=t("trust.frequency_x"), y_title=t("trust.frequency_y"),
            chart_id="trust-frequency", height_mm=74)
        model = data.purchase_model or {}
        basis = model.get("selection_basis") or "default"
        return {
            "headline": t(f"trust.verdict_{level}", weeks=holdout["holdout_weeks"],
                          error=fmt.change_rate(error), direction=t(f"trust.{direction}")),
            "actual": fmt.integer(holdout["actual_orders"]),
            "expected": fmt.number(holdout["expected_orders"], 0),
            "error": fmt.change_rate(error),
            "cumulative_error": fmt.change_rate(cumulative.get("error_rate")),
            "tracking": tracking,
            "frequency": frequency_chart,
            "rows": [{
                "label": row["calibration_frequency_label"],
                "customers": fmt.integer(row["customer_count"]),
                "actual": fmt.integer(row["actual_orders"]),
                "expected": fmt.number(row["expected_orders"], 1),
            } for row in by_frequency],
            "note": t("trust.note", weeks=holdout["holdout_weeks"],
                      calibration_end=fmt.date(holdout["calibration_end_on"]),
                      model=t(f"trust.model_{model['model']}") if model else MISSING,
                      reason=t(f"trust.basis_{basis}", error=fmt.change_rate(
                          model.get("holdout_error_rate")))),
        }

    # ---- watchlist --------------------------------------------------------------------------
    def watchlist(self, forecast_note: str | None) -> dict[str, Any]:
        fmt, t = self.fmt, self.t
        if forecast_note is not None:
            return {"rows": [], "forecast_note": forecast_note}
        summary = self.data.watchlist_summary or {"customer_count": 0}
        count = summary["customer_count"] or 0

        def stage(code: str | None) -> str:
            return t(f"stage.{code}") if code and t.has(f"stage.{code}") else (code or MISSING)

        rows = [{
            "customer": row["masked_customer_id"],
            "segment": localized(row, "segment_name", self.lang) or row["segment_code"],
            "stage": stage(row["lifecycle_stage"]),
            "days": fmt.integer(row["days_since_last_order"]),
            "orders": fmt.integer(row["lifetime_orders"]),
            "revenue": fmt.money(row["lifetime_net_revenue"], 2),
            "clv": fmt.money(row["predicted_clv"], 2),
            "churn": fmt.percent(row["churn_probability"], 0),
            "value_at_risk": fmt.money(row["value_at_risk_amount"], 2),
        } for row in self.data.watchlist]
        variables = self.data.run.vars
        return {
            "rows": rows,
            "forecast_note": None,
            "headline": (t("headline.watchlist", count=fmt.integer(count),
                           value=fmt.short_money(summary.get("value_at_risk_amount") or 0))
                         if count else t("headline.watchlist_none")),
            "note": t("watchlist.note", shown=len(rows), count=fmt.integer(count),
                      threshold=fmt.percent(variables.get("churn_alert_threshold"), 0),
                      top_share=fmt.percent(variables.get("watchlist_top_clv_share"), 0)),
        }

    # ---- campaigns --------------------------------------------------------------------------
    def campaign_rows(self) -> list[dict[str, Any]]:
        fmt = self.fmt
        result = []
        for row in self.data.campaigns:
            has_ci = row["conversion_uplift_lower"] is not None
            result.append({
                "name": row["campaign_name"] or row["campaign_id"],
                "channel": self.display("campaign_channel", row["channel"]) if row["channel"]
                else MISSING,
                "dates": fmt.date_range(row["starts_on"], row["ends_on"]),
                "open": not row["is_attribution_complete"],
                "contacted": fmt.integer(row["contacted_customer_count"]),
                "control_size": fmt.integer(row["control_customer_count"])
                if row["has_control_group"] else MISSING,
                "conversion": fmt.percent(row["conversion_rate"]),
                "control": fmt.percent(row["control_conversion_rate"]),
                "uplift": fmt.change_points(row["conversion_uplift"]),
                "ci": (f"{fmt.change_points(row['conversion_uplift_lower'])} … "
                       f"{fmt.change_points(row['conversion_uplift_upper'])}"
                       if has_ci else MISSING),
                "cost": fmt.money(row["cost_amount"], 0),
                "incremental_margin": fmt.money(row["incremental_gross_margin_amount"], 0),
                "incremental_roi": fmt.percent(row["incremental_roi"], 0),
                "roi": fmt.percent(row["roi"], 0),
            })
        return result

    def campaign_chart(self) -> ChartSlot | None:
        rows = [row for row in self.data.campaigns if row["conversion_uplift"] is not None]
        if not rows:
            return None
        return self.chart(
            "uplift_chart", alt=self.t("campaigns.chart_x"),
            labels=[row["campaign_name"] or row["campaign_id"] for row in rows],
            uplift=[row["conversion_uplift"] for row in rows],
            low=[row["conversion_uplift_lower"] for row in rows],
            high=[row["conversion_uplift_upper"] for row in rows],
            significant=[row["conversion_uplift_lower"] is not None
                         and (row["conversion_uplift_lower"] > 0
                              or row["conversion_uplift_upper"] < 0) for row in rows],
            x_title=self.t("campaigns.chart_x"), chart_id="campaigns", width_mm=178)

    # ---- this month's actions ----------------------------------------------------------------
    def change_rows(self) -> list[dict[str, Any]]:
        """Every KPI with its change against last month (环比) and a year earlier (同比), its
        usual monthly change and whether this one is notable (the rule of `retail-tiers alerts`)."""
        result = []
        for row in sorted(self.data.kpis.values(), key=lambda row: row["kpi_order"] or 0):
            kpi = row["kpi_code"]
            typical = row.get("typical_change_amount")
            result.append({
                "label": self.t(f"kpi.{kpi}"),
                "value": self.kpi_value(kpi, row["value_kind"], row["value"], tile=False),
                "month": self.kpi_change(row) or MISSING,
                "year": self.kpi_year_change(row) or MISSING,
                "usual": ("±" + self.kpi_change({**row, "change_amount": typical,
                                                  "change_rate": None}).lstrip("+\u2212")
                          if typical else MISSING),
                "notable": bool(row.get("is_notable")),
                "extreme": (self.t(f"changes.extreme_{row['trailing_extreme']}")
                            if row.get("trailing_extreme") else ""),
                "tone": ("good" if row["is_improvement"] is True
                         else "bad" if row["is_improvement"] is False else "neutral"),
            })
        return result


    def actions(self, as_of_note_text: str | None) -> dict[str, Any] | None:
        """3-4 actions ranked by the money at stake, each with its customers and the export
        command of its list (report_actions). An earlier month's report says in one line that
        they are computed as of the as-of date; None without anything to act on."""
        if as_of_note_text is not None:
            return {"rows": [], "note_text": as_of_note_text, "headline": ""}
        if not self.data.actions:
            return None
        fmt = self.fmt
        rows = []
        for row in self.data.actions:
            rows.append({
                "rank": row["action_rank"],
                "text": self.t(f"actions.{row['action_code']}",
                               segment=localized(row, "segment_name", self.lang)
                               or row["segment_code"] or "",
                               campaign=row["campaign_name"] or row["campaign_id"] or ""),
                "customers": fmt.integer(row["customer_count"]),
                "value": fmt.money(row["value_amount"], 0),
                "command": (f"retail-tiers export {row['export_arguments']}"
                            if row["export_arguments"] else self.t("actions.no_command")),
            })
        total = sum(float(row["value_amount"] or 0) for row in self.data.actions)
        return {"rows": rows, "note_text": None, "changes": self.change_rows(),
                "headline": self.t("headline.actions", count=len(rows),
                                   value=fmt.short_money(total), first=rows[0]["text"])}

    # ---- stores, channels and cities ---------------------------------------------------------
    def display(self, kind: str, code: str | None) -> str:
        """A code of the user's data by its display name (seed display_names), else as it is."""
        if code in ("unknown", "guest", None):
            return self.t(f"channels.{code or 'unknown'}")
        row = self.data.display_names.get((kind, code))
        return localized(row, "name", self.lang) if row else code

    def place_rows(self, dimension: str, kind: str) -> list[dict[str, Any]]:
        fmt = self.fmt
        cuts = [row for row in self.data.sales_cuts if row["dimension"] == dimension]
        total = next((row["net_revenue_amount"] for row in self.data.sales_cuts
                      if row["dimension"] == "all"), None)
        if dimension != "channel":
            cuts = [row for row in cuts if row["dimension_value"] not in ("unknown", "guest")]
            cuts = cuts[:TOP_PLACES]
        return [{
            "name": self.display(kind, row["dimension_value"]),
            "revenue": fmt.money(row["net_revenue_amount"], 0),
            "share": fmt.percent(float(row["net_revenue_amount"]) / float(total)
                                 if total else None),
            "change": (fmt.change_rate((float(row["net_revenue_amount"])
                                        - float(row["previous_net_revenue_amount"]))
                                       / abs(float(row["previous_net_revenue_amount"])))
                       if row["previous_net_revenue_amount"] else MISSING),
            "orders": fmt.integer(row["order_count"]),
            "aov": fmt.money(row["aov_amount"], 2),
            "customers": fmt.integer(row["customer_count"]),
            "returning": fmt.percent(row["returning_customer_rate"]),
            "member_share": fmt.percent(row["member_revenue_share"]),
        } for row in cuts]

    def channel_charts(self) -> list[dict[str, Any]]:
        by_channel: dict[str, list[Row]] = {}
        for row in self.data.channel_trend:
            by_channel.setdefault(row["channel"], []).append(row)
        months = sorted({row["month_start_on"] for row in self.data.channel_trend})
        charts = []
        for channel, trend in sorted(by_channel.items(),
                                     key=lambda item: -float(item[1][-1]["net_revenue_amount"])):
            values = {row["month_start_on"]: float(row["net_revenue_amount"]) for row in trend}
            name = self.display("sales_channel", channel)
            charts.append({"label": name, "svg": self.chart(
                "trend_chart", alt=name, months=months,
                values=[values.get(month) for month in months], kind="money",
                chart_id=f"channel-{len(charts)}", width_mm=42, height_mm=24, tick_every=6)})
        return charts

    def acquisition_rows(self) -> list[dict[str, Any]]:
        fmt = self.fmt
        return [{
            "name": self.display("acquisition_channel", row["acquisition_channel"]),
            "registered": fmt.integer(row["registered_customer_count"]),
            "buyers": fmt.integer(row["buyer_count"]),
            "new": fmt.integer(row["new_buyer_count"]),
            "cac": fmt.money(row["mean_cac_amount"], 2),
            "value": fmt.money(row["mean_first_year_gross_margin_amount"], 2),
            "ratio": (fmt.number(row["first_year_value_to_cac_ratio"], 1) + "×"
                      if row["first_year_value_to_cac_ratio"] is not None else MISSING),
        } for row in self.data.acquisition]

    def channels(self) -> dict[str, Any] | None:
        """Where the month's sales happened: channels with their trend, top stores and cities,
        member share, and what each acquisition channel brings (as-of month). None: no sales."""
        total = next((row for row in self.data.sales_cuts if row["dimension"] == "all"), None)
        channels = self.place_rows("channel", "sales_channel")
        if total is None or not channels:
            return None
        top = channels[0]
        return {
            "headline": self.t("headline.channels", channel=top["name"], share=top["share"],
                               member_share=self.fmt.percent(total["member_revenue_share"])),
            "channels": channels,
            "charts": self.channel_charts(),
            "stores": self.place_rows("store", "store"),
            "cities": self.place_rows("city", "city"),
            "acquisition": self.acquisition_rows(),
        }

    def campaigns_headline(self) -> str:
        best = self.data.best_campaign
        if not self.data.campaigns:
            return self.t("headline.campaigns_empty")
        if best is None:
            return self.t("headline.campaigns_none")
        points = self.fmt.change_points
        return self.t("headline.campaigns", name=best["campaign_name"],
                      margin=self.fmt.money(best["incremental_gross_margin_amount"], 0),
                      roi=self.fmt.percent(best["incremental_roi"], 0),
                      uplift=points(best["conversion_uplift"], sentence=True),
                      low=points(best["conversion_uplift_lower"]),
                      high=points(best["conversion_uplift_upper"]))

    # ---- data quality -----------------------------------------------------------------------
    def quality(self) -> dict[str, Any]:
        fmt, t = self.fmt, self.t

        def label(prefix: str, code: str) -> str:
            return t(f"{prefix}.{code}") if t.has(f"{prefix}.{code}") else code

        accounting = [{
            "file": label("file", row["source_file"]),
            "raw": fmt.integer(row["raw_rows"]),
            "clean": fmt.integer(row["clean_rows"]),
            "quarantined": fmt.integer(row["quarantined_rows"]),
            "guest": fmt.integer(row["guest_rows"]),
        } for row in self.data.row_accounting]
        reasons = [{
            "file": label("file", row["source_file"]),
            "reason": label("reason", row["quarantine_reason"]),
            "rows": fmt.integer(row["row_count"]),
        } for row in self.data.quarantine]
        build = self.data.build or {}
        tests = [
            (t("quality.models"), build.get("models_built")),
            (t("quality.tests_passed"), build.get("tests_passed")),
            (t("quality.tests_failed"), build.get("tests_failed")),
            (t("quality.tests_warned"), build.get("tests_warned")),
            (t("quality.unit_passed"), build.get("unit_tests_passed")),
            (t("quality.unit_failed"), build.get("unit_tests_failed")),
        ]
        failed = [{
            "name": row["name"], "status": row["status"],
            "failures": fmt.integer(row["failures"]),
        } for row in self.data.failed_checks]
        total_tests = (build.get("tests_passed") or 0) + (build.get("tests_failed") or 0) \
            + (build.get("tests_warned") or 0)
        headline = t("headline.quality", quarantined=fmt.integer(build.get("rows_quarantined")),
                     rows_in=fmt.integer(build.get("rows_in")),
                     failed=fmt.integer(build.get("tests_failed")),
                     tests=fmt.integer(total_tests))
        return {
            "accounting": accounting, "reasons": reasons,
            "tests": [(name, fmt.integer(value)) for name, value in tests],
            "failed": failed, "headline": headline,
            "started": fmt.timestamp(build.get("started_at")),
            "identities": self.identities_line(),
        }

    def identities_line(self) -> str:
        """One sentence on one customer across shops (customer_identity_audit)."""
        fmt, t, audit = self.fmt, self.t, self.data.identities
        if not audit or not audit["identity_rows"]:
            return t("quality.identities_none")
        return t("quality.identities", stitched=fmt.integer(audit["stitched_id_count"]),
                 ids=fmt.integer(audit["platform_id_count"]),
                 rate=fmt.percent(audit["stitch_rate"], 1),
                 customers=fmt.integer(audit["customer_count"]),
                 unresolved=fmt.integer(audit["unresolved_id_count"]))


def build_context(data: ReportData, fmt: Formatter, t: Messages,
                  fonts: Fonts) -> tuple[dict[str, Any], list[ChartSlot]]:
    """Everything report.html.j2 prints for one month, and the chart slots still to draw."""
    s = Sections(data, fmt, t, fonts)
    run, month = data.run, data.month
    warnings = []
    if not run.build_success:
        warnings.append(t("warning.build_failed", failure=run.build_failure or "?"))
    if month.is_as_of_month and month.month_end_on.day != _last_day(month.month_end_on).day:
        warnings.append(t("warning.partial_month", date=fmt.date(month.month_end_on)))
    scheme_key = f"scheme.{run.segment_scheme}"
    # the demo's source in the report's language; a user's folder path is shown as it is
    source = (t("source.demo") if run.data_source == DEMO_SOURCE else run.data_source)
    forecast_note = as_of_note(data, fmt, t, "forecast.note")
    watchlist = s.watchlist(forecast_note)
    mix = s.mix(as_of_note(data, fmt, t, "mix.as_of_note", period=s.window_period()))
    voice = s.voice()
    channels = s.channels()
    actions = s.actions(as_of_note(data, fmt, t, "actions.as_of_note"))
    trust = s.trust()
    optional = {"mix": mix, "voice": voice, "watchlist": watchlist, "channels": channels,
                "actions": actions, "trust": trust}
    contents = [key for key in SECTION_ORDER
                if key not in OPTIONAL_SECTIONS or optional[key] is not None]
    context = {
        "contents": contents,
        "numbers": {key: number for number, key in enumerate(contents, start=1)},
        "titles": {key: t(f"section.{key}") for key in contents},
        "watchlist": watchlist,
        "month_title": fmt.month(month.month_start_on),
        "month_end": fmt.date(month.month_end_on),
        "previous_month_end": fmt.date(month.previous_month_end_on),
        "as_of": fmt.date(run.as_of_date),
        "source": source,
        "source_short": shorten(source),
        "built_at": fmt.timestamp(run.built_at),
        "scheme": t(scheme_key) if t.has(scheme_key) else run.segment_scheme,
        "warnings": warnings,
        "vars": run.vars,
        "is_as_of_month": month.is_as_of_month,
        "forecast_note": forecast_note,
        "summary": {"headline": s.summary_headline(), "tiles": s.tiles()},
        "trends": {"headline": s.trends_headline(), "charts": s.trend_charts(),
                   "table": s.trend_table(), "has_prospects": s.has_prospects()},
        "segments": {"headline": s.segments_headline(), "rows": s.segment_rows(),
                     "chart": s.segment_chart()},
        "mix": mix,
        "voice": voice,
        "migration": ({"headline": s.migration_headline(), "grid": s.migration_grid(),
                       "moves": s.migration_moves()}
                      if data.migration else None),
        "scoring_text": s.scoring_text(),
        "rf": {"headline": s.rf_headline(), "grid": s.rf_grid()},
        "cohorts": {"headline": s.cohorts_headline(), "grid": s.cohort_grid()},
        "clv": s.clv() if month.is_as_of_month else None,
        "trust": trust,
        "campaigns": {"headline": s.campaigns_headline(), "rows": s.campaign_rows(),
                      "chart": s.campaign_chart()},
        "channels": channels,
        "actions": actions,
        "quality": s.quality(),
        "kpi_definitions": [(t(f"kpi.{kpi}"), t(f"def.{kpi}",
                                                window=s.window,
                                                churn_days=run.vars.get("churn_days")))
                            for kpi in TILE_KPIS],
    }
    # The summary page repeats each section's headline as a linked highlight.
    context["highlights"] = [
        (key, headline) for key, headline in (
            ("segments", context["segments"]["headline"]),
            ("voice", (voice or {}).get("headline")),
            ("mix", (mix or {}).get("headline")),
            ("migration", (context["migration"] or {}).get("headline")),
            ("cohorts", context["cohorts"]["headline"]),
            ("clv", (context["clv"] or {}).get("headline")),
            ("trust", (trust or {}).get("headline")),
            ("watchlist", (watchlist or {}).get("headline")),
            ("campaigns", context["campaigns"]["headline"]),
            ("channels", (channels or {}).get("headline")),
            ("quality", context["quality"]["headline"]),
        ) if headline
    ]
    return context, s.slots


def as_of_note(data: ReportData, fmt: Formatter, t: Messages, key: str,
               **values: object) -> str | None:
    """In the report of a month before the as-of month, the one-line note (message `key`) of a
    section computed as of the as-of date only (forecasts, watchlist, category mix): the
    month it is as of and the build command for this month. None in the as-of month."""
    if data.month.is_as_of_month:
        return None
    return t(key, as_of_month=fmt.month(data.run.as_of_date),
             month_end=data.month.month_end_on.isoformat(), **values)


def _last_day(day: dt.date) -> dt.date:
    following = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return following - dt.timedelta(days=1)
