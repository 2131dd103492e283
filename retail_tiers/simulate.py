"""The synthetic retailer behind `retail-tiers generate`: vectorised numpy, no per-customer loops.

Model (all times in days since the first day of the period unless a name says otherwise):
- Buyers are acquired (first purchase) uniformly in *operational time*; seasonality is a time
  change: a daily intensity s(d) with mean 1 over the period, operational time = its integral.
- Repeat purchases follow BG/NBD (Fader, Hardie & Lee 2005) in operational weeks:
  lambda ~ Gamma(r, scale 1/alpha), p ~ Beta(a, b); repeat purchases form a Poisson process with
  rate lambda per week; after each repeat purchase the customer drops out with probability p.
  Drawn as J ~ Geometric(p) (repeat purchases until dropout), N ~ Poisson(lambda T), and the
  first min(J, N) order statistics of N uniforms on (first purchase, end of period).
- Spend per order: Gamma-Gamma (nu ~ Gamma(q, scale 1/gamma), value ~ Gamma(p, scale 1/nu)).
- Campaigns, guest orders, order lines, returns: see the functions below.
Every order gets a true time (seconds) and the time an analyst will parse from the written
text (`parsed_sec`: truncated to the minute or the day by the order's ordered_at format). All
derived facts (first purchase, campaign conversions) use the parsed time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np

from retail_tiers.errors import RetailTiersError

if TYPE_CHECKING:
    from retail_tiers.generate import GeneratorConfig

SECONDS_PER_DAY = 86_400

CHANNELS: tuple[str, ...] = ("store", "online", "app", "mini-program")
CHANNEL_WEIGHTS = np.array([0.45, 0.25, 0.18, 0.12])
PRIMARY_CHANNEL_LOYALTY = 0.7  # chance an order uses the customer's usual channel
HOME_STORE_LOYALTY = 0.85  # chance a store order is at the customer's home store
GUEST_STORE_SHARE = 0.85  # guest sales are mostly walk-ins

# Hour-of-day weights: stores open 7:00-23:00, digital channels peak in the evening.
STORE_HOURS = np.array([0, 0, 0, 0, 0, 0, 0, 1, 3, 6, 8, 9, 9, 7, 7, 7, 7, 8, 9, 9, 6, 3, 1, 0.0])
DIGITAL_HOURS = np.array([4, 2, 1, 1, 1, 2, 3, 5, 7, 9, 10, 11, 12, 11, 10, 10, 10, 11, 12, 14,
                          16, 17, 15, 9.0])

# ordered_at formats: ISO with seconds, `YYYY/MM/DD HH:MM`, `YYYYMMDD` (parsed truncation).
TIME_FORMATS: tuple[str, ...] = ("iso", "slash_minutes", "compact_date")
TIME_FORMAT_WEIGHTS = np.array([0.85, 0.10, 0.05])
TIME_FORMAT_TRUNCATION = np.array([1, 60, SECONDS_PER_DAY], dtype=np.int64)

# name, share of lines, relative value weight within an order, gross margin
CATEGORIES: tuple[tuple[str, float, float, float], ...] = (
    ("fresh_food", 0.22, 0.6, 0.22),
    ("packaged_food", 0.20, 0.7, 0.28),
    ("beverages", 0.14, 0.5, 0.32),
    ("personal_care", 0.12, 1.2, 0.45),
    ("household", 0.12, 1.0, 0.38),
    ("baby_maternity", 0.07, 1.8, 0.35),
    ("apparel", 0.08, 2.5, 0.55),
    ("electronics", 0.05, 5.0, 0.18),
)
PRODUCTS_PER_CATEGORY = 400
MARGIN_NOISE_SIGMA = 0.15
MISSING_UNIT_COST_RATE = 0.04
FREE_GIFT_RATE = 0.01  # of lines after the first of an order: price 0 (a gift)
MAX_LINES_PER_ORDER = 15
QUANTITY_VALUES = np.array([1, 2, 3, 4, 5, 6])
QUANTITY_WEIGHTS = np.array([0.72, 0.17, 0.06, 0.03, 0.01, 0.01])
DISCOUNT_LINE_RATE = 0.22
DISCOUNT_RATES = np.array([0.05, 0.10, 0.15, 0.20, 0.30])

# Returns: a chosen sale line is returned in its own order (2-28 days after the sale) unless it
# has quantity >= 2 and draws the in-order variant (a negative line in the same receipt).
IN_ORDER_RETURN_SHARE = 0.25
FULL_RETURN_SHARE = 0.7
RETURN_DELAY_DAYS = (2, 28)  # whole days after the sale day, inclusive

CITIES: tuple[str, ...] = (
    "上海", "北京", "广州", "深圳", "杭州", "成都", "南京", "武汉", "苏州", "重庆",
)
CITY_WEIGHTS = np.array([0.16, 0.14, 0.11, 0.11, 0.10, 0.09, 0.08, 0.08, 0.07, 0.06])

# acquisition channel: share of customers, CAC median and log-sd (lognormal; organic is free)
ACQUISITION_CHANNELS: tuple[tuple[str, float, float, float], ...] = (
    ("store_walk_in", 0.30, 12.0, 0.5),
    ("organic_search", 0.12, 0.0, 0.0),
    ("paid_search", 0.15, 85.0, 0.45),
    ("social_ads", 0.18, 60.0, 0.5),
    ("wechat", 0.15, 40.0, 0.5),
    ("referral", 0.10, 25.0, 0.3),
)
SIGNUP_AT_FIRST_PURCHASE_SHARE = 0.45
SIGNUP_LEAD_MEAN_DAYS = 15.0

CAMPAIGN_CHANNELS: tuple[tuple[str, float], ...] = (  # channel, cost per contacted customer
    ("sms", 0.06), ("wechat", 0.10), ("email", 0.02), ("app_push", 0.01),
)
CAMPAIGN_THEMES = {
    1: "新春", 2: "新春", 3: "三八女神节", 4: "春季焕新", 5: "五一", 6: "618年中大促",
    7: "夏日清凉", 8: "七夕", 9: "中秋", 10: "国庆", 11: "双11", 12: "年终盛典",
}
CAMPAIGN_DURATION_DAYS = (7, 21)
MIN_CAMPAIGN_SPACING_DAYS = 40  # > longest duration + attribution window: windows never overlap

# Chinese New Year (first day of the lunar year); other years fall back to 5 February.
CNY_DATES: dict[int, str] = {
    1999: "02-16", 2000: "02-05", 2001: "01-24", 2002: "02-12", 2003: "02-01", 2004: "01-22",
    2005: "02-09", 2006: "01-29", 2007: "02-18", 2008: "02-07", 2009: "01-26", 2010: "02-14",
    2011: "02-03", 2012: "01-23", 2013: "02-10", 2014: "01-31", 2015: "02-19", 2016: "02-08",
    2017: "01-28", 2018: "02-16", 2019: "02-05", 2020: "01-25", 2021: "02-12", 2022: "02-01",
    2023: "01-22", 2024: "02-10", 2025: "01-29", 2026: "02-17", 2027: "02-06", 2028: "01-26",
    2029: "02-13", 2030: "02-03", 2031: "01-23", 2032: "02-11", 2033: "01-31", 2034: "02-19",
    2035: "02-08", 2036: "01-28", 2037: "02-15", 2038: "02-04", 2039: "01-24", 2040: "02-12",
}
CNY_FALLBACK = "02-05"

# Seasonal bumps: (name, how the window is placed, height). The daily multiplier is
# max(0.05, 1 + strength * sum of heights of the windows covering the day), then scaled to
# mean 1 over the period (so the strength moves purchases in time, not their number).
SEASON_WINDOWS: tuple[tuple[str, str, float], ...] = (
    ("cny_shopping", "CNY-21 .. CNY-2", 0.6),
    ("cny_holiday", "CNY .. CNY+6", -0.6),
    ("618_presale", "06-01 .. 06-17", 0.5),
    ("618_day", "06-18", 4.0),
    ("double_11_warmup", "10-20 .. 10-31", 0.3),
    ("double_11_presale", "11-01 .. 11-10", 1.0),
    ("double_11_day", "11-11", 8.0),
    ("december_holidays", "12-15 .. 12-31", 0.4),
    ("double_12_day", "12-12", 1.5),
)
MIN_SEASONAL_MULTIPLIER = 0.05


# ---------------------------------------------------------------------------------------------
# calendar and seasonality


@dataclass(frozen=True)
class Calendar:
    """The simulated period: whole months ending with `end_month`."""

    start_on: date
    end_on: date  # last day (inclusive)
    days: int
    intensity: np.ndarray  # daily multiplier, mean 1 over the period
    cumulative: np.ndarray  # operational days at the start of each day, length days + 1

    @property
    def start_epoch_sec(self) -> int:
        return int((self.start_on - date(1970, 1, 1)).days) * SECONDS_PER_DAY

    def to_calendar_days(self, tau: np.ndarray) -> np.ndarray:
        """Inverse time change: operational days -> calendar days since the period start."""
        index = np.searchsorted(self.cumulative, tau, side="right") - 1
        index = np.clip(index, 0, self.days - 1)
        days = index + (tau - self.cumulative[index]) / self.intensity[index]
        return np.clip(days, 0.0, np.nextafter(float(self.days), 0.0))

    def day_dates(self) -> np.ndarray:
        return np.datetime64(self.start_on, "D") + np.arange(self.days)


def parse_end_month(end_month: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d{4})-(\d{2})", end_month.strip())
    if not match:
        raise RetailTiersError(f"end_month: '{end_month}' is not YYYY-MM")
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        raise RetailTiersError(f"end_month: '{end_month}' has no month {month}")
    if not 1990 <= year <= 2090:
        raise RetailTiersError(f"end_month: year {year} is outside 1990-2090")
    return year, month


def season_windows(years: range) -> list[tuple[str, np.datetime64, np.datetime64, float]]:
    """Concrete (name, first day, last day, height) of every seasonal window in these years."""
    out: list[tuple[str, np.datetime64, np.datetime64, float]] = []
    for year in years:
        cny = np.datetime64(f"{year}-{CNY_DATES.get(year, CNY_FALLBACK)}")
        for name, placement, height in SEASON_WINDOWS:
            if placement.startswith("CNY"):
                first, last = (int(part.strip()[3:] or 0) for part in placement.split(".."))
                out.append((name, cny + first, cny + last, height))
            else:
                parts = [part.strip() for part in placement.split("..")]
                first_day = np.datetime64(f"{year}-{parts[0]}")
                last_day = np.datetime64(f"{year}-{parts[-1]}")
                out.append((name, first_day, last_day, height))
    return out


def make_calendar(months: int, end_month: str, strength: float) -> Calendar:
    end_year, end_month_number = parse_end_month(end_month)
    first_index = end_year * 12 + (end_month_number - 1) - (months - 1)
    start_on = date(first_index // 12, first_index % 12 + 1, 1)
    after_index = end_year * 12 + end_month_number
    after_end = date(after_index // 12, after_index % 12 + 1, 1)
    days = (after_end - start_on).days
    day_dates = np.datetime64(start_on, "D") + np.arange(days)
    bumps = np.zeros(days)
    for _name, first, last, height in season_windows(range(start_on.year - 1, after_end.year + 1)):
        bumps += height * ((day_dates >= first) & (day_dates <= last))
    raw = np.maximum(MIN_SEASONAL_MULTIPLIER, 1.0 + strength * bumps)
    intensity = raw * (days / raw.sum())
    cumulative = np.concatenate(([0.0], np.cumsum(intensity)))
    cumulative[-1] = float(days)
    return Calendar(start_on=start_on, end_on=date.fromordinal(after_end.toordinal() - 1),
                    days=days, intensity=intensity, cumulative=cumulative)


def seasonal_profile(calendar: Calendar, strength: float) -> dict[str, Any]:
    months = calendar.day_dates().astype("datetime64[M]")
    labels, inverse = np.unique(months, return_inverse=True)
    monthly = np.bincount(inverse, weights=calendar.intensity) / np.bincount(inverse)
    return {
        "strength": strength,
        "method": "daily multiplier max(0.05, 1 + strength * sum of window heights), scaled to "
                  "mean 1 over the period; purchases and acquisitions follow it by a time change",
        "windows": [{"name": name, "days": placement, "height": height}
                    for name, placement, height in SEASON_WINDOWS],
        "chinese_new_year": {str(year): f"{year}-{CNY_DATES.get(year, CNY_FALLBACK)}"
                             for year in range(calendar.start_on.year, calendar.end_on.year + 1)},
        "monthly_mean_multiplier": {str(label)[:7]: round(float(value), 4)
                                    for label, value in zip(labels, monthly, strict=True)},
    }


# ---------------------------------------------------------------------------------------------
# small vectorised helpers


CHOICE_RESOLUTION = 1 << 16


def weighted_choice(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """Indices drawn with the given (unnormalised) weights, to a resolution of 2^-16.

    A lookup table indexed by a uniform 16-bit integer: much faster than searchsorted over
    millions of draws, and the probabilities are off by less than 2^-16.
    """
    cdf = np.cumsum(weights / weights.sum())
    cdf[-1] = 1.0
    grid = (np.arange(CHOICE_RESOLUTION) + 0.5) / CHOICE_RESOLUTION
    table = np.searchsorted(cdf, grid, side="right").astype(np.int64)
    return table[rng.integers(0, CHOICE_RESOLUTION, size, dtype=np.uint16)]


def _group_starts(counts: np.ndarray) -> np.ndarray:
    return np.cumsum(counts) - counts


def _rank_within_group(group: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """0-based position of each element inside its group (elements sorted by group)."""
    return np.arange(group.size) - np.repeat(_group_starts(counts), counts)


# ---------------------------------------------------------------------------------------------
# customers and BG/NBD purchases


@dataclass
class Buyers:
    tau0: np.ndarray  # operational day of the first purchase
    first_day: np.ndarray  # calendar day (float) of the first purchase
    lam: np.ndarray  # purchase rate per operational week
    p: np.ndarray  # dropout probability after each repeat purchase
    nu: np.ndarray  # Gamma-Gamma spend scale
    dropouts: np.ndarray  # geometric: repeat purchases until dropout (J)
    potential: np.ndarray  # Poisson count over the remaining horizon (N)
    repeat_owner: np.ndarray  # buyer index of each repeat purchase (sorted by buyer, time)
    repeat_day: np.ndarray  # calendar day (float) of each repeat purchase
    primary_channel: np.ndarray
    home_store: np.ndarray
    city: np.ndarray


def simulate_buyers(config: GeneratorConfig, calendar: Calendar, count: int,
                    n_stores: int, rng: np.random.Generator) -> Buyers:
    horizon = float(calendar.days)
    tau0 = rng.random(count) * horizon
    first_day = calendar.to_calendar_days(tau0)
    weeks = (horizon - tau0) / 7.0
    lam = rng.gamma(config.bgnbd_r, 1.0 / config.bgnbd_alpha, count)
    p = rng.beta(config.bgnbd_a, config.bgnbd_b, count)
    dropouts = rng.geometric(p)
    potential = rng.poisson(lam * weeks)
    kept = np.minimum(dropouts, potential)

    # The first `kept` of `potential` sorted uniforms on (tau0, horizon): order statistics via
    # normalised cumulative exponential spacings, U_(j) = S_j / S_(N+1), with S_(N+1) - S_K ~
    # Gamma(N - K + 1) drawn in one go (only K spacings per buyer are ever drawn).
    total = int(kept.sum())
    owner = np.repeat(np.arange(count), kept)
    spacing_sums = np.cumsum(rng.exponential(1.0, total))
    starts = _group_starts(kept)
    before = np.concatenate(([0.0], spacing_sums))[starts]
    partial = spacing_sums - before[owner]
    has_repeats = kept > 0
    last = np.zeros(count)
    last[has_repeats] = spacing_sums[(starts + kept - 1)[has_repeats]] - before[has_repeats]
    rest = np.zeros(count)
    rest[has_repeats] = rng.gamma((potential - kept + 1)[has_repeats].astype(float), 1.0)
    uniform_order_stats = partial / (last[owner] + rest[owner])
    tau = tau0[owner] + uniform_order_stats * (horizon - tau0[owner])
    repeat_day = calendar.to_calendar_days(tau)

    nu = rng.gamma(config.gg_q, 1.0 / config.gg_gamma, count)
    primary_channel = weighted_choice(rng, CHANNEL_WEIGHTS, count)
    city = weighted_choice(rng, CITY_WEIGHTS, count)
    home_store = home_stores(city, n_stores, rng)
    return Buyers(tau0=tau0, first_day=first_day, lam=lam, p=p, nu=nu, dropouts=dropouts,
                  potential=potential, repeat_owner=owner, repeat_day=repeat_day,
                  primary_channel=primary_channel, home_store=home_store, city=city)


def home_stores(city: np.ndarray, n_stores: int, rng: np.random.Generator) -> np.ndarray:
    """Store s is in city s mod len(CITIES); a customer's home store is one in their city."""
    n_cities = len(CITIES)
    per_city = np.array([len(range(c, n_stores, n_cities)) for c in range(n_cities)])
    pick = np.floor(rng.random(city.size) * per_city[city]).astype(np.int64)
    return city + n_cities * pick


