"""Read what one report month needs from the marts, aggregated in DuckDB.

Every query reads a mart (schema main) and returns at most a few hundred rows, whatever the
size of the warehouse: per-customer tables are only ever filtered, grouped or limited inside
DuckDB, never pulled into Python. Rows come back as dicts keyed by the mart's column names.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reports.i18n import safe_load
from retail_tiers.build_state import failed_build, latest_run_id
from retail_tiers.errors import RetailTiersError
from retail_tiers.warehouse import require_tables

if TYPE_CHECKING:  # annotations only: the connection comes from retail_tiers.warehouse
    import duckdb

Row = dict[str, Any]

REQUIRED_TABLES = [
    "report_months", "report_kpi_changes", "monthly_kpis", "report_segment_months",
    "segment_migration", "report_rf_grid_months", "cohort_retention", "report_clv_distribution",
    "report_clv_deciles", "churn_watchlist", "customers", "campaign_performance", "row_accounting",
    "quarantined_rows", "build_runs", "build_results", "segment_feedback_monthly",
    "feedback_monthly", "segment_category_mix", "sales_by_channel_store_city",
    "acquisition_channel_value", "display_names", "report_actions",
    "holdout_tracking", "holdout_by_frequency", "holdout_totals", "clv_model_fit",
    "prediction_totals", "report_clv_context", "customer_identity_audit",
]

WATCHLIST_ROWS = 28  # the rows that fill the watchlist's page
MIGRATION_MOVES = 8  # the migration page's table of the largest moves
CAMPAIGN_MONTHS = 12
COHORT_MONTHS = 12
# The category mix shows every category when there are at most this many in its window, else
# the largest (this many - 1) and "Other" (keeps the stacked bars readable, one colour each).
MIX_CATEGORIES = 8


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[Row]:
    cursor = con.execute(sql, params or [])
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


@dataclass(frozen=True)
class ReportMonth:
    month_start_on: dt.date
    month_end_on: dt.date
    previous_month_end_on: dt.date
    is_as_of_month: bool
    has_previous_history_month: bool

    @property
    def label(self) -> str:
        return f"{self.month_start_on:%Y-%m}"


@dataclass(frozen=True)
class RunInfo:
    """The build the warehouse comes from (build_runs) and the vars it used."""

    data_source: str
    built_at: dt.datetime | None
    build_success: bool
    build_failure: str | None
    as_of_date: dt.date
    load_date: dt.date | None
    segment_scheme: str
    vars: dict[str, Any]


@dataclass
class ReportData:
    month: ReportMonth
    months: list[ReportMonth]
    run: RunInfo
    kpis: dict[str, Row]
    trend: list[Row]
    segments: list[Row]
    migration: list[Row]
    largest_move: Row | None
    migration_moves: list[Row]
    migration_totals: Row | None
    rf_grid: list[Row]
    largest_rf_cell: Row | None
    cohorts: list[Row]
    clv_bands: list[Row] = field(default_factory=list)
    clv_deciles: list[Row] = field(default_factory=list)
    watchlist: list[Row] = field(default_factory=list)
    watchlist_summary: Row | None = None
    campaigns: list[Row] = field(default_factory=list)
    best_campaign: Row | None = None
    row_accounting: list[Row] = field(default_factory=list)
    quarantine: list[Row] = field(default_factory=list)
    build: Row | None = None
    failed_checks: list[Row] = field(default_factory=list)
    identities: Row | None = None  # customer_identity_audit: one customer across shops
    feedback_segments: list[Row] = field(default_factory=list)
    feedback_trend: list[Row] = field(default_factory=list)
    category_mix: list[Row] = field(default_factory=list)
    segment_rules: list[Row] = field(default_factory=list)
    score_bands: list[Row] = field(default_factory=list)
    sales_cuts: list[Row] = field(default_factory=list)
    channel_trend: list[Row] = field(default_factory=list)
    acquisition: list[Row] = field(default_factory=list)
    actions: list[Row] = field(default_factory=list)
    display_names: dict[tuple[str, str], Row] = field(default_factory=dict)
    holdout_tracking: list[Row] = field(default_factory=list)
    holdout_by_frequency: list[Row] = field(default_factory=list)
    holdout_totals: dict[str, Row] = field(default_factory=dict)
    purchase_model: Row | None = None
    prediction_totals: Row | None = None
    clv_context: Row | None = None


# ---- months ---------------------------------------------------------------------------------
def available_months(con: duckdb.DuckDBPyConnection) -> list[ReportMonth]:
    return [ReportMonth(**row) for row in rows(con, """
        select month_start_on, month_end_on, previous_month_end_on, is_as_of_month,
               has_previous_history_month
        from main.report_months
        order by month_start_on
    """)]


def parse_month(text: str) -> dt.date:
    """'2026-09' -> 2026-09-01; a one-line error for anything else."""
    try:
        return dt.datetime.strptime(text.strip(), "%Y-%m").date()
    except ValueError:
        raise RetailTiersError(f"--month {text}: expected a month as YYYY-MM") from None


def pick_month(months: list[ReportMonth], wanted: str | None) -> ReportMonth:
    """The report month: `wanted` (YYYY-MM) or, without it, the as-of month."""
    if not months:
        raise RetailTiersError("the warehouse has no report months: run `retail-tiers build`")
    if wanted is None:
        return next((m for m in months if m.is_as_of_month), months[-1])
    start = parse_month(wanted)
    for month in months:
        if month.month_start_on == start:
            return month
    first, last = months[0], months[-1]
    span = f"the report history holds the {len(months)} months {first.label} to {last.label}"
    if start < first.month_start_on:
        raise RetailTiersError(
            f"--month {wanted}: before the report history ({span}); to report it, build "
            "again with a larger --var history_months or an earlier --as-of")
    if start > last.month_start_on:
        raise RetailTiersError(
            f"--month {wanted}: after the as-of month {last.label} ({span}); to report it, "
            "build again with a later --as-of (and data up to then)")
    listed = ", ".join(month.label for month in months)
    raise RetailTiersError(f"--month {wanted}: no data for that month; available months: {listed}")


# ---- run ------------------------------------------------------------------------------------
def effective_vars(project: Path, overrides_json: str | None) -> dict[str, Any]:
    """dbt_project.yml's var defaults overlaid with the vars the last build passed."""
    config = safe_load((project / "dbt_project.yml").read_text(encoding="utf-8")) or {}
    values = dict(config.get("vars") or {})
    if overrides_json:
        overrides = json.loads(overrides_json)
        overrides.pop("raw_files", None)
        values.update(overrides)
    values.pop("raw_files", None)
    return values


