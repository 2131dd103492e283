"""`retail-tiers generate`: a realistic synthetic dataset in the raw data contract.

`write_dataset(config, out_dir)` writes transactions, customers, campaigns, campaign_contacts
and feedback (CSV with a header, or Parquet with every column a string) and manifest.json,
which records the seed, every simulation parameter and exact counts (rows per file, clean,
guest and return lines, quarantined lines and feedback responses per reason, clean net
revenue, campaign conversions), so tests can reconcile the warehouse against it. The
simulation lives in retail_tiers.simulate; this module adds the dirt (extra defective rows, one
quarantine reason each) and writes files. Same config -> byte-identical files. Feedback has
its own random streams, so adding it left the other files of a seed unchanged.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from retail_tiers import simulate as sim
from retail_tiers.contract import RAW_FILES, SUFFIXES, RawFile
from retail_tiers.errors import RetailTiersError

# stg_transactions' quarantine reasons, in precedence order (first that applies wins).
QUARANTINE_REASONS: tuple[str, ...] = (
    "missing_transaction_id",
    "duplicate_transaction_id",
    "missing_order_id",
    "non_numeric_value",
    "unparseable_timestamp",
    "future_timestamp",
    "zero_quantity",
    "negative_price",
)
DEFECT = {reason: code for code, reason in enumerate(QUARANTINE_REASONS, start=1)}
# Each defect comes in a few variants, used in turn.
DEFECT_VARIANTS: dict[str, tuple[str, ...]] = {
    "non_numeric_value": ("quantity 'two'", "quantity '1.5'", "unit_price '¥12.00'",
                          "unit_price '12,50'"),
    "unparseable_timestamp": ("'31/02/YYYY'", "'not a date'", "'YYYY-13-DD'", "empty"),
    "future_timestamp": ("year 2099, day clipped to 28",),
}
# stg_feedback's quarantine reasons, in precedence order, and the defects planted for each.
FEEDBACK_REASONS: tuple[str, ...] = (
    "missing_customer_id",
    "non_numeric_value",
    "unparseable_timestamp",
    "future_timestamp",
    "score_out_of_range",
    "duplicate_response",
)
FEEDBACK_DEFECT = {reason: code for code, reason in enumerate(FEEDBACK_REASONS, start=1)}
FEEDBACK_DEFECT_VARIANTS: dict[str, tuple[str, ...]] = {
    "missing_customer_id": ("empty", "blank spaces"),
    "non_numeric_value": ("nps_score 'nine'", "nps_score '<score>.5'", "satisfaction 'good'",
                          "nps_score empty"),
    "unparseable_timestamp": ("'31/02/YYYY'", "'not a date'", "empty"),
    "future_timestamp": ("year 2099, day clipped to 28",),
    "score_out_of_range": ("nps_score 11", "nps_score -1", "satisfaction 6", "satisfaction 0"),
    "duplicate_response": ("an exact copy of an earlier response, later in the file",),
}
FUTURE_YEAR = 2099
MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1

# The contract files and columns the generator writes: transactions in the unit-price form
# (no paid line_amount, no platform order_status) and no customer_identities file.
GENERATED_FILES = tuple(spec for spec in RAW_FILES if spec.name != "customer_identities")
NOT_GENERATED_COLUMNS = frozenset({"line_amount", "order_status"})


def generated_columns(spec: RawFile) -> list[str]:
    """The columns of `spec` that the generator writes, in contract order."""
    return [name for name in spec.column_names if name not in NOT_GENERATED_COLUMNS]


@dataclass(frozen=True)
class GeneratorConfig:
    """What to simulate. The defaults give ~10 lines per customer over 36 months."""

    customers: int = 3000  # registered customers (buyers + prospects)
    months: int = 24
    seed: int = 42
    file_format: str = "csv"  # csv | parquet
    dirty_rate: float = 0.01  # extra dirty lines, as a share of clean lines
    end_month: str = "2026-10"  # last simulated month, YYYY-MM
    file_prefix: str = ""  # e.g. "raw_" -> raw_transactions.csv (demo seeds)
    split_by: str = "none"  # none | month: transactions/YYYY-MM.csv, one file per order month
    seasonality_strength: float = 1.0  # 0 = pure BG/NBD, no seasonal time change
    campaign_uplift: float = 0.06  # P(extra purchase) for a treated contacted customer
    campaign_contact_rate: float = 0.3  # share of eligible customers a campaign contacts
    campaign_control_rate: float = 0.15  # share of contacts held out as control
    attribution_days: int = 14  # conversion window: contacted_at .. ends_on + this
    prospect_rate: float = 0.08  # share of registered customers who never buy
    feedback_rate: float = 0.15  # share of registered customers answering the NPS survey
    guest_order_rate: float = 0.12  # guest orders per customer order
    return_rate: float = 0.03  # share of sale lines (price > 0) that get returned
    mean_extra_lines: float = 1.33  # lines per order = 1 + Poisson(this), at most 15
    bgnbd_r: float = 0.8
    bgnbd_alpha: float = 6.0  # weeks
    bgnbd_a: float = 1.5
    bgnbd_b: float = 4.0
    gg_p: float = 6.0
    gg_q: float = 4.0
    gg_gamma: float = 75.0

    def validate(self) -> None:
        sim.parse_end_month(self.end_month)
        checks = [
            (self.customers >= 1, "customers: must be at least 1"),
            (1 <= self.months <= 240, "months: must be 1-240"),
            (self.file_format in ("csv", "parquet"), "format: must be csv or parquet"),
            (self.split_by in ("none", "month"), "split_by: must be none or month"),
            (0 <= self.dirty_rate <= 0.5, "dirty_rate: must be within 0-0.5"),
            (self.seasonality_strength >= 0, "seasonality_strength: must be >= 0"),
            (0 <= self.campaign_uplift <= 1, "campaign_uplift: must be within 0-1"),
            (0 <= self.campaign_contact_rate <= 1, "campaign_contact_rate: must be within 0-1"),
            (0 <= self.campaign_control_rate <= 1, "campaign_control_rate: must be within 0-1"),
            (0 <= self.attribution_days <= 60, "attribution_days: must be within 0-60"),
            (0 <= self.prospect_rate < 1, "prospect_rate: must be within 0-1"),
            (0 <= self.feedback_rate <= 1, "feedback_rate: must be within 0-1"),
            (self.guest_order_rate >= 0, "guest_order_rate: must be >= 0"),
            (0 <= self.return_rate <= 0.5, "return_rate: must be within 0-0.5"),
            (self.mean_extra_lines >= 0, "mean_extra_lines: must be >= 0"),
            (min(self.bgnbd_r, self.bgnbd_alpha, self.bgnbd_a, self.bgnbd_b) > 0,
             "bgnbd parameters: must be > 0"),
            (min(self.gg_p, self.gg_q, self.gg_gamma) > 0, "gamma-gamma parameters: must be > 0"),
            ("/" not in self.file_prefix and "\\" not in self.file_prefix,
             "file_prefix: must not contain a path separator"),
        ]
        for ok, message in checks:
            if not ok:
                raise RetailTiersError(f"generate {message}")


# ---------------------------------------------------------------------------------------------
# the simulated world, as flat arrays ready to be written


@dataclass
class World:
    calendar: sim.Calendar
    orders: sim.Orders  # sale orders then return orders
    order_number: np.ndarray  # 1-based id number per order (true time order)
    lines: sim.Lines  # clean lines
    clean_order: np.ndarray  # clean line indices in file order
    customer_number: np.ndarray  # 1-based id number per registered customer (buyers first)
    signed_up_sec: np.ndarray
    city: np.ndarray
    acquisition_channel: np.ndarray
    acquisition_cost_cents: np.ndarray
    campaigns: sim.Campaigns
    feedback: sim.Feedback
    n_buyers: int
    n_stores: int
    counts: dict[str, int]


def build_world(config: GeneratorConfig) -> World:
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(config.seed).spawn(10)]
    calendar = sim.make_calendar(config.months, config.end_month, config.seasonality_strength)
    n_prospects = round(config.prospect_rate * config.customers)
    n_buyers = config.customers - n_prospects
    n_stores = int(np.clip(config.customers // 20000, 10, 60))

    buyers = sim.simulate_buyers(config, calendar, n_buyers, n_stores, streams[0])
    first = sim.customer_orders(buyers, np.arange(n_buyers), buyers.first_day, sim.KIND_FIRST,
                                n_stores, streams[1])
    repeat = sim.customer_orders(buyers, buyers.repeat_owner, buyers.repeat_day,
                                 sim.KIND_REPEAT, n_stores, streams[2])
    organic = sim.Orders.concat([first, repeat])
    campaigns = sim.simulate_campaigns(config, calendar, buyers, organic, n_stores, streams[3],
                                       streams[8])
    n_guest = round(config.guest_order_rate * (len(organic) + len(campaigns.planted)))
    guests = sim.guest_orders(config, calendar, n_guest, n_stores, streams[4])
    sale_orders = sim.Orders.concat([organic, campaigns.planted, guests])
    sale_lines = sim.order_lines(config, sale_orders, streams[5])
    return_orders, return_lines, in_order_lines, return_stats = sim.returns(
        config, calendar, sale_orders, sale_lines, streams[6])
    return_lines.order = (return_lines.order + len(sale_orders)).astype(np.int32)
    orders = sim.Orders.concat([sale_orders, return_orders])
    lines = sim.Lines.concat([sale_lines, in_order_lines, return_lines])

    by_time = np.argsort(orders.true_sec, kind="stable")
    order_number = np.empty(len(orders), dtype=np.int64)
    order_number[by_time] = np.arange(1, len(orders) + 1)
    # file order: by order number, then line number (line_no < 256)
    clean_order = np.argsort(order_number[lines.order] * 256 + lines.line_no)

    # registered customers: buyers sign up at or before their first purchase, prospects anytime
    rng = streams[7]
    first_sec = np.full(n_buyers, np.iinfo(np.int64).max)
    np.minimum.at(first_sec, organic.customer, organic.parsed_sec)
    lead = np.where(rng.random(n_buyers) < sim.SIGNUP_AT_FIRST_PURCHASE_SHARE, 0.0,
                    rng.exponential(sim.SIGNUP_LEAD_MEAN_DAYS * sim.SECONDS_PER_DAY, n_buyers))
    buyer_signup = first_sec - np.ceil(lead).astype(np.int64)  # may precede the period
    prospect_signup = rng.integers(0, calendar.days * sim.SECONDS_PER_DAY, n_prospects)
    signed_up_sec = np.concatenate([buyer_signup, prospect_signup])
    city = np.concatenate([buyers.city, sim.weighted_choice(rng, sim.CITY_WEIGHTS, n_prospects)])
    acquisition = sim.weighted_choice(rng, np.array([c[1] for c in sim.ACQUISITION_CHANNELS]),
                              config.customers)
    median = np.array([c[2] for c in sim.ACQUISITION_CHANNELS])[acquisition]
    sigma = np.array([c[3] for c in sim.ACQUISITION_CHANNELS])[acquisition]
    cac = median * np.exp(sigma * rng.standard_normal(config.customers))
    # feedback: its own stream, so the other files do not change with it
    feedback = sim.simulate_feedback(
        config, calendar, buyers, sim.Orders.concat([organic, campaigns.planted]),
        prospect_signup, np.random.default_rng(np.random.SeedSequence([config.seed, 2])))
    by_signup = np.lexsort((np.arange(config.customers), signed_up_sec))
    customer_number = np.empty(config.customers, dtype=np.int64)
    customer_number[by_signup] = np.arange(1, config.customers + 1)

    counts = {
        "customer_orders": len(organic) + len(campaigns.planted),
        "first_purchases": len(first),
        "repeat_purchases": len(repeat),
        "planted_purchases": len(campaigns.planted),
        "guest_orders": n_guest,
        "return_orders": len(return_orders),
        "sale_lines": len(sale_lines),
        "in_order_return_lines": len(in_order_lines),
        "return_order_lines": len(return_lines),
        "returns_after_period_dropped": return_stats["not_yet_returned_lines"],
        "prospects": n_prospects,
    }
    return World(calendar=calendar, orders=orders, order_number=order_number, lines=lines,
                 clean_order=clean_order, customer_number=customer_number,
                 signed_up_sec=signed_up_sec, city=city, acquisition_channel=acquisition,
                 acquisition_cost_cents=np.rint(cac * 100).astype(np.int64),
                 campaigns=campaigns, feedback=feedback, n_buyers=n_buyers, n_stores=n_stores,
                 counts=counts)


# ---------------------------------------------------------------------------------------------
# dirt


@dataclass
class Dirt:
    source: np.ndarray  # per output row: position of the copied clean line in clean file order
    defect: np.ndarray  # per output row: 0 clean, else DEFECT code
    variant: np.ndarray
    transaction_number: np.ndarray  # per output row, -1 = empty
    counts: dict[str, int]


def reason_counts(n_dirty: int,
                  reasons: tuple[str, ...] = QUARANTINE_REASONS) -> dict[str, int]:
    """n_dirty split evenly over the reasons; the remainder goes to the first reasons."""
    base, remainder = divmod(n_dirty, len(reasons))
    return {reason: base + (i < remainder) for i, reason in enumerate(reasons)}


def add_dirt(dirty_rate: float, n_clean: int, eligible: np.ndarray,
             rng: np.random.Generator) -> Dirt:
    """Mix dirty copies of clean lines into the file; `eligible`: clean positions to copy.

    Every dirty line copies a clean line and carries exactly one defect, which triggers its
    reason and no reason of earlier precedence; a duplicate repeats its original's
    transaction_id and comes after it. Clean lines keep their order.
    """
    counts = reason_counts(round(dirty_rate * n_clean) if eligible.size else 0)
    n_dirty = sum(counts.values())
    sizes = list(counts.values())
    reasons = np.repeat(np.arange(1, len(QUARANTINE_REASONS) + 1), sizes).astype(np.int8)
    rank = np.arange(n_dirty) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    variant = (rank % 4).astype(np.int8)  # variants of a defect in turn
    shuffle = rng.permutation(n_dirty)
    reasons, variant = reasons[shuffle], variant[shuffle]
    source = rng.choice(eligible, size=n_dirty, replace=n_dirty > eligible.size) \
        if n_dirty else np.zeros(0, dtype=np.int64)
    duplicate = reasons == DEFECT["duplicate_transaction_id"]
    # sort keys: clean line p at p; a duplicate strictly after its original; others anywhere
    key = rng.random(n_dirty) * n_clean
    key[duplicate] = (source[duplicate] + 0.5
                      + np.floor(rng.random(int(duplicate.sum()))
                                 * (n_clean - source[duplicate])))
    keys = np.concatenate([np.arange(n_clean, dtype=np.float64), key])
    final = np.argsort(keys, kind="stable")
    all_source = np.concatenate([np.arange(n_clean), source])[final]
    defect = np.concatenate([np.zeros(n_clean, dtype=np.int8), reasons])[final]
    all_variant = np.concatenate([np.zeros(n_clean, dtype=np.int8), variant])[final]

    is_duplicate = defect == DEFECT["duplicate_transaction_id"]
    number = np.zeros(final.size, dtype=np.int64)
    number[~is_duplicate] = np.arange(1, int((~is_duplicate).sum()) + 1)
    output_position = np.empty(final.size, dtype=np.int64)
    output_position[final] = np.arange(final.size)
    number[is_duplicate] = number[output_position[all_source[is_duplicate]]]
    number[defect == DEFECT["missing_transaction_id"]] = -1
    return Dirt(source=all_source, defect=defect, variant=all_variant,
                transaction_number=number, counts=counts)


@dataclass
class FeedbackDirt:
    source: np.ndarray  # per output row: position of the copied clean response in file order
    defect: np.ndarray  # per output row: 0 clean, else FEEDBACK_DEFECT code
    variant: np.ndarray
    counts: dict[str, int]


def add_feedback_dirt(dirty_rate: float, n_clean: int, rng: np.random.Generator) -> FeedbackDirt:
    """Mix dirty copies of clean responses into the feedback file: dirty_rate x clean rows,
    but at least one per reason when dirty_rate > 0 (the file is small), split evenly over
    FEEDBACK_REASONS. Each copy carries one defect, which triggers its reason and no reason of
    earlier precedence; a duplicate (same customer and responded_at) comes after its original.
    Clean responses keep their order.
    """
    n_dirty = max(round(dirty_rate * n_clean), len(FEEDBACK_REASONS)) \
        if dirty_rate > 0 and n_clean else 0
    counts = reason_counts(n_dirty, FEEDBACK_REASONS)
    sizes = list(counts.values())
    reasons = np.repeat(np.arange(1, len(FEEDBACK_REASONS) + 1), sizes).astype(np.int8)
    rank = np.arange(n_dirty) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    variant_count = np.array([len(FEEDBACK_DEFECT_VARIANTS[r]) for r in FEEDBACK_REASONS])
    variant = (rank % variant_count[reasons - 1]).astype(np.int8)
    shuffle = rng.permutation(n_dirty)
    reasons, variant = reasons[shuffle], variant[shuffle]
    source = rng.integers(0, max(n_clean, 1), n_dirty)
    duplicate = reasons == FEEDBACK_DEFECT["duplicate_response"]
    key = rng.random(n_dirty) * n_clean
    key[duplicate] = (source[duplicate] + 0.5
                      + np.floor(rng.random(int(duplicate.sum())) * (n_clean - source[duplicate])))
    keys = np.concatenate([np.arange(n_clean, dtype=np.float64), key])
    final = np.argsort(keys, kind="stable")
    return FeedbackDirt(
        source=np.concatenate([np.arange(n_clean), source])[final],
        defect=np.concatenate([np.zeros(n_clean, dtype=np.int8), reasons])[final],
        variant=np.concatenate([np.zeros(n_clean, dtype=np.int8), variant])[final],
        counts=counts)


# ---------------------------------------------------------------------------------------------
# writing


def _money(column: str) -> str:
    """SQL: integer cents -> '12.50' (exact: cents below 2^53 survive the division)."""
    return f"(({column}) / 100)::decimal(18, 2)::varchar"


def _id(prefix: str, column: str, width: int) -> str:
    padded = f"lpad({column}::varchar, {width}, '0')"
    return f"case when {column} < 0 then null else '{prefix}' || {padded} end"


def _width(largest: int, minimum: int) -> int:
    return max(minimum, len(str(max(largest, 0))))


def _sql_list(values: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join("'" + value.replace("'", "''") + "'" for value in values) + "]"


def transactions_sql(n_orders: int, n_lines: int, n_customers: int) -> str:
    d = DEFECT
    ts = "make_timestamp(ts_us)"
    return f"""
        select
            {_id("T", "transaction_number", _width(n_lines, 9))} as transaction_id,
            case when defect = {d["missing_order_id"]} then null
                else {_id("O", "order_number", _width(n_orders, 9))} end as order_id,
            {_id("C", "customer_number", _width(n_customers, 7))} as customer_id,
            case
                when defect = {d["unparseable_timestamp"]} then
                    case variant
                        when 0 then '31/02/' || strftime({ts}, '%Y')
                        when 1 then 'not a date'
                        when 2 then strftime({ts}, '%Y') || '-13-' || strftime({ts}, '%d')
                    end
                when defect = {d["future_timestamp"]} then
                    '{FUTURE_YEAR}-' || strftime({ts}, '%m') || '-'
                    || lpad(least(day({ts}), 28)::varchar, 2, '0') || strftime({ts}, ' %H:%M:%S')
                when time_format = 0 then strftime({ts}, '%Y-%m-%d %H:%M:%S')
                when time_format = 1 then strftime({ts}, '%Y/%m/%d %H:%M')
                else strftime({ts}, '%Y%m%d')
            end as ordered_at,
            'P' || product::varchar as product_id,
            {_sql_list([c[0] for c in sim.CATEGORIES])}[category + 1] as category,
            case
                when defect = {d["non_numeric_value"]} and variant = 0 then 'two'
                when defect = {d["non_numeric_value"]} and variant = 1 then '1.5'
                when defect = {d["zero_quantity"]} then '0'
                else quantity::varchar
            end as quantity,
            case
                when defect = {d["non_numeric_value"]} and variant = 2
                    then '¥' || {_money("price_cents")}
                when defect = {d["non_numeric_value"]} and variant = 3
                    then (price_cents // 100)::varchar || ','
                        || lpad((price_cents % 100)::varchar, 2, '0')
                when defect = {d["negative_price"]} then '-' || {_money("price_cents")}
                else {_money("price_cents")}
            end as unit_price,
            case when discount_cents > 0 then {_money("discount_cents")} end as discount_amount,
            case when cost_cents >= 0 then {_money("cost_cents")} end as unit_cost,
            {_sql_list(list(sim.CHANNELS))}[channel + 1] as channel,
            {_id("S", "store", 3)} as store_id
        from transaction_rows
    """


def transaction_rows(world: World, dirt: Dirt) -> pa.Table:
    line = world.clean_order[dirt.source]
    lines, orders = world.lines, world.orders
    order = lines.order[line]
    customer = orders.customer[order]
    customer_number = np.where(customer >= 0, world.customer_number[np.maximum(customer, 0)], -1)
    start_us = world.calendar.start_epoch_sec * 1_000_000
    return pa.table({
        "transaction_number": dirt.transaction_number,
        "order_number": world.order_number[order],
        "customer_number": customer_number,
        "ts_us": start_us + orders.true_sec[order] * 1_000_000,
        "time_format": orders.time_format[order],
        "product": lines.product[line],
        "category": lines.category[line],
        "quantity": lines.quantity[line],
        "price_cents": lines.price_cents[line],
        "discount_cents": lines.discount_cents[line],
        "cost_cents": lines.cost_cents[line],
        "channel": orders.channel[order],
        "store": orders.store[order],
        "defect": dirt.defect,
        "variant": dirt.variant,
    })


def _copy(con: duckdb.DuckDBPyConnection, sql: str, path: Path, file_format: str) -> None:
    options = "(format parquet, compression zstd)" if file_format == "parquet" \
        else "(format csv, header true)"
    quoted = str(path).replace("'", "''")
    con.execute(f"copy ({sql}) to '{quoted}' {options}")


def write_dataset(config: GeneratorConfig, out_dir: Path) -> dict[str, Any]:
    """Simulate and write the contract files plus manifest.json; returns the manifest."""
    config.validate()
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise RetailTiersError(f"{out_dir}: exists and is not a folder")
    suffix = ".parquet" if config.file_format == "parquet" else ".csv"
    paths = {spec.name: out_dir / f"{config.file_prefix}{spec.name}{suffix}"
             for spec in GENERATED_FILES}
    for spec in GENERATED_FILES:
        for other in SUFFIXES:
            stale = out_dir / f"{config.file_prefix}{spec.name}{other}"
            if other != suffix and stale.exists():
                raise RetailTiersError(f"{stale}: left from an earlier run in another format; "
                                       "remove it or write to another folder")
    split = out_dir / f"{config.file_prefix}transactions"
    stale_layout = paths["transactions"] if config.split_by == "month" else split
    if stale_layout.exists():
        raise RetailTiersError(f"{stale_layout}: left from an earlier run with another "
                               "--split-by; remove it or write to another folder")
    if config.split_by == "month":
        paths["transactions"] = split
    out_dir.mkdir(parents=True, exist_ok=True)

    world = build_world(config)
    lines = world.lines
    sellable = (lines.quantity > 0) & (lines.price_cents > 0)
    eligible = np.flatnonzero(sellable[world.clean_order])
    dirt = add_dirt(config.dirty_rate, len(lines), eligible,
                     np.random.default_rng(np.random.SeedSequence([config.seed, 1])))
    rows = transaction_rows(world, dirt)

    con = duckdb.connect()
    try:
        con.execute("set preserve_insertion_order = true")
        sql = transactions_sql(len(world.orders), rows.num_rows, config.customers)
        if config.split_by == "month":
            transaction_files = _write_monthly(con, sql, rows, paths["transactions"],
                                               config.file_format, suffix)
        else:
            con.register("transaction_rows", rows)
            _copy(con, sql, paths["transactions"], config.file_format)
            con.unregister("transaction_rows")
            transaction_files = {}
        del rows
        feedback_dirt = add_feedback_dirt(
            config.dirty_rate, len(world.feedback),
            np.random.default_rng(np.random.SeedSequence([config.seed, 3])))
        for name, table, sql in [*side_tables(world, config),
                                 feedback_table(world, config, feedback_dirt)]:
            con.register(name, table)
            _copy(con, sql, paths[name], config.file_format)
            con.unregister(name)
    finally:
        con.close()

    manifest = build_manifest(config, world, dirt, paths, feedback_dirt)
    if transaction_files:  # split by month: the files and their lines
        manifest["transaction_files"] = transaction_files
    (out_dir / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
                                         encoding="utf-8")
    return manifest


def _write_monthly(con: duckdb.DuckDBPyConnection, sql: str, rows: pa.Table, folder: Path,
                   file_format: str, suffix: str) -> dict[str, int]:
    """The transaction lines as one file per month of their order's time (a dirty line in the
    month of the line it was made from), each in file order: transactions/YYYY-MM.csv. What a
    retailer adds each month; the files in name order are the lines in time order by month."""
    months = (rows.column("ts_us").to_numpy().astype("datetime64[us]")
              .astype("datetime64[M]"))
    folder.mkdir()
    written = {}
    for month in np.unique(months):
        part = rows.filter(pa.array(months == month))
        name = f"{month}{suffix}"
        con.register("transaction_rows", part)
        _copy(con, sql, folder / name, file_format)
        con.unregister("transaction_rows")
        written[f"{folder.name}/{name}"] = part.num_rows
    return written


def side_tables(world: World, config: GeneratorConfig) -> list[tuple[str, pa.Table, str]]:
    """customers, campaigns, campaign_contacts: (registered name, rows, select)."""
    start_us = world.calendar.start_epoch_sec * 1_000_000
    order = np.argsort(world.customer_number, kind="stable")
    customers = pa.table({
        "customer_number": world.customer_number[order],
        "ts_us": start_us + world.signed_up_sec[order] * 1_000_000,
        "city": world.city[order],
        "acquisition": world.acquisition_channel[order],
        "cac_cents": world.acquisition_cost_cents[order],
    })
    width = _width(config.customers, 7)
    customers_sql = f"""
        select
            {_id("C", "customer_number", width)} as customer_id,
            strftime(make_timestamp(ts_us), '%Y-%m-%d %H:%M:%S') as signed_up_at,
            {_sql_list(list(sim.CITIES))}[city + 1] as city,
            {_sql_list([c[0] for c in sim.ACQUISITION_CHANNELS])}[acquisition + 1]
                as acquisition_channel,
            {_money("cac_cents")} as acquisition_cost
        from customers
    """
    camp = world.campaigns
    start_day = np.datetime64(world.calendar.start_on, "D")
    campaigns = pa.table({
        "number": np.arange(1, camp.starts_day.size + 1),
        "name": camp.names,
        "channel": camp.channel,
        "starts_on": (start_day + camp.starts_day).astype("datetime64[D]"),
        "ends_on": (start_day + camp.ends_day).astype("datetime64[D]"),
        "cost_cents": camp.cost_cents,
    })
    campaigns_sql = f"""
        select
            'CMP' || lpad(number::varchar, 3, '0') as campaign_id,
            name as campaign_name,
            {_sql_list([c[0] for c in sim.CAMPAIGN_CHANNELS])}[channel + 1] as channel,
            strftime(starts_on, '%Y-%m-%d') as starts_on,
            strftime(ends_on, '%Y-%m-%d') as ends_on,
            {_money("cost_cents")} as cost
        from campaigns
    """
    contact_number = world.customer_number[camp.contact_customer]
    order = np.lexsort((contact_number, camp.contact_sec, camp.contact_campaign))
    contacts = pa.table({
        "campaign_number": camp.contact_campaign[order] + 1,
        "customer_number": contact_number[order],
        "ts_us": start_us + camp.contact_sec[order] * 1_000_000,
        "is_control": camp.contact_is_control[order],
    })
    contacts_sql = f"""
        select
            'CMP' || lpad(campaign_number::varchar, 3, '0') as campaign_id,
            {_id("C", "customer_number", width)} as customer_id,
            strftime(make_timestamp(ts_us), '%Y-%m-%d %H:%M:%S') as contacted_at,
            case when is_control then 'true' else 'false' end as is_control
        from campaign_contacts
    """
    return [("customers", customers, customers_sql), ("campaigns", campaigns, campaigns_sql),
            ("campaign_contacts", contacts, contacts_sql)]


def feedback_file_order(world: World) -> np.ndarray:
    """Clean responses in file order: by responded_at, then customer id."""
    feedback = world.feedback
    return np.lexsort((world.customer_number[feedback.customer], feedback.sec))


def feedback_table(world: World, config: GeneratorConfig,
                   dirt: FeedbackDirt) -> tuple[str, pa.Table, str]:
    """feedback: (registered name, rows, select); dirty copies carry their defect."""
    feedback = world.feedback
    response = feedback_file_order(world)[dirt.source]
    start_us = world.calendar.start_epoch_sec * 1_000_000
    rows = pa.table({
        "customer_number": world.customer_number[feedback.customer[response]],
        "ts_us": start_us + feedback.sec[response] * 1_000_000,
        "nps": feedback.nps[response],
        "satisfaction": feedback.satisfaction[response],
        "channel": feedback.channel[response],
        "comment": feedback.comment[response],
        "defect": dirt.defect,
        "variant": dirt.variant,
    })
    d = FEEDBACK_DEFECT
    ts = "make_timestamp(ts_us)"
    comments = [text for group in sim.FEEDBACK_COMMENTS for text in group]
    sql = f"""
        select
            case
                when defect = {d["missing_customer_id"]} and variant = 1 then '   '
                when defect = {d["missing_customer_id"]} then null
                else {_id("C", "customer_number", _width(config.customers, 7))}
            end as customer_id,
            case
                when defect = {d["unparseable_timestamp"]} then
                    case variant
                        when 0 then '31/02/' || strftime({ts}, '%Y')
                        when 1 then 'not a date'
                    end
                when defect = {d["future_timestamp"]} then
                    '{FUTURE_YEAR}-' || strftime({ts}, '%m') || '-'
                    || lpad(least(day({ts}), 28)::varchar, 2, '0') || strftime({ts}, ' %H:%M:%S')
                else strftime({ts}, '%Y-%m-%d %H:%M:%S')
            end as responded_at,
            case
                when defect = {d["non_numeric_value"]} and variant = 0 then 'nine'
                when defect = {d["non_numeric_value"]} and variant = 1 then nps::varchar || '.5'
                when defect = {d["non_numeric_value"]} and variant = 3 then null
                when defect = {d["score_out_of_range"]} and variant = 0 then '11'
                when defect = {d["score_out_of_range"]} and variant = 1 then '-1'
                else nps::varchar
            end as nps_score,
            case
                when defect = {d["non_numeric_value"]} and variant = 2 then 'good'
                when defect = {d["score_out_of_range"]} and variant = 2 then '6'
                when defect = {d["score_out_of_range"]} and variant = 3 then '0'
                when satisfaction > 0 then satisfaction::varchar
            end as satisfaction,
            {_sql_list(list(sim.FEEDBACK_CHANNELS))}[channel + 1] as channel,
            case when comment >= 0 then {_sql_list(comments)}[comment + 1] end as comment
        from feedback
    """
    return "feedback", rows, sql


def feedback_facts(world: World) -> dict[str, Any]:
    """What the clean responses hold (for the manifest): groups, NPS, the value effect."""
    feedback = world.feedback
    nps = feedback.nps.astype(np.int64)
    promoters, detractors = int((nps >= 9).sum()), int((nps <= 6).sum())

    def score(part: np.ndarray) -> float | None:
        return (round(100.0 * (int((part >= 9).sum()) - int((part <= 6).sum())) / part.size, 4)
                if part.size else None)

    buyer = feedback.customer < world.n_buyers
    value = feedback.value[feedback.customer[buyer]]
    quartile = (np.digitize(value, np.quantile(value, [0.25, 0.5, 0.75])) if value.size
                else np.zeros(0, dtype=np.int64))
    return {
        "clean_rows": len(feedback),
        "respondents": int(np.unique(feedback.customer).size),
        "prospect_respondents": int(np.unique(feedback.customer[~buyer]).size),
        "prospect_responses": int((~buyer).sum()),
        "promoters": promoters,
        "passives": int(((nps >= 7) & (nps <= 8)).sum()),
        "detractors": detractors,
        "nps": score(nps),
        "responses_without_satisfaction": int((feedback.satisfaction == 0).sum()),
        "responses_with_comment": int((feedback.comment >= 0).sum()),
        "buyer_nps_by_value_quartile": {
            f"q{k + 1}": score(nps[buyer][quartile == k]) for k in range(4)},
    }


# ---------------------------------------------------------------------------------------------
# manifest


def build_manifest(config: GeneratorConfig, world: World, dirt: Dirt,
                   paths: dict[str, Path], feedback_dirt: FeedbackDirt) -> dict[str, Any]:
    lines, orders = world.lines, world.orders
    n_clean = len(lines)
    n_dirty = sum(dirt.counts.values())
    quantity = lines.quantity.astype(np.int64)
    net_cents = int((quantity * lines.price_cents
                     - np.sign(quantity) * lines.discount_cents).sum())
    guest_line = orders.customer[lines.order] < 0
    line_format = orders.time_format[lines.order]
    camp = world.campaigns
    treated = sum(s["treated"] for s in camp.stats)
    control = sum(s["control"] for s in camp.stats)
    without = sum(s["treated_without_organic_conversion"] for s in camp.stats)
    realised_t = sum(s["realised_treated_conversions"] for s in camp.stats)
    realised_c = sum(s["realised_control_conversions"] for s in camp.stats)
    start_day = np.datetime64(world.calendar.start_on, "D")
    per_campaign = []
    for k, stats in enumerate(camp.stats):
        per_campaign.append({
            "campaign_id": f"CMP{k + 1:03d}",
            "campaign_name": camp.names[k],
            "starts_on": str(start_day + camp.starts_day[k]),
            "ends_on": str(start_day + camp.ends_day[k]),
            "channel": sim.CAMPAIGN_CHANNELS[int(camp.channel[k])][0],
            **stats,
        })
    acquisition = {}
    for i, (name, share, median, sigma) in enumerate(sim.ACQUISITION_CHANNELS):
        members = world.acquisition_channel == i
        acquisition[name] = {
            "share": share, "cac_median_amount": median, "cac_log_sd": sigma,
            "customers": int(members.sum()),
            "mean_acquisition_cost_amount": round(
                float(world.acquisition_cost_cents[members].mean() / 100), 2)
            if members.any() else None,
        }
    return {
        "generator": "retail-tiers generate",
        "manifest_version": MANIFEST_VERSION,
        "seed": config.seed,
        "config": asdict(config),
        "period": {
            "start_on": world.calendar.start_on.isoformat(),
            "end_on": world.calendar.end_on.isoformat(),
            "days": world.calendar.days,
            "weeks": round(world.calendar.days / 7, 6),
        },
        "files": {name: path.name for name, path in paths.items()},
        "rows": {
            "transactions": n_clean + n_dirty,
            "customers": config.customers,
            "campaigns": len(camp.stats),
            "campaign_contacts": int(camp.contact_campaign.size),
            "feedback": int(feedback_dirt.source.size),
        },
        "transactions": {
            "total_lines": n_clean + n_dirty,
            "clean_lines": n_clean,
            "dirty_lines": n_dirty,
            "quarantined_by_reason": dirt.counts,
            "defect_variants": {reason: list(DEFECT_VARIANTS.get(reason, ()))
                                for reason in QUARANTINE_REASONS},
            "guest_lines": int(guest_line.sum()),
            "sale_lines": world.counts["sale_lines"],
            "return_lines": int((quantity < 0).sum()),
            "in_order_return_lines": world.counts["in_order_return_lines"],
            "return_order_lines": world.counts["return_order_lines"],
            "returns_after_period_dropped": world.counts["returns_after_period_dropped"],
            "returned_line_rate": round(float((quantity < 0).sum() / max(
                world.counts["sale_lines"], 1)), 6),
            "lines_with_discount": int((lines.discount_cents > 0).sum()),
            "lines_without_unit_cost": int((lines.cost_cents < 0).sum()),
            "free_gift_lines": int(((lines.price_cents == 0) & (quantity > 0)).sum()),
            "ordered_at_formats": {name: int((line_format == i).sum())
                                   for i, name in enumerate(sim.TIME_FORMATS)},
            "clean_net_revenue_cents": net_cents,
            "clean_net_revenue_amount": round(net_cents / 100, 2),
            "net_revenue_definition": "sum over clean lines of quantity * unit_price - "
                                      "sign(quantity) * discount_amount (empty discount = 0)",
        },
        "orders": {
            "customer_purchase_orders": world.counts["customer_orders"],
            "first_purchases": world.counts["first_purchases"],
            "repeat_purchases": world.counts["repeat_purchases"],
            "planted_campaign_purchases": world.counts["planted_purchases"],
            "guest_orders": world.counts["guest_orders"],
            "return_orders": world.counts["return_orders"],
            "total_orders": len(orders),
        },
        "customers": {
            "registered": config.customers,
            "buyers": world.n_buyers,
            "prospects": world.counts["prospects"],
            "stores": world.n_stores,
            "acquisition_channels": acquisition,
        },
        "parameters": {
            "bgnbd": {"r": config.bgnbd_r, "alpha": config.bgnbd_alpha, "a": config.bgnbd_a,
                      "b": config.bgnbd_b, "time_unit": "weeks",
                      "note": "in operational time; equal to calendar time when "
                              "seasonality strength is 0"},
            "gamma_gamma": {"p": config.gg_p, "q": config.gg_q, "gamma": config.gg_gamma,
                            "value": "net value of a purchase order before returns"},
            "lines_per_order": f"1 + Poisson({config.mean_extra_lines}), at most "
                               f"{sim.MAX_LINES_PER_ORDER}",
            "categories": [{"category": name, "line_share": share, "value_weight": weight,
                            "gross_margin": margin}
                           for name, share, weight, margin in sim.CATEGORIES],
            "channels": dict(zip(sim.CHANNELS, sim.CHANNEL_WEIGHTS.tolist(), strict=True)),
            "guest_order_rate": config.guest_order_rate,
            "return_rate": config.return_rate,
            "in_order_return_share": sim.IN_ORDER_RETURN_SHARE,
            "return_delay_days": list(sim.RETURN_DELAY_DAYS),
            "missing_unit_cost_rate": sim.MISSING_UNIT_COST_RATE,
            "discount_line_rate": sim.DISCOUNT_LINE_RATE,
            "prospect_rate": config.prospect_rate,
            "feedback": {
                "feedback_rate": config.feedback_rate,
                "responses_per_respondent": dict(zip(
                    sim.FEEDBACK_RESPONSE_COUNTS.tolist(),
                    sim.FEEDBACK_RESPONSE_COUNT_WEIGHTS.tolist(), strict=True)),
                "response_span": "buyers: first purchase to "
                                 f"{sim.FEEDBACK_AFTER_LAST_PURCHASE_DAYS} days after the last "
                                 "purchase (within the period); prospects: sign-up to period end",
                "nps_model": (
                    f"round(clip({sim.NPS_BASE} + {sim.NPS_VALUE_EFFECT} x value "
                    f"+ {sim.NPS_DROPOUT_EFFECT} x dropped_out + Normal(0, {sim.NPS_NOISE_SD}), "
                    f"0, 10)); prospects: {sim.NPS_BASE} + {sim.NPS_PROSPECT_EFFECT} + noise; "
                    "value = (z(log lambda) + z(-log nu)) / sqrt(2), z = standardised over "
                    "buyers; dropped_out = the buyer's BG/NBD dropout happens in the period"),
                "satisfaction_model": (
                    f"round(clip(1 + {sim.SATISFACTION_PER_NPS_POINT} x nps + Normal(0, "
                    f"{sim.SATISFACTION_NOISE_SD}), 1, 5)), empty with probability "
                    f"{sim.SATISFACTION_MISSING_RATE}"),
                "channels": dict(zip(sim.FEEDBACK_CHANNELS,
                                     sim.FEEDBACK_CHANNEL_WEIGHTS.tolist(), strict=True)),
                "comment_rate": sim.FEEDBACK_COMMENT_RATE,
            },
        },
        "seasonality": sim.seasonal_profile(world.calendar, config.seasonality_strength),
        "feedback": {
            "total_rows": int(feedback_dirt.source.size),
            "dirty_rows": sum(feedback_dirt.counts.values()),
            "quarantined_by_reason": feedback_dirt.counts,
            "defect_variants": {reason: list(FEEDBACK_DEFECT_VARIANTS[reason])
                                for reason in FEEDBACK_REASONS},
            **feedback_facts(world),
            "dirt_definition": "dirty_rate x clean rows (at least one per reason when "
                               "dirty_rate > 0), split evenly over the reasons; each a copy of "
                               "a clean response with one defect",
            "nps_definition": "100 x (promoters (9-10) - detractors (0-6)) / responses",
        },
        "campaigns": {
            "conversion_definition": (
                "a contacted customer converts when they have a purchase (an order with net "
                "quantity > 0) with contacted_at <= ordered_at and ordered_on <= ends_on + "
                f"{config.attribution_days} days; ordered_at as written (a date-only value is "
                "midnight)"),
            "planted_definition": (
                "each treated (is_control false) contact gets, with probability "
                "planted_purchase_probability, an extra purchase on a day after the contact day "
                "and on or before ends_on; planted_conversion_uplift = that probability x "
                "(treated contacts without an organic purchase in the window / treated "
                "contacts), the expected treated minus control conversion rate; organic = "
                "purchases before any planting"),
            "eligibility": "customers whose first purchase is before starts_on and who have not "
                           "dropped out (BG/NBD) by then",
            "attribution_days": config.attribution_days,
            "contact_rate": config.campaign_contact_rate,
            "control_rate": config.campaign_control_rate,
            "overall": {
                "planted_purchase_probability": config.campaign_uplift,
                "contacts": treated + control,
                "treated": treated,
                "control": control,
                "treated_without_organic_conversion": without,
                "planted_conversion_uplift": round(config.campaign_uplift * without / treated,
                                                   6) if treated else 0.0,
                "realised_treated_conversions": realised_t,
                "realised_control_conversions": realised_c,
                "realised_conversion_uplift": round(realised_t / treated - realised_c / control,
                                                    6) if treated and control else None,
            },
            "per_campaign": per_campaign,
        },
    }