# ---------------------------------------------------------------------------------------------
# orders

KIND_FIRST, KIND_REPEAT, KIND_PLANTED, KIND_GUEST, KIND_RETURN = range(5)


@dataclass
class Orders:
    customer: np.ndarray  # buyer index, -1 = guest
    true_sec: np.ndarray  # seconds since the period start
    parsed_sec: np.ndarray  # what the written ordered_at parses to
    time_format: np.ndarray  # index into TIME_FORMATS
    channel: np.ndarray  # index into CHANNELS
    store: np.ndarray  # store index, -1 = not a store order
    nu: np.ndarray  # spend scale for the order value
    kind: np.ndarray  # KIND_*

    def __len__(self) -> int:
        return int(self.customer.size)

    @staticmethod
    def concat(parts: list[Orders]) -> Orders:
        return Orders(**{name: np.concatenate([getattr(part, name) for part in parts])
                         for name in Orders.__dataclass_fields__})

    def take(self, index: np.ndarray) -> Orders:
        return Orders(**{name: getattr(self, name)[index] for name in Orders.__dataclass_fields__})


def place_in_day(day: np.ndarray, channel: np.ndarray,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True seconds (a time of day by channel on the given day), format, parsed seconds."""
    n = day.size
    store_hour = weighted_choice(rng, STORE_HOURS, n)
    digital_hour = weighted_choice(rng, DIGITAL_HOURS, n)
    hour = np.where(channel == 0, store_hour, digital_hour)
    true_sec = (day.astype(np.int64) * SECONDS_PER_DAY + hour * 3600
                + rng.integers(0, 3600, n))
    time_format = weighted_choice(rng, TIME_FORMAT_WEIGHTS, n).astype(np.int8)
    truncation = TIME_FORMAT_TRUNCATION[time_format]
    parsed_sec = true_sec - true_sec % truncation
    return true_sec, time_format, parsed_sec


def customer_orders(buyers: Buyers, customer: np.ndarray, day: np.ndarray, kind: int,
                    n_stores: int, rng: np.random.Generator) -> Orders:
    n = customer.size
    usual = rng.random(n) < PRIMARY_CHANNEL_LOYALTY
    other = weighted_choice(rng, CHANNEL_WEIGHTS, n)
    channel = np.where(usual, buyers.primary_channel[customer], other)
    at_home = rng.random(n) < HOME_STORE_LOYALTY
    store = np.where(at_home, buyers.home_store[customer], rng.integers(0, n_stores, n))
    store = np.where(channel == 0, store, -1)
    true_sec, time_format, parsed_sec = place_in_day(np.floor(day), channel, rng)
    return Orders(customer=customer.astype(np.int64), true_sec=true_sec, parsed_sec=parsed_sec,
                  time_format=time_format, channel=channel.astype(np.int8),
                  store=store.astype(np.int16), nu=buyers.nu[customer],
                  kind=np.full(n, kind, dtype=np.int8))


def guest_orders(config: GeneratorConfig, calendar: Calendar, count: int, n_stores: int,
                 rng: np.random.Generator) -> Orders:
    day = calendar.to_calendar_days(rng.random(count) * calendar.days)
    walk_in = rng.random(count) < GUEST_STORE_SHARE
    digital = 1 + weighted_choice(rng, CHANNEL_WEIGHTS[1:], count)
    channel = np.where(walk_in, 0, digital)
    store = np.where(channel == 0, rng.integers(0, n_stores, count), -1)
    true_sec, time_format, parsed_sec = place_in_day(np.floor(day), channel, rng)
    nu = rng.gamma(config.gg_q, 1.0 / config.gg_gamma, count)
    return Orders(customer=np.full(count, -1, dtype=np.int64), true_sec=true_sec,
                  parsed_sec=parsed_sec, time_format=time_format,
                  channel=channel.astype(np.int8), store=store.astype(np.int16), nu=nu,
                  kind=np.full(count, KIND_GUEST, dtype=np.int8))


# ---------------------------------------------------------------------------------------------
# campaigns


@dataclass
class Campaigns:
    starts_day: np.ndarray
    ends_day: np.ndarray
    channel: np.ndarray  # index into CAMPAIGN_CHANNELS
    cost_cents: np.ndarray
    names: list[str]
    contact_campaign: np.ndarray  # campaign index per contact row
    contact_customer: np.ndarray  # buyer index
    contact_sec: np.ndarray  # contacted_at, seconds since the period start
    contact_is_control: np.ndarray
    planted: Orders
    stats: list[dict[str, Any]]


def campaign_schedule(calendar: Calendar, months: int,
                      rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """About one campaign every two months; attribution windows never overlap."""
    count = max(1, min(round(months / 2), calendar.days // MIN_CAMPAIGN_SPACING_DAYS))
    slot = calendar.days / count
    starts = np.floor(np.arange(count) * slot + 0.25 * slot).astype(np.int64)
    starts += rng.integers(0, 6, count)
    duration = rng.integers(CAMPAIGN_DURATION_DAYS[0], CAMPAIGN_DURATION_DAYS[1] + 1, count)
    ends = np.minimum(starts + duration - 1, calendar.days - 1)
    return starts, ends


def count_in_windows(keys: np.ndarray, customer: np.ndarray, low_sec: np.ndarray,
                     high_sec: np.ndarray, scale: int) -> np.ndarray:
    """Orders of each customer with low <= parsed time < high; keys = sorted customer*scale+sec."""
    first = np.searchsorted(keys, customer * scale + low_sec, side="left")
    last = np.searchsorted(keys, customer * scale + high_sec, side="left")
    return last - first


def simulate_campaigns(config: GeneratorConfig, calendar: Calendar, buyers: Buyers,
                       organic: Orders, n_stores: int, rng: np.random.Generator,
                       planted_rng: np.random.Generator) -> Campaigns:
    """Campaigns, their contacts (with a random control group) and the planted purchases.

    `planted_rng` draws only the planted orders' details, so the same seed with
    campaign_uplift = 0 gives the same world without the planted purchases.
    """
    n_buyers = buyers.tau0.size
    never = np.iinfo(np.int64).max
    first_sec = np.full(n_buyers, never)
    np.minimum.at(first_sec, organic.customer, organic.parsed_sec)
    # A customer drops out right after their J-th repeat purchase, when J <= N.
    is_repeat = organic.kind == KIND_REPEAT
    last_repeat_sec = np.full(n_buyers, -1, dtype=np.int64)
    np.maximum.at(last_repeat_sec, organic.customer[is_repeat], organic.parsed_sec[is_repeat])
    dropout_sec = np.where(buyers.dropouts <= buyers.potential, last_repeat_sec, never)

    scale = (calendar.days + 400) * SECONDS_PER_DAY
    starts, ends = campaign_schedule(calendar, config.months, rng)
    count = starts.size
    channel = weighted_choice(rng, np.ones(len(CAMPAIGN_CHANNELS)), count)
    per_contact = np.array([cost for _name, cost in CAMPAIGN_CHANNELS])
    window_end_sec = (ends + config.attribution_days + 1) * SECONDS_PER_DAY

    contact_parts: list[tuple[np.ndarray, ...]] = []
    planted_parts: list[Orders] = []
    for k in range(count):  # one iteration per campaign (a handful), vectorised inside
        start_sec = int(starts[k]) * SECONDS_PER_DAY
        eligible = np.flatnonzero((first_sec < start_sec) & (dropout_sec >= start_sec))
        n_contacts = round(config.campaign_contact_rate * eligible.size)
        chosen = np.sort(rng.choice(eligible, size=n_contacts, replace=False))
        is_control = np.zeros(n_contacts, dtype=bool)
        is_control[rng.permutation(n_contacts)[:round(config.campaign_control_rate * n_contacts)]]\
            = True
        contact_day = starts[k] + (rng.random(n_contacts) < 0.3)  # some go out the next day
        contact_sec = (contact_day * SECONDS_PER_DAY + rng.integers(9 * 3600, 20 * 3600,
                                                                    n_contacts))
        treated = ~is_control
        planted = treated & (rng.random(n_contacts) < config.campaign_uplift)
        # planted purchase: a day strictly after the contact day, on or before ends_on
        span = ends[k] - contact_day[planted]
        planted_day = contact_day[planted] + 1 + np.floor(planted_rng.random(span.size) * span)
        planted_parts.append(customer_orders(buyers, chosen[planted], planted_day, KIND_PLANTED,
                                             n_stores, planted_rng))
        contact_parts.append((np.full(n_contacts, k), chosen, contact_sec, is_control))

    contact_campaign, contact_customer, contact_sec, contact_is_control = (
        np.concatenate([part[i] for part in contact_parts]) for i in range(4))
    planted = Orders.concat(planted_parts)

    # conversions: a purchase with contacted_at <= parsed ordered_at < ends_on + attribution + 1
    low = contact_sec
    high = window_end_sec[contact_campaign]
    organic_keys = np.sort(organic.customer * scale + organic.parsed_sec)
    organic_hits = count_in_windows(organic_keys, contact_customer, low, high, scale) > 0
    every = Orders.concat([organic, planted])
    all_keys = np.sort(every.customer * scale + every.parsed_sec)
    realised_hits = count_in_windows(all_keys, contact_customer, low, high, scale) > 0
    planted_count = [len(part) for part in planted_parts]

    stats: list[dict[str, Any]] = []
    cost_cents = np.zeros(count, dtype=np.int64)
    names: list[str] = []
    for k in range(count):
        rows = contact_campaign == k
        control = rows & contact_is_control
        treated = rows & ~contact_is_control
        n_treated, n_control = int(treated.sum()), int(control.sum())
        treated_without = int((treated & ~organic_hits).sum())
        uplift = (config.campaign_uplift * treated_without / n_treated) if n_treated else 0.0
        fixed = int(rng.integers(2000, 8001)) * 100
        cost_cents[k] = fixed + round(per_contact[channel[k]] * 100 * n_treated)
        start_date = calendar.start_on.toordinal() + int(starts[k])
        month = date.fromordinal(start_date)
        names.append(f"{CAMPAIGN_THEMES[month.month]} {month:%Y-%m}")
        stats.append({
            "contacts": int(rows.sum()),
            "treated": n_treated,
            "control": n_control,
            "planted_purchase_probability": config.campaign_uplift,
            "planted_purchases": int(planted_count[k]),
            "treated_organic_conversions": int((treated & organic_hits).sum()),
            "control_organic_conversions": int((control & organic_hits).sum()),
            "treated_without_organic_conversion": treated_without,
            "planted_conversion_uplift": round(uplift, 6),
            "realised_treated_conversions": int((treated & realised_hits).sum()),
            "realised_control_conversions": int((control & realised_hits).sum()),
        })
    return Campaigns(starts_day=starts, ends_day=ends, channel=channel, cost_cents=cost_cents,
                     names=names, contact_campaign=contact_campaign,
                     contact_customer=contact_customer, contact_sec=contact_sec,
                     contact_is_control=contact_is_control, planted=planted, stats=stats)


# ---------------------------------------------------------------------------------------------
# order lines and returns


@dataclass
class Lines:
    order: np.ndarray  # index into the final order table
    line_no: np.ndarray
    category: np.ndarray
    product: np.ndarray  # product code: (category + 1) * 10000 + number
    quantity: np.ndarray
    price_cents: np.ndarray
    discount_cents: np.ndarray
    cost_cents: np.ndarray  # -1 = unknown (written empty)

    def __len__(self) -> int:
        return int(self.order.size)

    @staticmethod
    def concat(parts: list[Lines]) -> Lines:
        return Lines(**{name: np.concatenate([getattr(part, name) for part in parts])
                        for name in Lines.__dataclass_fields__})

    def take(self, index: np.ndarray) -> Lines:
        return Lines(**{name: getattr(self, name)[index] for name in Lines.__dataclass_fields__})


def order_lines(config: GeneratorConfig, orders: Orders, rng: np.random.Generator) -> Lines:
    """Split each order's Gamma-Gamma value over 1..k lines (expensive categories take more).

    Products: PRODUCTS_PER_CATEGORY per category, popularity ~ 1/rank, each with its own gross
    margin (the category's, with lognormal noise); unit_cost = unit_price x (1 - margin).
    """
    n_orders = len(orders)
    per_order = np.minimum(1 + rng.poisson(config.mean_extra_lines, n_orders),
                           MAX_LINES_PER_ORDER)
    order = np.repeat(np.arange(n_orders, dtype=np.int32), per_order)
    line_no = _rank_within_group(order, per_order).astype(np.int16)
    n = order.size
    category = weighted_choice(rng, np.array([c[1] for c in CATEGORIES]), n).astype(np.int8)
    value_weight = np.array([c[2] for c in CATEGORIES])
    category_margin = np.array([c[3] for c in CATEGORIES])
    product_number = weighted_choice(rng, 1.0 / np.arange(1, PRODUCTS_PER_CATEGORY + 1), n)
    product_index = category.astype(np.int64) * PRODUCTS_PER_CATEGORY + product_number
    product_margin = np.clip(category_margin[:, None] * np.exp(
        rng.normal(0.0, MARGIN_NOISE_SIGMA, (len(CATEGORIES), PRODUCTS_PER_CATEGORY))),
        0.02, 0.9).ravel()

    gift = (line_no > 0) & (rng.random(n) < FREE_GIFT_RATE)
    weight = (rng.standard_exponential(n) + rng.standard_exponential(n)) \
        * value_weight[category]  # Gamma(2) x category value weight
    weight[gift] = 0.0
    share = weight / np.bincount(order, weights=weight, minlength=n_orders)[order]
    order_value = rng.gamma(config.gg_p, 1.0 / orders.nu)
    net = order_value[order] * share
    quantity = QUANTITY_VALUES[weighted_choice(rng, QUANTITY_WEIGHTS, n)].astype(np.int32)
    rate_weights = np.concatenate(([1.0 - DISCOUNT_LINE_RATE],
                                   np.full(DISCOUNT_RATES.size,
                                           DISCOUNT_LINE_RATE / DISCOUNT_RATES.size)))
    rate = np.concatenate(([0.0], DISCOUNT_RATES))[weighted_choice(rng, rate_weights, n)]
    price_cents = np.rint(net / (1.0 - rate) * 100.0 / quantity).astype(np.int64)
    discount_cents = np.rint(rate * quantity * price_cents).astype(np.int64)
    cost_cents = np.rint(price_cents * (1.0 - product_margin[product_index])).astype(np.int64)
    cost_cents[gift] = rng.integers(100, 1000, int(gift.sum()))  # a gift still costs something
    cost_cents[rng.random(n) < MISSING_UNIT_COST_RATE] = -1
    product = ((category.astype(np.int32) + 1) * 10000 + product_number + 1).astype(np.int32)
    return Lines(order=order, line_no=line_no, category=category, product=product,
                 quantity=quantity, price_cents=price_cents, discount_cents=discount_cents,
                 cost_cents=cost_cents)


def returns(config: GeneratorConfig, calendar: Calendar, orders: Orders, lines: Lines,
            rng: np.random.Generator) -> tuple[Orders, Lines, Lines, dict[str, int]]:
    """Return orders, their lines (order index relative to the return orders), in-order lines."""
    n = len(lines)
    chosen = (lines.price_cents > 0) & (rng.random(n) < config.return_rate)
    in_order = chosen & (lines.quantity >= 2) & (rng.random(n) < IN_ORDER_RETURN_SHARE)
    separate = chosen & ~in_order
    fraction = rng.random(n)

    # in-order: a negative line for 1..q-1 units in the same receipt (net quantity stays > 0)
    source = lines.take(np.flatnonzero(in_order))
    returned = 1 + np.floor(fraction[in_order] * (source.quantity - 1)).astype(np.int32)
    in_order_lines = Lines(order=source.order, line_no=(source.line_no + 100).astype(np.int16),
                           category=source.category, product=source.product,
                           quantity=-returned, price_cents=source.price_cents,
                           discount_cents=source.discount_cents * returned // source.quantity,
                           cost_cents=source.cost_cents)

    # separate: one return order per original order, dated 2-28 days later (dropped when that
    # falls after the period: not returned yet)
    source = lines.take(np.flatnonzero(separate))
    original, return_index = np.unique(source.order, return_inverse=True)
    low, high = RETURN_DELAY_DAYS
    sale_day = orders.parsed_sec[original] // SECONDS_PER_DAY
    day = sale_day + np.floor(low + rng.random(original.size) * (high - low + 1)).astype(np.int64)
    in_period = day < calendar.days
    channel = orders.channel[original]
    true_sec, time_format, parsed_sec = place_in_day(np.minimum(day, calendar.days - 1),
                                                     channel, rng)
    full = rng.random(source.order.size) < FULL_RETURN_SHARE
    partial = 1 + np.floor(fraction[separate] * source.quantity).astype(np.int32)
    returned = np.where(full, source.quantity, np.minimum(partial, source.quantity))
    return_orders = Orders(customer=orders.customer[original], true_sec=true_sec,
                           parsed_sec=parsed_sec, time_format=time_format,
                           channel=channel, store=orders.store[original],
                           nu=orders.nu[original],
                           kind=np.full(original.size, KIND_RETURN, dtype=np.int8))
    return_lines = Lines(order=return_index.astype(np.int32), line_no=source.line_no,
                         category=source.category, product=source.product, quantity=-returned,
                         price_cents=source.price_cents,
                         discount_cents=source.discount_cents * returned // source.quantity,
                         cost_cents=source.cost_cents)
    keep_orders = np.flatnonzero(in_period)
    renumber = np.full(original.size, -1, dtype=np.int64)
    renumber[keep_orders] = np.arange(keep_orders.size)
    keep_lines = np.flatnonzero(in_period[return_lines.order])
    return_lines = return_lines.take(keep_lines)
    return_lines.order = renumber[return_lines.order].astype(np.int32)
    stats = {"chosen_lines": int(chosen.sum()),
             "not_yet_returned_lines": int(separate.sum() - keep_lines.size)}
    return return_orders.take(keep_orders), return_lines, in_order_lines, stats


# ---------------------------------------------------------------------------------------------
# customer feedback (NPS survey)

# A share of registered customers answer the survey 1-3 times. A buyer answers between the
# first purchase and FEEDBACK_AFTER_LAST_PURCHASE_DAYS after the last one (their active span),
# a prospect any time after signing up. Scores follow the customer's simulated value: a latent
# score NPS_BASE + NPS_VALUE_EFFECT x value + NPS_DROPOUT_EFFECT (buyers who stop buying) +
# noise per response, rounded and clipped to 0-10; value = the mean of the standardised
# log purchase rate (BG/NBD lambda) and log expected spend (Gamma-Gamma 1/nu), times sqrt(2)
# (unit variance). Satisfaction = round(1 + SATISFACTION_PER_NPS_POINT x nps + noise), 1-5.
FEEDBACK_RESPONSE_COUNTS = np.array([1, 2, 3])
FEEDBACK_RESPONSE_COUNT_WEIGHTS = np.array([0.6, 0.3, 0.1])
FEEDBACK_AFTER_LAST_PURCHASE_DAYS = 30
FEEDBACK_CHANNELS: tuple[str, ...] = ("app", "wechat", "sms", "email", "store")
FEEDBACK_CHANNEL_WEIGHTS = np.array([0.3, 0.3, 0.15, 0.1, 0.15])
NPS_BASE = 8.0
NPS_VALUE_EFFECT = 1.2
NPS_DROPOUT_EFFECT = -1.2
NPS_PROSPECT_EFFECT = -0.7
NPS_NOISE_SD = 1.4
SATISFACTION_PER_NPS_POINT = 0.4
SATISFACTION_NOISE_SD = 0.5
SATISFACTION_MISSING_RATE = 0.1
FEEDBACK_COMMENT_RATE = 0.35
# comments by NPS group (detractor 0-6, passive 7-8, promoter 9-10), the same count per group
FEEDBACK_COMMENTS: tuple[tuple[str, ...], ...] = (
    ("排队太久", "product was out of stock, again", "退货太麻烦", "prices went up"),
    ("还可以", "ok, nothing special", "价格可以再低一点", "delivery was slow but fine"),
    ("服务很好，会推荐给朋友", "fast delivery, friendly staff", "品质稳定", "love the app"),
)


@dataclass
class Feedback:
    customer: np.ndarray  # registered customer index (buyers first, then prospects)
    sec: np.ndarray  # responded_at, seconds since the period start
    nps: np.ndarray  # 0-10
    satisfaction: np.ndarray  # 1-5, 0 = not answered
    channel: np.ndarray  # index into FEEDBACK_CHANNELS
    comment: np.ndarray  # flat index into FEEDBACK_COMMENTS, -1 = none
    value: np.ndarray  # per registered customer: standardised value (prospects: nan)

    def __len__(self) -> int:
        return int(self.customer.size)


def _standardised(values: np.ndarray) -> np.ndarray:
    spread = float(values.std()) if values.size else 0.0
    return (values - values.mean()) / spread if spread > 0 else np.zeros(values.size)


def simulate_feedback(config: GeneratorConfig, calendar: Calendar, buyers: Buyers,
                      purchases: Orders, prospect_signup_sec: np.ndarray,
                      rng: np.random.Generator) -> Feedback:
    """Survey responses of registered customers; `purchases`: every buyer's purchase orders."""
    n_buyers = buyers.lam.size
    n_customers = n_buyers + prospect_signup_sec.size
    end_sec = calendar.days * SECONDS_PER_DAY
    first_sec = np.full(n_buyers, end_sec - 1, dtype=np.int64)
    np.minimum.at(first_sec, purchases.customer, purchases.parsed_sec)
    last_sec = np.zeros(n_buyers, dtype=np.int64)
    np.maximum.at(last_sec, purchases.customer, purchases.parsed_sec)
    span_start = np.concatenate([first_sec, prospect_signup_sec.astype(np.int64)])
    span_end = np.concatenate([
        np.minimum(last_sec + FEEDBACK_AFTER_LAST_PURCHASE_DAYS * SECONDS_PER_DAY, end_sec),
        np.full(prospect_signup_sec.size, end_sec, dtype=np.int64)])

    value = (_standardised(np.log(buyers.lam)) + _standardised(-np.log(buyers.nu))) / np.sqrt(2)
    dropped = buyers.dropouts <= buyers.potential
    mean_score = np.concatenate([
        NPS_BASE + NPS_VALUE_EFFECT * value + NPS_DROPOUT_EFFECT * dropped,
        np.full(prospect_signup_sec.size, NPS_BASE + NPS_PROSPECT_EFFECT)])

    respondents = np.flatnonzero(rng.random(n_customers) < config.feedback_rate)
    counts = FEEDBACK_RESPONSE_COUNTS[weighted_choice(rng, FEEDBACK_RESPONSE_COUNT_WEIGHTS,
                                                      respondents.size)]
    owner = np.repeat(respondents, counts)
    m = owner.size
    width = span_end[owner] - span_start[owner]
    moment = span_start[owner] + np.floor(rng.random(m) * width).astype(np.int64)
    # answered at a waking hour of that day, never before the span starts
    hour = weighted_choice(rng, DIGITAL_HOURS, m)
    placed = (moment // SECONDS_PER_DAY * SECONDS_PER_DAY + hour * 3600
              + rng.integers(0, 3600, m))
    sec = np.clip(placed, span_start[owner], span_end[owner] - 1)
    nps = np.clip(np.rint(mean_score[owner] + rng.normal(0.0, NPS_NOISE_SD, m)), 0, 10)
    satisfaction = np.clip(np.rint(1.0 + SATISFACTION_PER_NPS_POINT * nps
                                   + rng.normal(0.0, SATISFACTION_NOISE_SD, m)), 1, 5)
    satisfaction[rng.random(m) < SATISFACTION_MISSING_RATE] = 0
    channel = weighted_choice(rng, FEEDBACK_CHANNEL_WEIGHTS, m)
    group = np.where(nps >= 9, 2, np.where(nps >= 7, 1, 0))
    per_group = len(FEEDBACK_COMMENTS[0])
    comment = np.where(rng.random(m) < FEEDBACK_COMMENT_RATE,
                       group * per_group + rng.integers(0, per_group, m), -1)

    # one response per customer and second: a repeated (customer, second) is dropped
    order = np.lexsort((owner, sec))
    key = owner[order] * np.int64(end_sec + 1) + sec[order]
    keep = order[np.concatenate(([True], key[1:] != key[:-1]))] if m else order
    return Feedback(customer=owner[keep], sec=sec[keep], nps=nps[keep].astype(np.int8),
                    satisfaction=satisfaction[keep].astype(np.int8),
                    channel=channel[keep].astype(np.int8), comment=comment[keep].astype(np.int16),
                    value=np.concatenate([value, np.full(prospect_signup_sec.size, np.nan)]))