def run_info(con: duckdb.DuckDBPyConnection, project: Path) -> RunInfo:
    build = rows(con, """
        select input_description, finished_at, success, failure, vars_json
        from main.build_runs
        order by started_at desc
        limit 1
    """)
    dates = rows(con, "select as_of_date, load_date from main.report_months limit 1")
    scheme = rows(con, """
        select scheme from main.report_segment_months where is_active_scheme limit 1
    """)
    last = build[0] if build else {}
    values = effective_vars(project, last.get("vars_json"))
    return RunInfo(
        data_source=str(last.get("input_description") or "unknown"),
        built_at=last.get("finished_at"),
        build_success=bool(last.get("success", True)),
        build_failure=last.get("failure"),
        as_of_date=dates[0]["as_of_date"],
        load_date=dates[0]["load_date"],
        segment_scheme=scheme[0]["scheme"] if scheme else str(values.get("segment_scheme")),
        vars=values,
    )


# ---- sections -------------------------------------------------------------------------------
def kpi_changes(con: duckdb.DuckDBPyConnection, month: ReportMonth) -> dict[str, Row]:
    return {row["kpi_code"]: row for row in rows(con, """
        select kpi_code, kpi_order, value_kind, value, previous_value, change_amount,
               change_rate, year_ago_value, year_over_year_change_amount,
               year_over_year_change_rate, direction, higher_is_better, is_improvement,
               typical_change_amount, change_to_typical_ratio, is_notable, trailing_extreme
        from main.report_kpi_changes
        where month_start_on = ?
        order by kpi_order
    """, [month.month_start_on])}


