"""The report's "Customer voice" and "What each segment buys" sections from hand-made mart
rows, without a build: when they disappear, how small samples are flagged, the headlines, the
category-mix query (top categories + Other) and escaping of names in the HTML and the charts.
End-to-end checks against a real warehouse are in test_report.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

import duckdb
import pytest

from reports import data as marts
from reports.formats import Formatter
from reports.i18n import Messages
from reports.sections import SMALL_SAMPLE_RESPONSES, Sections, build_context
from reports.theme import Fonts

MONTH = marts.ReportMonth(
    month_start_on=dt.date(2026, 10, 1), month_end_on=dt.date(2026, 10, 31),
    previous_month_end_on=dt.date(2026, 9, 30), is_as_of_month=False,
    has_previous_history_month=True)
FONTS = Fonts(families=("DejaVu Sans",), has_cjk=False)
MINUS = "\u2212"


def report_data(feedback_segments: list[dict[str, Any]] | None = None,
                feedback_trend: list[dict[str, Any]] | None = None,
                category_mix: list[dict[str, Any]] | None = None,
                as_of_month: bool = False, window_days: int = 365) -> marts.ReportData:
    """One report month, MONTH: before the as-of month (as of 2026-12-31) or, with
    `as_of_month`, the as-of month itself (as of 2026-10-31)."""
    month = dataclasses.replace(MONTH, is_as_of_month=as_of_month)
    run = marts.RunInfo(
        data_source="test data", built_at=None, build_success=True, build_failure=None,
        as_of_date=MONTH.month_end_on if as_of_month else dt.date(2026, 12, 31),
        load_date=None, segment_scheme="rfm_grid",
        vars={"rfm_window_days": window_days, "churn_days": 90, "attribution_days": 14})
    kpi_columns = ("net_revenue_amount", "order_count", "aov_amount", "active_customer_count",
                   "new_customer_count", "repeat_rate", "churn_rate", "activity_rate",
                   "median_days_first_to_second_purchase")
    trend = [{"month_start_on": MONTH.month_start_on, "month_end_on": MONTH.month_end_on,
              "is_complete_month": True, **dict.fromkeys(kpi_columns)}]
    return marts.ReportData(
        month=month, months=[month], run=run, kpis={}, trend=trend, segments=[], migration=[],
        largest_move=None, migration_moves=[], migration_totals=None, rf_grid=[],
        largest_rf_cell=None, cohorts=[],
        feedback_segments=feedback_segments or [], feedback_trend=feedback_trend or [],
        category_mix=category_mix or [])


def segment(code: str, name: str, responses: int, promoters: int, detractors: int,
            customers: int = 200, satisfaction: float | None = 4.0) -> dict[str, Any]:
    """A feedback_segments row as reports.data returns it (shares of scored responses)."""
    passives = responses - promoters - detractors
    return {
        "segment_code": code, "segment_name_en": name, "segment_name_zh": f"{name}（中）",
        "segment_priority": None if code == "prospect" else 10,
        "segment_customers": customers, "responses": responses, "respondents": responses,
        "response_rate": responses / customers,
        "nps": 100 * (promoters - detractors) / responses if responses else None,
        "mean_satisfaction": satisfaction if responses else None,
        "scored_responses": responses,
        "promoter_share": promoters / responses if responses else None,
        "passive_share": passives / responses if responses else None,
        "detractor_share": detractors / responses if responses else None,
    }


def month_row(month: dt.date, responses: int, nps: float | None) -> dict[str, Any]:
    return {"month_start_on": month, "month_end_on": month, "responses": responses,
            "respondents": responses, "promoters": 0, "passives": 0, "detractors": 0,
            "nps": nps, "mean_satisfaction": 4.1 if responses else None}


def context(data: marts.ReportData, lang: str = "en") -> dict[str, Any]:
    return build_context(data, Formatter(lang), Messages(lang), FONTS)[0]


# ---- hiding -------------------------------------------------------------------------------
def test_sections_disappear_without_feedback_or_purchases() -> None:
    built = context(report_data())
    assert built["voice"] is None and built["mix"] is None
    assert "voice" not in built["contents"] and "mix" not in built["contents"]
    assert {key for key, _ in built["highlights"]}.isdisjoint({"voice", "mix"})
    # the remaining sections are numbered without gaps
    assert sorted(built["numbers"].values()) == list(range(1, len(built["contents"]) + 1))


def test_voice_disappears_when_no_segment_or_month_has_a_response() -> None:
    rows = [segment("loyal", "Loyal", 0, 0, 0)]
    trend = [month_row(dt.date(2026, 10, 1), 0, None)]
    assert context(report_data(rows, trend))["voice"] is None


def test_voice_shows_with_responses_and_is_listed_after_the_segments() -> None:
    rows = [segment("loyal", "Loyal", 40, 20, 8)]
    trend = [month_row(dt.date(2026, 10, 1), 40, 30.0)]
    built = context(report_data(rows, trend))
    assert built["voice"] is not None
    contents = built["contents"]
    assert contents.index("segments") < contents.index("voice") < contents.index("migration")
    assert "mix" not in contents
    assert ("voice", built["voice"]["headline"]) in built["highlights"]


# ---- small samples ------------------------------------------------------------------------
def test_small_samples_are_flagged_and_silent_segments_listed() -> None:
    rows = [
        segment("a", "A", SMALL_SAMPLE_RESPONSES - 1, 10, 5),
        segment("c", "C", 0, 0, 0),
        segment("b", "B", SMALL_SAMPLE_RESPONSES, 10, 5),
        segment("d", "D", 0, 0, 0),
    ]
    voice = Sections(report_data(rows, [month_row(dt.date(2026, 10, 1), 59, 20.0)]),
                     Formatter("en"), Messages("en"), FONTS).voice()
    assert voice is not None
    assert [row["code"] for row in voice["rows"]] == ["a", "b"]     # segments that answered
    assert [row["small"] for row in voice["rows"]] == [True, False]
    # 29 answers, 10 promoters and 5 detractors: NPS = 100 * 5 / 29 = 17.2 -> +17
    assert voice["rows"][0]["nps"] == "+17"
    assert voice["has_small"]
    assert voice["silent"] == "No response this month from: C, D."
    chart = voice["chart"].job.arguments
    assert chart["labels"] == ["A", "B"]
    assert chart["weak"] == [True, False]
    assert chart["notes"] == [f"n = {SMALL_SAMPLE_RESPONSES - 1}", ""]


def test_a_month_without_responses_keeps_only_the_trend() -> None:
    rows = [segment("loyal", "Loyal", 0, 0, 0)]
    trend = [month_row(dt.date(2026, 9, 1), 40, 10.0), month_row(dt.date(2026, 10, 1), 0, None)]
    voice = context(report_data(rows, trend))["voice"]
    assert voice["headline"] == "No survey responses in Oct 2026"
    assert voice["rows"] == [] and voice["chart"] is None and voice["silent"] == ""
    assert [chart["label"] for chart in voice["trend"]] == [
        "NPS", "Mean satisfaction (1–5)", "Responses"]


# ---- headline -----------------------------------------------------------------------------
def test_headline_compares_months_and_names_extremes_of_reliable_segments_only() -> None:
    rows = [
        segment("champions", "Champions", 10, 9, 1),     # +80 but only 10 answers
        segment("loyal", "Loyal", 50, 25, 5),             # +40
        segment("lost", "Lost", 30, 6, 9),                # -10
        segment("prospect", "Prospects", 5, 0, 5),        # -100, 5 answers
    ]
    trend = [month_row(dt.date(2026, 9, 1), 80, 8.2), month_row(dt.date(2026, 10, 1), 95, 12.4)]
    english = context(report_data(rows, trend))["voice"]["headline"]
    assert english == (f"NPS +12 in Oct 2026 (+4 vs Sep 2026); Loyal promote most (+40), "
                       f"Lost least ({MINUS}10)")
    chinese = context(report_data(rows, trend), "zh")["voice"]["headline"]
    assert chinese == ("2026年10月净推荐值（NPS）为 +12（较2026年9月 +4）；"
                       f"Loyal（中）推荐意愿最高（+40），Lost（中）最低（{MINUS}10）")


def test_headline_without_two_reliable_segments_or_a_previous_month() -> None:
    rows = [segment("loyal", "Loyal", 50, 25, 5), segment("lost", "Lost", 12, 0, 12)]
    trend = [month_row(dt.date(2026, 10, 1), 62, -3.6)]
    assert context(report_data(rows, trend))["voice"]["headline"] == f"NPS {MINUS}4 in Oct 2026"


# ---- category mix -------------------------------------------------------------------------
MIX_COLUMNS = ("as_of_date date, scheme varchar, segment_code varchar, segment_name_en varchar,"
               " segment_name_zh varchar, category varchar, net_revenue_amount decimal(18, 4),"
               " net_revenue_share double, customers bigint")


def mix_warehouse(rows: list[tuple[Any, ...]]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"create table main.segment_category_mix ({MIX_COLUMNS})")
    con.execute("create table main.report_segment_months (month_end_on date, scheme varchar, "
                "segment_code varchar, segment_priority integer)")
    con.executemany("insert into main.report_segment_months values (?, ?, ?, ?)", [
        (MONTH.month_end_on, "rfm_grid", "champions", 10),
        (MONTH.month_end_on, "rfm_grid", "loyal", 20),
        (MONTH.month_end_on, "rfm_grid", "lost", 90),
    ])
    con.executemany("insert into main.segment_category_mix values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows)
    return con


def mix_row(segment_code: str, category: str | None, amount: float, share: float | None,
            as_of: dt.date = MONTH.month_end_on, scheme: str = "rfm_grid") -> tuple[Any, ...]:
    return (as_of, scheme, segment_code, segment_code.title(), segment_code, category, amount,
            share, 1)


def test_category_mix_keeps_the_largest_categories_and_groups_the_rest() -> None:
    # Loyal buys nine categories c1..c9 (net 90, 80, ... 10; total 450); Champions two.
    loyal = [mix_row("loyal", f"c{n}", 100 - 10 * n, (100 - 10 * n) / 450) for n in range(1, 10)]
    rows = [
        *loyal,
        mix_row("champions", "c9", 30, 0.75), mix_row("champions", "c1", 10, 0.25),
        mix_row("lost", "c1", -5, None),                          # only a return: no mix
        mix_row("loyal", "c1", 999, 1.0, scheme="rfm8"),          # other scheme
        mix_row("loyal", "c1", 999, 1.0, as_of=dt.date(2026, 9, 30)),  # other as-of date
    ]
    found = marts.category_mix(mix_warehouse(rows), MONTH.month_end_on, "rfm_grid", limit=8)
    # Totals over the segments (Lost's return included): c1 95, c2 80, c3 70, c4 60,
    # c5 50, c6 40, c9 40 (tie: name order), c7 30, c8 20 -> nine categories, more than 8:
    # the seven largest are shown and c7, c8 are Other.
    by_segment: dict[str, list[tuple[str | None, bool, float]]] = {}
    for row in found:
        by_segment.setdefault(row["segment_code"], []).append(
            (row["category"], row["is_other"], round(row["net_revenue_share"], 9)))
    assert list(by_segment) == ["champions", "loyal"]        # priority order, Lost left out
    assert by_segment["champions"] == [("c1", False, 0.25), ("c9", False, 0.75)]
    assert by_segment["loyal"] == [
        ("c1", False, round(90 / 450, 9)), ("c2", False, round(80 / 450, 9)),
        ("c3", False, round(70 / 450, 9)), ("c4", False, round(60 / 450, 9)),
        ("c5", False, round(50 / 450, 9)), ("c6", False, round(40 / 450, 9)),
        ("c9", False, round(10 / 450, 9)), (None, True, round((30 + 20) / 450, 9)),
    ]
    totals = {row["segment_code"]: float(row["segment_net_revenue_amount"]) for row in found}
    assert totals == {"champions": 40.0, "loyal": 450.0}


def test_category_mix_shows_every_category_when_there_are_few() -> None:
    rows = [mix_row("loyal", f"c{n}", 10, 0.125) for n in range(1, 9)]
    found = marts.category_mix(mix_warehouse(rows), MONTH.month_end_on, "rfm_grid", limit=8)
    assert [row["category"] for row in found] == [f"c{n}" for n in range(1, 9)]
    assert not any(row["is_other"] for row in found)


def mix_rows(code: str, name: str, priority: int, total: float,
             shares: list[tuple[str | None, bool, int, float]]) -> list[dict[str, Any]]:
    """reports.data.category_mix rows of one segment: (category, is_other, rank, share)."""
    return [{"segment_code": code, "segment_name_en": name, "segment_name_zh": f"{name}客户",
             "segment_priority": priority, "is_other": flag, "category": category,
             "category_rank": rank, "net_revenue_amount": total * share,
             "net_revenue_share": share, "segment_net_revenue_amount": total}
            for category, flag, rank, share in shares]


def test_mix_section_colours_by_rank_hatches_other_and_names_the_widest_gap() -> None:
    rows = [
        *mix_rows("champions", "Champions", 10, 200, [
            ("food", False, 1, 0.5), ("uncategorised", False, 2, 0.3), (None, True, 8, 0.2)]),
        *mix_rows("loyal", "Loyal", 20, 100, [
            ("food", False, 1, 0.6), ("uncategorised", False, 2, 0.1), (None, True, 8, 0.3)]),
        # 10 of 310 net revenue (3%): too small to count in the headline's comparison
        *mix_rows("new", "New", 40, 10, [("food", False, 1, 1.0)]),
    ]
    mix = Sections(report_data(category_mix=rows, as_of_month=True), Formatter("zh"),
                   Messages("zh"), FONTS).mix()
    assert mix is not None
    assert [key["label"] for key in mix["legend"]] == ["food", "（无品类）", "其他"]
    assert [key["hatched"] for key in mix["legend"]] == [False, False, True]
    chart = mix["chart"].job.arguments
    assert chart["labels"] == ["Champions客户", "Loyal客户", "New客户"]
    assert chart["shares"] == [[0.5, 0.3, 0.2], [0.6, 0.1, 0.3], [1.0, 0.0, 0.0]]
    assert chart["totals"] == ["¥200", "¥100", "¥10"]
    # gaps of Champions and Loyal: food 0.1, no category 0.2 (Other is not a category)
    assert mix["headline"] == ("近 12 个月，（无品类）在各分层间差异最大："
                               "占Champions客户净销售额的 30%，占Loyal客户的 10%")
    assert mix["chart_title"] == "各分层近 12 个月净销售额的品类构成"
    assert "销售额前 2 名以外的品类合并为“其他”" in mix["note"]   # food and no category shown


def test_mix_headline_with_one_segment() -> None:
    rows = mix_rows("loyal", "Loyal", 20, 100, [("tea", False, 1, 0.25), ("rice", False, 2, 0.75)])
    mix = Sections(report_data(category_mix=rows, as_of_month=True), Formatter("en"),
                   Messages("en"), FONTS).mix()
    assert mix is not None
    assert mix["headline"] == ("rice is the largest category for Loyal over the last 12 months: "
                               "75% of net revenue")
    assert "Other" not in mix["note"]


@pytest.mark.parametrize(("days", "lang", "period"), [
    (365, "en", "last 12 months"), (730, "en", "last 24 months"), (90, "en", "last 90 days"),
    (365, "zh", "近 12 个月"), (30, "zh", "近 30 天"),
])
def test_mix_names_the_rfm_window(days: int, lang: str, period: str) -> None:
    rows = mix_rows("loyal", "Loyal", 20, 100, [("tea", False, 1, 1.0)])
    mix = context(report_data(category_mix=rows, as_of_month=True, window_days=days),
                  lang)["mix"]
    assert period in mix["headline"] and period in mix["chart_title"]
    assert f"{days} 天" in mix["note"] if lang == "zh" else f"the {days} days to" in mix["note"]


def test_mix_of_an_earlier_month_is_a_note_like_the_forecasts() -> None:
    """The mart is as of the as-of date only: the report of an earlier month keeps the section
    (numbered, in the contents) with one line saying so, as the watchlist does."""
    from reports.render import render_html

    rows = mix_rows("loyal", "Loyal", 20, 100, [("tea", False, 1, 1.0)])
    data = report_data(category_mix=rows)
    built = context(data)
    assert built["mix"] == {"forecast_note": (
        "What each segment buys is computed as of December 2026, over the last 12 months; run "
        "`retail-tiers build --as-of 2026-10-31` to see it as of this month.")}
    assert built["watchlist"]["forecast_note"].startswith(
        "Forecasts are computed as of December 2026; run `retail-tiers build --as-of 2026-10-31`")
    assert "mix" in built["contents"]
    assert "mix" not in {key for key, _ in built["highlights"]}
    html = render_html(data, "en", FONTS, dt.datetime(2026, 11, 1, 9, 0))
    section = html[html.index('id="mix"'):html.index('id="migration"')]
    assert ('<p class="forecast-note">What each segment buys is computed as of December 2026, '
            'over the last 12 months; run <code>retail-tiers build --as-of 2026-10-31</code>'
            ) in section
    assert "svg" not in section and "legend" not in section
    chinese = context(data, "zh")["mix"]["forecast_note"]
    assert chinese == ("各层客户购买品类按 2026年12月计算（近 12 个月）；如需按本月查看，请运行 "
                       "`retail-tiers build --as-of 2026-10-31`。")


# ---- escaping -----------------------------------------------------------------------------
HOSTILE = "<b>x</b>"


def test_names_with_html_are_text_in_the_html_and_the_charts() -> None:
    from reports.render import render_html

    mix = [{"segment_code": "loyal", "segment_name_en": f"Loyal {HOSTILE}",
            "segment_name_zh": "忠诚", "segment_priority": 20, "is_other": False,
            "category": HOSTILE, "category_rank": 1, "net_revenue_amount": 10,
            "net_revenue_share": 1.0, "segment_net_revenue_amount": 10}]
    feedback = [segment("loyal", f"Loyal {HOSTILE}", 40, 20, 4)]
    html = render_html(report_data(feedback, [month_row(dt.date(2026, 10, 1), 40, 40.0)], mix,
                                   as_of_month=True),
                       "en", FONTS, dt.datetime(2026, 11, 1, 9, 0))
    assert HOSTILE not in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html                       # legend and table cells
    import base64

    charts = [base64.b64decode(found).decode("utf-8") for found in
              re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html)]
    texts = [chart for chart in charts if "&lt;b&gt;x&lt;/b&gt;" in chart]
    assert len(texts) >= 2                                     # the mix and the NPS chart
    assert not any(HOSTILE in chart for chart in charts)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_new_label_exists_in_both_languages(lang: str) -> None:
    built = context(report_data([segment("loyal", "Loyal", 40, 20, 4)],
                                [month_row(dt.date(2026, 10, 1), 40, 40.0)]), lang)
    assert built["titles"]["voice"] == {"en": "Customer voice", "zh": "客户之声"}[lang]
    assert "mix" not in built["titles"]