def kpi_trend(con: duckdb.DuckDBPyConnection, month: ReportMonth, months: int) -> list[Row]:
    """monthly_kpis rows of the `months` months up to the report month (exact decimals)."""
    return rows(con, """
        select month_start_on, month_end_on, is_complete_month, net_revenue_amount,
               order_count, aov_amount, active_customer_count, new_customer_count,
               revenue_per_active_customer_amount, repeat_rate, churn_rate, activity_rate,
               median_days_first_to_second_purchase, historical_clv_amount, gross_margin_rate,
               prospect_pool, prospects_at_month_end, prospect_conversion_rate
        from main.monthly_kpis
        where month_start_on <= ?
            and month_start_on > cast(? - to_months(?) as date)
        order by month_start_on
    """, [month.month_start_on, month.month_start_on, months])


def segments(con: duckdb.DuckDBPyConnection, month: ReportMonth) -> list[Row]:
    return rows(con, """
        select segments.segment_code, segments.segment_priority, segments.segment_name_en,
               segments.segment_name_zh, segments.action_en, segments.action_zh,
               segments.customer_count, segments.customer_share_rate, segments.monetary_amount,
               segments.revenue_share_rate, segments.month_net_revenue,
               segments.average_order_value_amount, segments.mean_historical_clv_amount,
               segments.mean_days_since_last_order, segments.mean_frequency_orders,
               previous.customer_count as previous_customer_count,
               previous.month_net_revenue as previous_month_net_revenue
        from main.report_segment_months as segments
        left join main.report_segment_months as previous
            on previous.month_end_on = ? and previous.scheme = segments.scheme
            and previous.segment_code = segments.segment_code
        where segments.month_end_on = ? and segments.is_active_scheme
        order by segments.segment_priority, segments.segment_code
    """, [month.previous_month_end_on, month.month_end_on])


def migration(con: duckdb.DuckDBPyConnection, month: ReportMonth, scheme: str) -> list[Row]:
    return rows(con, """
        select from_segment_code, from_segment_name_en, from_segment_name_zh,
               from_segment_priority, to_segment_code, to_segment_name_en, to_segment_name_zh,
               to_segment_priority, customer_count
        from main.segment_migration
        where month_end_on = ? and scheme = ?
        order by from_segment_priority, to_segment_priority
    """, [month.month_end_on, scheme])


def largest_move(con: duckdb.DuckDBPyConnection, month: ReportMonth, scheme: str) -> Row | None:
    """The biggest flow between two different segments (new customers excluded)."""
    found = rows(con, """
        select from_segment_name_en, from_segment_name_zh, to_segment_name_en,
               to_segment_name_zh, customer_count
        from main.segment_migration
        where month_end_on = ? and scheme = ? and from_segment_code <> 'none'
            and from_segment_code <> to_segment_code and customer_count > 0
        order by customer_count desc, from_segment_priority, to_segment_priority
        limit 1
    """, [month.month_end_on, scheme])
    return found[0] if found else None


MOVED = "move_direction in ('upgrade', 'downgrade', 'lateral')"
MOVE_COLUMNS = f"""
    sum(customer_count) filter (where move_direction = 'upgrade') as upgraded_customers,
    sum(customer_count) filter (where move_direction = 'downgrade') as downgraded_customers,
    sum(customer_count) filter (where move_direction = 'lateral') as lateral_customers,
    sum(customer_count) filter (where move_direction = 'entered') as entered_customers,
    sum(customer_count) filter (where move_direction = 'stayed') as stayed_customers,
    sum(bought_customer_count) filter (where {MOVED}) as moved_bought_customers,
    sum(aged_customer_count) filter (where {MOVED}) as moved_aged_customers,
    sum(rescored_customer_count) filter (where {MOVED}) as moved_rescored_customers
"""


def migration_totals(con: duckdb.DuckDBPyConnection, month: ReportMonth,
                     scheme: str) -> Row | None:
    """The month's upgrades, downgrades, entries and stays, and why the movers moved."""
    found = rows(con, f"""
        select {MOVE_COLUMNS}
        from main.segment_migration
        where month_end_on = ? and scheme = ?
    """, [month.month_end_on, scheme])
    return found[0] if found and found[0]["stayed_customers"] is not None else None


def migration_moves(con: duckdb.DuckDBPyConnection, month: ReportMonth, scheme: str,
                    limit: int) -> list[Row]:
    """The largest moves between two different segments (first purchases excluded), each with
    its customers by reason (bought, aged past a day boundary, rescored)."""
    return rows(con, """
        select from_segment_code, from_segment_name_en, from_segment_name_zh,
               to_segment_code, to_segment_name_en, to_segment_name_zh, move_direction,
               customer_count, bought_customer_count, aged_customer_count,
               rescored_customer_count
        from main.segment_migration
        where month_end_on = ? and scheme = ? and from_segment_code <> 'none'
            and from_segment_code <> to_segment_code and customer_count > 0
        order by customer_count desc, from_segment_priority, to_segment_priority
        limit ?
    """, [month.month_end_on, scheme, limit])


def segment_rules(con: duckdb.DuckDBPyConnection, scheme: str) -> list[Row]:
    """The rules of the active scheme, to say in words who a segment holds."""
    return rows(con, """
        select segment_code, priority, r_score_min, r_score_max, fm_score_min, fm_score_max,
               rfm8_code, is_new_customer
        from main.segment_rules
        where scheme = ?
        order by priority
    """, [scheme])


def score_bands(con: duckdb.DuckDBPyConnection) -> list[Row]:
    """The fixed score bands (seed rfm_thresholds) of the dimensions scored by thresholds."""
    return rows(con, """
        select dimension, score, min_value, max_value
        from main.rfm_thresholds
        order by dimension, min_value nulls first
    """)


def sales_cuts(con: duckdb.DuckDBPyConnection, month: ReportMonth) -> list[Row]:
    """The month's sales by channel, store and city (and 'all'), with last month's revenue."""
    return rows(con, """
        select cuts.dimension, cuts.dimension_value, cuts.net_revenue_amount,
               cuts.member_revenue_share, cuts.order_count, cuts.aov_amount,
               cuts.customer_count, cuts.new_customer_count, cuts.returning_customer_rate,
               previous.net_revenue_amount as previous_net_revenue_amount
        from main.sales_by_channel_store_city as cuts
        left join main.sales_by_channel_store_city as previous
            on previous.month_start_on = cast(cuts.month_start_on - interval 1 month as date)
            and previous.dimension = cuts.dimension
            and previous.dimension_value = cuts.dimension_value
        where cuts.month_start_on = ?
        order by cuts.dimension, cuts.net_revenue_amount desc, cuts.dimension_value
    """, [month.month_start_on])


def channel_trend(con: duckdb.DuckDBPyConnection, month: ReportMonth, months: int) -> list[Row]:
    """Each sales channel's monthly revenue over the `months` months up to the report month."""
    return rows(con, """
        select month_start_on, dimension_value as channel, net_revenue_amount
        from main.sales_by_channel_store_city
        where dimension = 'channel' and month_start_on <= ?
            and month_start_on > cast(? - to_months(?) as date)
        order by channel, month_start_on
    """, [month.month_start_on, month.month_start_on, months])


def acquisition(con: duckdb.DuckDBPyConnection) -> list[Row]:
    return rows(con, """
        select acquisition_channel, registered_customer_count, buyer_count, buyer_rate,
               new_buyer_count, mean_cac_amount, first_year_customer_count,
               mean_first_year_gross_margin_amount, first_year_value_to_cac_ratio
        from main.acquisition_channel_value
        order by buyer_count desc, acquisition_channel
    """)


def actions(con: duckdb.DuckDBPyConnection) -> list[Row]:
    """This month's actions, the most money at stake first (as of the as-of date)."""
    return rows(con, """
        select action_rank, action_code, segment_code, segment_name_en, segment_name_zh,
               campaign_id, campaign_name, customer_count, value_amount, export_arguments
        from main.report_actions
        order by action_rank
    """)


def display_names(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], Row]:
    """(kind, code) -> the seed display_names row: names for the codes of the user's data."""
    return {(row["kind"], row["code"]): row for row in rows(con, """
        select kind, code, name_en, name_zh from main.display_names
    """)}


def rf_grid(con: duckdb.DuckDBPyConnection, month: ReportMonth) -> list[Row]:
    return rows(con, """
        select r_score, f_score, customer_count, customer_share_rate, mean_monetary_amount
        from main.report_rf_grid_months
        where month_end_on = ?
        order by r_score desc, f_score
    """, [month.month_end_on])


def largest_rf_cell(con: duckdb.DuckDBPyConnection, month: ReportMonth) -> Row | None:
    found = rows(con, """
        select r_score, f_score, customer_count, customer_share_rate
        from main.report_rf_grid_months
        where month_end_on = ? and customer_count > 0
        order by customer_count desc, r_score desc, f_score desc
        limit 1
    """, [month.month_end_on])
    return found[0] if found else None


def cohorts(con: duckdb.DuckDBPyConnection, month: ReportMonth, count: int) -> list[Row]:
    """Retention of the `count` cohorts up to the report month, activity up to that month."""
    return rows(con, """
        select cohort_month_start_on, months_since_first_purchase, cohort_customer_count,
               active_customer_count, retention_rate
        from main.cohort_retention
        where cohort_month_start_on <= ?
            and cohort_month_start_on > cast(? - to_months(?) as date)
            and activity_month_start_on <= ?
            and months_since_first_purchase <= ?
        order by cohort_month_start_on, months_since_first_purchase
    """, [month.month_start_on, month.month_start_on, count, month.month_start_on, count])


def clv_bands(con: duckdb.DuckDBPyConnection) -> list[Row]:
    return rows(con, """
        select band_number, lower_amount, upper_amount, is_open_ended, customer_count,
               customer_share_rate
        from main.report_clv_distribution
        order by band_number
    """)


def clv_deciles(con: duckdb.DuckDBPyConnection) -> list[Row]:
    return rows(con, """
        select decile, customer_count, predicted_clv_amount, clv_share_rate,
               min_predicted_clv_amount, max_predicted_clv_amount, all_customer_count,
               all_predicted_clv_amount
        from main.report_clv_deciles
        order by decile
    """)


# Ids are masked inside DuckDB, so full ids never reach the report: C0001234 -> C0****34.
MASKED_ID = """
    case
        when length(watchlist.customer_id) <= 4 then left(watchlist.customer_id, 1) || '***'
        else left(watchlist.customer_id, 2)
            || repeat('*', least(length(watchlist.customer_id) - 4, 6))
            || right(watchlist.customer_id, 2)
    end
"""


def watchlist(con: duckdb.DuckDBPyConnection, limit: int) -> list[Row]:
    """The top of the churn watchlist (by value at risk), ids masked."""
    return rows(con, f"""
        with top as (
            select * from main.churn_watchlist
            order by watchlist_rank
            limit ?
        )
        select
            watchlist.watchlist_rank,
            {MASKED_ID} as masked_customer_id,
            watchlist.segment_code,
            watchlist.segment_name_en,
            watchlist.segment_name_zh,
            watchlist.lifecycle_stage,
            watchlist.days_since_last_order,
            customers.lifetime_orders,
            customers.lifetime_net_revenue,
            watchlist.predicted_clv,
            watchlist.churn_probability,
            watchlist.value_at_risk_amount
        from top as watchlist
        left join main.customers as customers
            on watchlist.customer_id = customers.customer_id
            and customers.customer_id in (select customer_id from top)
        order by watchlist.watchlist_rank
    """, [limit])


def watchlist_summary(con: duckdb.DuckDBPyConnection) -> Row:
    return rows(con, """
        select count(*) as customer_count, sum(value_at_risk_amount) as value_at_risk_amount
        from main.churn_watchlist
    """)[0]


def campaigns(con: duckdb.DuckDBPyConnection, month: ReportMonth, months: int) -> list[Row]:
    """Campaigns that started in the `months` months up to the report month's end."""
    return rows(con, """
        select campaign_id, campaign_name, channel, starts_on, ends_on, is_attribution_complete,
               contacted_customer_count, converted_customer_count, conversion_rate,
               has_control_group, control_customer_count, control_conversion_rate,
               conversion_uplift, conversion_uplift_lower, conversion_uplift_upper,
               attributed_net_revenue_amount, cost_amount, roi, incremental_roi,
               incremental_gross_margin_amount
        from main.campaign_performance
        where starts_on <= ? and starts_on > cast(? - to_months(?) as date)
        order by incremental_gross_margin_amount desc nulls last, starts_on desc, campaign_id
    """, [month.month_end_on, month.month_end_on, months])


def best_campaign(con: duckdb.DuckDBPyConnection, month: ReportMonth, months: int) -> Row | None:
    """Of those campaigns, the one with the most incremental gross margin over its control
    group (a control group needed): the one worth repeating."""
    found = rows(con, """
        select campaign_name, conversion_uplift, conversion_uplift_lower, conversion_uplift_upper,
               incremental_gross_margin_amount, incremental_roi
        from main.campaign_performance
        where starts_on <= ? and starts_on > cast(? - to_months(?) as date)
            and incremental_gross_margin_amount is not null
        order by incremental_gross_margin_amount desc, starts_on desc, campaign_id
        limit 1
    """, [month.month_end_on, month.month_end_on, months])
    return found[0] if found else None


def data_quality(con: duckdb.DuckDBPyConnection) -> tuple[list[Row], list[Row], Row | None,
                                                         list[Row]]:
    accounting = rows(con, """
        select source_file, raw_rows, clean_rows, quarantined_rows, guest_rows
        from main.row_accounting
        order by case source_file when 'transactions' then 0 when 'customers' then 1
                 when 'campaigns' then 2 else 3 end, source_file
    """)
    quarantine = rows(con, """
        select source_file, quarantine_reason, count(*) as row_count
        from main.quarantined_rows
        group by source_file, quarantine_reason
        order by source_file, row_count desc, quarantine_reason
    """)
    build = rows(con, """
        select started_at, finished_at, success, input_description, models_built,
               seeds_loaded, tests_passed, tests_failed, tests_warned, unit_tests_passed,
               unit_tests_failed, rows_in, rows_quarantined, failure
        from main.build_runs
        order by started_at desc
        limit 1
    """)
    failed = rows(con, """
        select resource_type, name, status, failures
        from main.build_results
        where status in ('fail', 'error', 'warn', 'runtime error')
        order by case status when 'warn' then 1 else 0 end, name
        limit 12
    """)
    return accounting, quarantine, (build[0] if build else None), failed


def identity_audit(con: duckdb.DuckDBPyConnection) -> Row | None:
    """The one row of customer_identity_audit (stitch rate, ids left unresolved)."""
    found = rows(con, """
        select identity_rows, platform_id_count, stitched_id_count, unresolved_id_count,
               stitch_rate, customers_before_stitching, customer_count
        from main.customer_identity_audit
    """)
    return found[0] if found else None


def feedback_segments(con: duckdb.DuckDBPyConnection, month: ReportMonth,
                      scheme: str) -> list[Row]:
    """Survey responses of the report month by segment (at month end) of the scheme, in the
    segment table's order (prospects, who have no segment priority, last), with the shares of
    promoters, passives and detractors among the scored responses."""
    return rows(con, """
        select
            feedback.segment_code,
            feedback.segment_name_en,
            feedback.segment_name_zh,
            segments.segment_priority,
            feedback.segment_customers,
            feedback.responses,
            feedback.respondents,
            feedback.response_rate,
            feedback.nps,
            feedback.mean_satisfaction,
            feedback.promoters + feedback.passives + feedback.detractors as scored_responses,
            feedback.promoters
                / nullif(feedback.promoters + feedback.passives + feedback.detractors, 0)
                as promoter_share,
            feedback.passives
                / nullif(feedback.promoters + feedback.passives + feedback.detractors, 0)
                as passive_share,
            feedback.detractors
                / nullif(feedback.promoters + feedback.passives + feedback.detractors, 0)
                as detractor_share
        from main.segment_feedback_monthly as feedback
        left join main.report_segment_months as segments
            on feedback.month_end_on = segments.month_end_on
            and feedback.scheme = segments.scheme
            and feedback.segment_code = segments.segment_code
        where feedback.month_end_on = ? and feedback.scheme = ?
        order by segments.segment_priority nulls last, feedback.segment_code
    """, [month.month_end_on, scheme])


def feedback_trend(con: duckdb.DuckDBPyConnection, month: ReportMonth,
                   months: int) -> list[Row]:
    """feedback_monthly rows of the `months` calendar months up to the report month (the KPI
    trend's window); months without responses may be absent."""
    return rows(con, """
        select
            cast(date_trunc('month', month_end_on) as date) as month_start_on,
            month_end_on, responses, respondents, promoters, passives, detractors, nps,
            mean_satisfaction
        from main.feedback_monthly
        where month_end_on <= ?
            and date_trunc('month', month_end_on) > cast(? - to_months(?) as date)
        order by month_end_on
    """, [month.month_end_on, month.month_start_on, months])


def category_mix(con: duckdb.DuckDBPyConnection, as_of_date: dt.date, scheme: str,
                 limit: int = MIX_CATEGORIES) -> list[Row]:
    """Net revenue of the trailing RFM window up to the as-of date by segment (as of that date)
    and category, the only date segment_category_mix is computed for: all categories when
    there are at most `limit`, else the `limit - 1` largest (over all segments) and one
    'other' row per segment (category null, is_other), with the mart's shares of the
    segment's window net revenue summed. Segments without shares (no positive net revenue in
    the window) are left out: they have no mix to show."""
    return rows(con, """
        with mix as (
            select * from main.segment_category_mix
            where as_of_date = ? and scheme = ?
        ),
        segment_totals as (
            select segment_code, sum(net_revenue_amount) as segment_net_revenue_amount
            from mix
            group by segment_code
            having count(net_revenue_share) > 0
        ),
        category_ranks as (
            select
                category,
                row_number() over (order by sum(net_revenue_amount) desc,
                                   category nulls last) as category_rank,
                count(*) over () as category_count
            from mix
            group by category
        ),
        bucketed as (
            select
                mix.segment_code,
                mix.segment_name_en,
                mix.segment_name_zh,
                category_ranks.category_count > ? and category_ranks.category_rank >= ?
                    as is_other,
                mix.category,
                category_ranks.category_rank,
                mix.net_revenue_amount,
                mix.net_revenue_share
            from mix
            inner join category_ranks
                on mix.category is not distinct from category_ranks.category
        )
        select
            bucketed.segment_code,
            any_value(bucketed.segment_name_en) as segment_name_en,
            any_value(bucketed.segment_name_zh) as segment_name_zh,
            any_value(segments.segment_priority) as segment_priority,
            bucketed.is_other,
            case when bucketed.is_other then null else bucketed.category end as category,
            min(bucketed.category_rank) as category_rank,
            sum(bucketed.net_revenue_amount) as net_revenue_amount,
            sum(bucketed.net_revenue_share) as net_revenue_share,
            any_value(segment_totals.segment_net_revenue_amount)
                as segment_net_revenue_amount
        from bucketed
        inner join segment_totals on bucketed.segment_code = segment_totals.segment_code
        left join main.report_segment_months as segments
            on segments.month_end_on = ? and segments.scheme = ?
            and bucketed.segment_code = segments.segment_code
        group by bucketed.segment_code, bucketed.is_other,
            case when bucketed.is_other then null else bucketed.category end
        order by segment_priority nulls last, bucketed.segment_code, bucketed.is_other,
            category_rank
    """, [as_of_date, scheme, limit, limit, as_of_date, scheme])


# ---- the holdout report card ---------------------------------------------------------------
def holdout_tracking(con: duckdb.DuckDBPyConnection) -> list[Row]:
    return rows(con, """
        select week_number, week_ending_on, is_holdout, actual_cumulative_orders,
               expected_cumulative_orders
        from holdout_tracking order by week_number
    """)


def holdout_by_frequency(con: duckdb.DuckDBPyConnection) -> list[Row]:
    return rows(con, """
        select calibration_frequency_label, customer_count, actual_orders, expected_orders,
               actual_orders_per_customer, expected_orders_per_customer
        from holdout_by_frequency order by calibration_frequency
    """)


def holdout_totals(con: duckdb.DuckDBPyConnection) -> dict[str, Row]:
    return {row["scope"]: row for row in rows(con, """
        select scope, holdout_weeks, calibration_end_on, actual_orders, expected_orders,
               error_rate
        from holdout_totals
    """)}


def prediction_totals(con: duckdb.DuckDBPyConnection) -> Row | None:
    found = rows(con, "select * from prediction_totals")
    return found[0] if found else None


def clv_context(con: duckdb.DuckDBPyConnection) -> Row | None:
    """What is forecast and for whom, beside the same customers' trailing gross margin."""
    found = rows(con, """
        select as_of_date, clv_months, trailing_start_on, customer_count, predicted_clv_amount,
               trailing_buyer_count, trailing_gross_margin_amount, predicted_to_trailing_ratio
        from report_clv_context
    """)
    return found[0] if found else None


def purchase_model(con: duckdb.DuckDBPyConnection) -> Row | None:
    """The purchase model the predictions use, with why and its holdout error."""
    found = rows(con, """
        select model, selection_basis, selection_reason, holdout_error_rate
        from clv_model_fit
        where is_selected and model in ('bg_nbd', 'pareto_nbd') and fit_status = 'fitted'
    """)
    return found[0] if found else None


# ---- everything -----------------------------------------------------------------------------
def load_month(con: duckdb.DuckDBPyConnection, warehouse: Path, project: Path,
               month: ReportMonth, months: list[ReportMonth]) -> ReportData:
    require_tables(con, warehouse, REQUIRED_TABLES)
    run = run_info(con, project)
    later = failed_build(warehouse, latest_run_id(con))
    if later:  # the warehouse is the previous build's; the cover says a later one failed
        run = dataclasses.replace(run, build_success=False, build_failure=(
            f"started {later.started_at.replace('T', ' ')} from {later.input_description}: "
            f"{later.failure}"))
    history = int(run.vars.get("history_months") or 13)
    data = ReportData(
        month=month,
        months=months,
        run=run,
        kpis=kpi_changes(con, month),
        trend=kpi_trend(con, month, history),
        segments=segments(con, month),
        migration=migration(con, month, run.segment_scheme),
        largest_move=largest_move(con, month, run.segment_scheme),
        migration_moves=migration_moves(con, month, run.segment_scheme, MIGRATION_MOVES),
        migration_totals=migration_totals(con, month, run.segment_scheme),
        rf_grid=rf_grid(con, month),
        largest_rf_cell=largest_rf_cell(con, month),
        cohorts=cohorts(con, month, COHORT_MONTHS),
        campaigns=campaigns(con, month, CAMPAIGN_MONTHS),
    )
    if month.is_as_of_month:
        data.clv_bands = clv_bands(con)
        data.clv_deciles = clv_deciles(con)
        data.watchlist = watchlist(con, WATCHLIST_ROWS)
        data.watchlist_summary = watchlist_summary(con)
        data.holdout_tracking = holdout_tracking(con)
        data.holdout_by_frequency = holdout_by_frequency(con)
        data.holdout_totals = holdout_totals(con)
        data.purchase_model = purchase_model(con)
        data.prediction_totals = prediction_totals(con)
        data.clv_context = clv_context(con)
    data.best_campaign = best_campaign(con, month, CAMPAIGN_MONTHS)
    data.feedback_segments = feedback_segments(con, month, run.segment_scheme)
    data.feedback_trend = feedback_trend(con, month, history)
    # as of the as-of date whatever the month: an earlier month shows a note instead
    data.category_mix = category_mix(con, run.as_of_date, run.segment_scheme)
    data.segment_rules = segment_rules(con, run.segment_scheme)
    data.score_bands = score_bands(con)
    data.sales_cuts = sales_cuts(con, month)
    data.channel_trend = channel_trend(con, month, history)
    data.display_names = display_names(con)
    if month.is_as_of_month:
        data.acquisition = acquisition(con)
        data.actions = actions(con)
    (data.row_accounting, data.quarantine, data.build,
     data.failed_checks) = data_quality(con)
    data.identities = identity_audit(con)
    return data
