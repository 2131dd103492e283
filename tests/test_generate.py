"""The synthetic dataset generator (`retail-tiers generate`).

Every count in manifest.json is re-derived here from the written files by an independent,
plain-Python reading of the rules (BRIEF's stg_transactions reasons), and the simulation is
checked against theory (BG/NBD's E[X(t)]) and against a second run without the campaign plant.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from feedback_reference import FEEDBACK_REASONS, classify_feedback, read_feedback
from scipy.special import hyp2f1

from retail_tiers.contract import RAW_FILES
from retail_tiers.errors import RetailTiersError
from retail_tiers.generate import GENERATED_FILES, GeneratorConfig, generated_columns, write_dataset

END_MONTH = "2025-12"  # safely before today, so no clean line is in the future
PERIOD_END = datetime(2026, 1, 1)  # exclusive end of the simulated period
REASONS = ("missing_transaction_id", "duplicate_transaction_id", "missing_order_id",
           "non_numeric_value", "unparseable_timestamp", "future_timestamp", "zero_quantity",
           "negative_price")
INTEGER = r"[+-]?[0-9]+(\.0*)?"
DECIMAL = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)"
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M:%S",
                "%Y/%m/%d %H:%M", "%Y/%m/%d", "%Y%m%d")


# ---------------------------------------------------------------------------------------------
# helpers: generate, read, and an independent classifier


def make(folder: Path, **overrides: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {"end_month": END_MONTH, **overrides}
    return write_dataset(GeneratorConfig(**settings), folder)


def read(folder: Path, name: str, file_format: str = "csv") -> pd.DataFrame:
    """A raw file as text, missing values as None, in file order."""
    if file_format == "parquet":
        frame = pd.read_parquet(folder / f"{name}.parquet")
    else:
        frame = pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False,
                            na_values=[], encoding="utf-8")
        frame = frame.replace({"": None})
    return frame.astype(object).where(frame.notna(), None)


def parse_times(values: pd.Series) -> pd.Series:
    """Accepted ordered_at formats (DESIGN sec. 1); anything else is NaT."""
    text = values.astype("string").str.strip()
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    for fmt in TIME_FORMATS:
        todo = parsed.isna() & text.notna()
        if todo.any():
            parsed[todo] = pd.to_datetime(text[todo], format=fmt, errors="coerce")
    return parsed


def classify(transactions: pd.DataFrame, load_date: date) -> pd.Series:
    """The quarantine reason of every row (None = clean), first that applies wins."""
    def fits(column: str, pattern: str) -> pd.Series:
        values = transactions[column]
        return values.notna() & values.fillna("").str.fullmatch(pattern)

    def number(column: str) -> pd.Series:
        return pd.to_numeric(transactions[column], errors="coerce")

    ids = transactions["transaction_id"]
    when = parse_times(transactions["ordered_at"])
    conditions = [
        ids.isna(),
        ids.notna() & ids.duplicated(keep="first"),
        transactions["order_id"].isna(),
        ~fits("quantity", INTEGER) | ~fits("unit_price", DECIMAL)
        | (transactions["discount_amount"].notna() & ~fits("discount_amount", DECIMAL))
        | (transactions["unit_cost"].notna() & ~fits("unit_cost", DECIMAL)),
        when.isna(),
        when >= pd.Timestamp(load_date + timedelta(days=1)),
        number("quantity") == 0,
        (number("unit_price") < 0) | (number("discount_amount") < 0) | (number("unit_cost") < 0),
    ]
    chosen = np.select([c.fillna(False).to_numpy(dtype=bool) for c in conditions],
                       list(REASONS), default="")
    return pd.Series(chosen, index=transactions.index).replace({"": None})


def clean_lines(folder: Path) -> pd.DataFrame:
    frame = read(folder, "transactions")
    frame["reason"] = classify(frame, date.today())
    clean = frame[frame["reason"].isna()].copy()
    clean["quantity"] = clean["quantity"].astype(float).astype(int)
    clean["ordered_at"] = parse_times(clean["ordered_at"])
    clean["net"] = [Decimal(q) * Decimal(p) - (1 if q > 0 else -1) * Decimal(d or "0")
                    for q, p, d in zip(clean["quantity"], clean["unit_price"],
                                       clean["discount_amount"], strict=True)]
    return clean


def purchases(clean: pd.DataFrame) -> pd.DataFrame:
    """Customer orders with net quantity > 0 (DESIGN sec. 2)."""
    orders = (clean[clean["customer_id"].notna()]
              .groupby("order_id")
              .agg(customer_id=("customer_id", "first"), ordered_at=("ordered_at", "min"),
                   net_quantity=("quantity", "sum"))
              .reset_index())
    return orders[orders["net_quantity"] > 0]


def digest(folder: Path) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.iterdir())}


def expected_repeat_purchases(t: np.ndarray, r: float, alpha: float, a: float,
                              b: float) -> np.ndarray:
    """BG/NBD E[X(t)] (Fader, Hardie & Lee 2005, eq. 9)."""
    return ((a + b - 1) / (a - 1)) * (
        1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))


# ---------------------------------------------------------------------------------------------
# datasets shared by the tests of this module


@pytest.fixture(scope="module")
def dirty_set(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("dirty")
    return folder, make(folder, customers=600, months=12, seed=7, dirty_rate=0.08)


@pytest.fixture(scope="module")
def standard_set(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("standard")
    return folder, make(folder, customers=4000, months=24, seed=11)


@pytest.fixture(scope="module")
def standard_clean(standard_set: tuple[Path, dict[str, Any]]) -> pd.DataFrame:
    return clean_lines(standard_set[0])


# ---------------------------------------------------------------------------------------------
# files, contract, determinism


def test_files_follow_the_contract(dirty_set, tmp_path):
    folder, manifest = dirty_set
    assert {spec.name for spec in RAW_FILES} - {spec.name for spec in GENERATED_FILES} == {
        "customer_identities"}
    for spec in GENERATED_FILES:
        header = (folder / f"{spec.name}.csv").read_text(encoding="utf-8").splitlines()[0]
        assert header.split(",") == generated_columns(spec)
        assert manifest["files"][spec.name] == f"{spec.name}.csv"
    make(tmp_path, customers=200, months=6, file_format="parquet", file_prefix="raw_")
    for spec in GENERATED_FILES:
        schema = pq.read_schema(tmp_path / f"raw_{spec.name}.parquet")
        assert schema.names == generated_columns(spec)
        assert all(str(field.type) == "string" for field in schema)
    assert (tmp_path / "manifest.json").is_file()


def test_same_config_gives_byte_identical_files(tmp_path):
    for file_format in ("csv", "parquet"):
        first = make(tmp_path / f"{file_format}1", customers=400, months=6, seed=3,
                     file_format=file_format)
        make(tmp_path / f"{file_format}2", customers=400, months=6, seed=3,
             file_format=file_format)
        assert first["rows"]["transactions"] > 1000
        assert digest(tmp_path / f"{file_format}1") == digest(tmp_path / f"{file_format}2")
    make(tmp_path / "other_seed", customers=400, months=6, seed=4)
    assert (digest(tmp_path / "other_seed")["transactions.csv"]
            != digest(tmp_path / "csv1")["transactions.csv"])


def test_csv_and_parquet_hold_the_same_rows(tmp_path):
    make(tmp_path / "csv", customers=300, months=6, seed=5, dirty_rate=0.05)
    make(tmp_path / "parquet", customers=300, months=6, seed=5, dirty_rate=0.05,
         file_format="parquet")
    for spec in GENERATED_FILES:
        from_csv = read(tmp_path / "csv", spec.name)
        from_parquet = read(tmp_path / "parquet", spec.name, "parquet")
        assert len(from_csv) > 0
        assert from_csv.values.tolist() == from_parquet.values.tolist()


def test_split_by_month_writes_the_same_lines_one_file_per_order_month(tmp_path):
    make(tmp_path / "single", customers=300, months=6, seed=5, dirty_rate=0.05)
    split = make(tmp_path / "split", customers=300, months=6, seed=5, dirty_rate=0.05,
                 split_by="month")
    assert split["files"]["transactions"] == "transactions"
    parts = sorted((tmp_path / "split" / "transactions").iterdir())
    last = pd.Period(END_MONTH, "M")
    assert [part.name for part in parts] == [f"{last - back}.csv" for back in range(5, -1, -1)]
    frames = {part.name: read(part.parent, part.stem) for part in parts}
    assert split["transaction_files"] == {f"transactions/{name}": len(frame)
                                          for name, frame in frames.items()}
    assert sum(split["transaction_files"].values()) == split["rows"]["transactions"]
    whole = read(tmp_path / "single", "transactions")
    joined = pd.concat(frames.values())
    # the same lines, each month's in the single file's order
    key = list(whole.columns)
    assert sorted(map(tuple, joined[key].values.tolist()), key=str) == sorted(
        map(tuple, whole.values.tolist()), key=str)
    whole_rows = list(map(tuple, whole.values.tolist()))
    for name, frame in frames.items():
        # each file keeps the single file's order: its lines are a subsequence of it
        position = 0
        for row in map(tuple, frame[key].values.tolist()):
            position = whole_rows.index(row, position) + 1
        # clean timestamps fall in the file's month
        stamps = pd.to_datetime(frame["ordered_at"], errors="coerce", format="%Y-%m-%d %H:%M:%S")
        stamps = stamps[stamps.notna() & (stamps.dt.year < 2099)]
        assert len(stamps) > 0
        assert (stamps.dt.strftime("%Y-%m") == name.removesuffix(".csv")).all(), name
    with pytest.raises(RetailTiersError, match="another --split-by"):
        make(tmp_path / "split", customers=300, months=6, seed=5)


def test_user_errors_are_one_line_errors(tmp_path):
    with pytest.raises(RetailTiersError, match="end_month"):
        write_dataset(GeneratorConfig(end_month="2025-13"), tmp_path)
    (tmp_path / "transactions.parquet").write_text("old")
    with pytest.raises(RetailTiersError, match="another format"):
        write_dataset(GeneratorConfig(customers=50, months=2, end_month=END_MONTH), tmp_path)


# ---------------------------------------------------------------------------------------------
# manifest counts against the files


def test_manifest_counts_equal_what_is_in_the_files(dirty_set):
    folder, manifest = dirty_set
    frame = read(folder, "transactions")
    reasons = classify(frame, date.today())
    counted = {reason: int((reasons == reason).sum()) for reason in REASONS}
    stats = manifest["transactions"]
    assert counted == stats["quarantined_by_reason"]
    assert min(counted.values()) >= 25  # every reason is planted, evenly
    assert max(counted.values()) - min(counted.values()) <= 1
    clean = frame[reasons.isna().to_numpy()]
    assert len(frame) == stats["total_lines"] == manifest["rows"]["transactions"]
    assert len(clean) == stats["clean_lines"]
    assert len(frame) - len(clean) == stats["dirty_lines"]
    assert stats["dirty_lines"] == round(0.08 * stats["clean_lines"])
    assert int(clean["customer_id"].isna().sum()) == stats["guest_lines"] > 0
    net = sum(Decimal(q) * Decimal(p) - (1 if int(q) > 0 else -1) * Decimal(d or "0")
              for q, p, d in zip(clean["quantity"], clean["unit_price"],
                                 clean["discount_amount"], strict=True))
    assert net == Decimal(stats["clean_net_revenue_cents"]) / 100
    assert int(clean["unit_cost"].isna().sum()) == stats["lines_without_unit_cost"] > 0
    for spec in GENERATED_FILES[1:]:
        assert len(read(folder, spec.name)) == manifest["rows"][spec.name]
    # feedback: every planted defect is quarantined for its reason, and nothing else is
    responses = classify_feedback(read_feedback(folder), date.today())
    feedback = manifest["feedback"]
    counted = {reason: int((responses["reason"] == reason).sum()) for reason in FEEDBACK_REASONS}
    assert counted == feedback["quarantined_by_reason"]
    assert min(counted.values()) >= 1
    assert sum(counted.values()) == feedback["dirty_rows"] == max(
        round(0.08 * feedback["clean_rows"]), len(FEEDBACK_REASONS))
    clean = responses[responses["reason"].isna()]
    assert len(clean) == feedback["clean_rows"]
    assert clean["customer_id"].nunique() == feedback["respondents"]
    assert int((clean["nps_score"] >= 9).sum()) == feedback["promoters"]
    assert int((clean["nps_score"] <= 6).sum()) == feedback["detractors"]
    assert int(clean["satisfaction_score"].isna().sum()) \
        == feedback["responses_without_satisfaction"]


def test_future_copies_of_leap_day_lines_are_still_dates(tmp_path):
    manifest = make(tmp_path, customers=2000, months=1, end_month="2024-02", dirty_rate=0.5,
                    seed=2)
    frame = read(tmp_path, "transactions")
    reasons = classify(frame, date.today())
    clean_days = parse_times(frame.loc[reasons.isna().to_numpy(), "ordered_at"]).dt.day
    assert (clean_days == 29).sum() > 100
    counted = {reason: int((reasons == reason).sum()) for reason in REASONS}
    assert counted == manifest["transactions"]["quarantined_by_reason"]


def test_dirty_lines_are_copies_mixed_into_the_file(dirty_set):
    folder, _manifest = dirty_set
    frame = read(folder, "transactions")
    reasons = classify(frame, date.today())
    dirty_at = np.flatnonzero(reasons.notna().to_numpy())
    # mixed in: dirty lines in every fifth of the file, not all at the end
    assert len(set(dirty_at * 5 // len(frame))) == 5
    # a duplicate repeats an earlier line exactly
    for position in np.flatnonzero((reasons == "duplicate_transaction_id").to_numpy()):
        row = frame.iloc[position]
        earlier = frame.iloc[:position]
        original = earlier[earlier["transaction_id"] == row["transaction_id"]]
        assert len(original) == 1
        assert original.iloc[0].tolist() == row.tolist()
    # other dirty lines copy a real line's order (except the missing-order defect)
    clean_orders = set(frame.loc[reasons.isna().to_numpy(), "order_id"])
    copies = frame[(reasons.notna() & (reasons != "missing_order_id")).to_numpy()]
    assert set(copies["order_id"]) <= clean_orders
    # the planted garbage looks like the brief's examples
    bad_times = frame.loc[(reasons == "unparseable_timestamp").to_numpy(), "ordered_at"]
    assert {"not a date", None} <= set(bad_times)
    assert any(str(v).startswith("31/02/") for v in bad_times)
    future = frame.loc[(reasons == "future_timestamp").to_numpy(), "ordered_at"]
    assert all(v.startswith("2099-") for v in future)
    odd = frame.loc[(reasons == "non_numeric_value").to_numpy()]
    assert {"two", "1.5"} <= set(odd["quantity"])
    assert any(v.startswith("¥") for v in odd["unit_price"])
    assert any("," in v for v in odd["unit_price"])


# ---------------------------------------------------------------------------------------------
# what the data looks like


def test_returns_guests_formats_and_customers(standard_set, standard_clean):
    folder, manifest = standard_set
    clean = standard_clean
    sale = clean[clean["quantity"] > 0]
    returned = clean[clean["quantity"] < 0]
    assert 0.02 <= len(returned) / len(sale) <= 0.04
    order_signs = clean.groupby("order_id")["quantity"].agg(["min", "max"])
    assert ((order_signs["max"] < 0).sum() > 0)  # returns in their own order
    assert (((order_signs["min"] < 0) & (order_signs["max"] > 0)).sum() > 0)  # in the receipt
    # never more refunded than bought, per customer and product
    known = clean[clean["customer_id"].notna()]
    value = known.groupby(["customer_id", "product_id", known["quantity"] > 0])["net"].sum()
    refunds = value.xs(False, level=2)
    bought = value.xs(True, level=2).reindex(refunds.index)
    assert (bought.notna()).all() and (-refunds <= bought).all()
    # guests
    assert clean["customer_id"].isna().sum() == manifest["transactions"]["guest_lines"] > 0
    # ordered_at formats: mostly ISO, some YYYY/MM/DD HH:MM, some YYYYMMDD, all in the period
    raw = read(folder, "transactions").set_index("transaction_id").loc[clean["transaction_id"],
                                                                        "ordered_at"]
    styles = raw.str.len().value_counts()
    assert styles[19] > 0.7 * len(raw) and styles[16] > 0 and styles[8] > 0
    assert clean["ordered_at"].min() >= datetime(2024, 1, 1)
    assert clean["ordered_at"].max() < PERIOD_END
    # customers: every buyer is registered before their first order; ~8% never buy
    customers = read(folder, "customers")
    assert customers["customer_id"].is_unique
    first = clean.groupby("customer_id")["ordered_at"].min()
    signed_up = parse_times(customers.set_index("customer_id")["signed_up_at"])
    assert set(first.index) <= set(signed_up.index)
    assert (signed_up.loc[first.index] <= first).all()
    prospects = len(set(signed_up.index) - set(first.index))
    assert prospects == manifest["customers"]["prospects"] == round(0.08 * 4000)
    assert customers["acquisition_cost"].map(Decimal).min() >= 0
    assert customers["acquisition_channel"].nunique() >= 5


def test_feedback_scores_follow_customer_value(standard_set, standard_clean):
    folder, manifest = standard_set
    responses = classify_feedback(read_feedback(folder), date.today())
    clean = responses[responses["reason"].isna()]
    assert len(clean) == manifest["feedback"]["clean_rows"]
    # about 15% of registered customers answer, 1-3 times each
    assert 0.12 <= clean["customer_id"].nunique() / 4000 <= 0.18
    assert clean.groupby("customer_id").size().max() <= 3
    # respondents who spent more recommend more: compare the top and bottom thirds of spend
    spend = standard_clean[standard_clean["customer_id"].notna()].groupby(
        "customer_id")["net"].sum().astype(float)
    mean_nps = clean.groupby("customer_id")["nps_score"].mean()
    buyers = mean_nps.index.intersection(spend.index)
    thirds = pd.qcut(spend[buyers], 3, labels=False)
    low, high = mean_nps[buyers][thirds == 0], mean_nps[buyers][thirds == 2]
    standard_error = np.sqrt(low.var() / len(low) + high.var() / len(high))
    assert high.mean() - low.mean() > 4 * standard_error, (high.mean(), low.mean())
    # prospects answer too, and never before signing up
    customers = read(folder, "customers").set_index("customer_id")
    prospects = clean[~clean["customer_id"].isin(spend.index)]
    assert len(prospects) > 0
    signed_up = parse_times(customers.loc[prospects["customer_id"], "signed_up_at"])
    assert (signed_up.to_numpy() <= prospects["responded_at"].to_numpy()).all()


def test_feedback_has_its_own_random_streams(tmp_path):
    with_feedback = make(tmp_path / "with", customers=500, months=6, seed=9)
    without = make(tmp_path / "without", customers=500, months=6, seed=9, feedback_rate=0.0)
    assert with_feedback["rows"]["feedback"] > 50
    assert without["rows"]["feedback"] == 0
    first, second = digest(tmp_path / "with"), digest(tmp_path / "without")
    for spec in GENERATED_FILES:
        if spec.name != "feedback":
            assert first[f"{spec.name}.csv"] == second[f"{spec.name}.csv"], spec.name
    assert (tmp_path / "without" / "feedback.csv").read_text(encoding="utf-8").strip() == \
        ",".join(generated_columns(next(spec for spec in RAW_FILES if spec.name == "feedback")))


def test_lines_per_customer_match_the_sizing(standard_set):
    _folder, manifest = standard_set
    # the defaults are sized for ~10 lines per customer; 24 months gives a bit fewer
    assert 8 <= manifest["rows"]["transactions"] / 4000 <= 13


def test_double_11_month_stands_above_its_neighbours(standard_clean):
    orders = purchases(standard_clean)
    months = orders["ordered_at"].map(lambda t: t.month).value_counts()
    assert months[11] > 1.1 * months[10]
    assert months[11] > 1.1 * months[12]


def test_repeat_purchases_follow_bgnbd(tmp_path):
    r, alpha, a, b = 0.8, 6.0, 1.5, 4.0
    make(tmp_path, customers=8000, months=24, seed=21, seasonality_strength=0.0,
         campaign_uplift=0.0, dirty_rate=0.0, bgnbd_r=r, bgnbd_alpha=alpha, bgnbd_a=a,
         bgnbd_b=b)
    orders = purchases(clean_lines(tmp_path))
    per_customer = orders.groupby("customer_id").agg(first=("ordered_at", "min"),
                                                     count=("order_id", "size"))
    repeats = per_customer["count"].to_numpy() - 1
    weeks = ((PERIOD_END - per_customer["first"]).dt.total_seconds() / (7 * 86400)).to_numpy()
    expected = expected_repeat_purchases(weeks, r, alpha, a, b)
    assert repeats.sum() > 10000
    # overall and within terciles of T: the mean difference is within 4 standard errors
    for part in [np.ones(weeks.size, dtype=bool),
                 *(np.digitize(weeks, np.quantile(weeks, [1 / 3, 2 / 3])) == k
                   for k in range(3))]:
        difference = repeats[part] - expected[part]
        standard_error = difference.std(ddof=1) / np.sqrt(part.sum())
        assert abs(difference.mean()) < 4 * standard_error, (difference.mean(), standard_error)
    # and the theory is not trivially satisfied: other parameters would be rejected
    other = expected_repeat_purchases(weeks, r, alpha / 1.5, a, b)
    assert abs((repeats - other).mean()) > 6 * (repeats - other).std(ddof=1) / np.sqrt(
        weeks.size)


# ---------------------------------------------------------------------------------------------
# campaigns


def conversions(folder: Path) -> pd.DataFrame:
    """Contacts with `converted`: a purchase between contacted_at and ends_on + 14 days."""
    orders = purchases(clean_lines(folder))
    contacts = read(folder, "campaign_contacts").merge(read(folder, "campaigns"),
                                                       on="campaign_id")
    by_customer = orders.groupby("customer_id")["ordered_at"].apply(list).to_dict()
    contacts["contacted_at"] = parse_times(contacts["contacted_at"])
    converted = []
    for row in contacts.itertuples(index=False):
        low = row.contacted_at
        last_day = date.fromisoformat(row.ends_on) + timedelta(days=14)
        converted.append(any(low <= t and t.date() <= last_day
                             for t in by_customer.get(row.customer_id, [])))
    contacts["converted"] = converted
    contacts["is_control"] = contacts["is_control"] == "true"
    return contacts


def test_campaign_manifest_matches_conversions_in_the_files(tmp_path):
    uplift = 0.3
    planted = make(tmp_path / "planted", customers=3000, months=24, seed=31,
                   campaign_uplift=uplift)
    plain = make(tmp_path / "plain", customers=3000, months=24, seed=31, campaign_uplift=0.0)
    assert plain["orders"]["planted_campaign_purchases"] == 0
    assert planted["orders"]["planted_campaign_purchases"] > 100
    with_plant = conversions(tmp_path / "planted")
    without_plant = conversions(tmp_path / "plain")
    # the same contacts: the plant adds purchases and changes nothing else
    columns = ["campaign_id", "customer_id", "contacted_at", "is_control"]
    assert with_plant[columns].equals(without_plant[columns])
    manifest_campaigns = planted["campaigns"]["per_campaign"]
    assert len(manifest_campaigns) == 12
    for stats in manifest_campaigns:
        mine = with_plant["campaign_id"] == stats["campaign_id"]
        treated, control = mine & ~with_plant["is_control"], mine & with_plant["is_control"]
        assert int(control.sum()) == stats["control"] == round(0.15 * int(mine.sum()))
        assert int(treated.sum()) == stats["treated"]
        assert int(with_plant.loc[treated, "converted"].sum()) \
            == stats["realised_treated_conversions"]
        assert int(with_plant.loc[control, "converted"].sum()) \
            == stats["realised_control_conversions"]
        organic_misses = int((~without_plant.loc[treated, "converted"]).sum())
        assert stats["planted_conversion_uplift"] == pytest.approx(
            uplift * organic_misses / int(treated.sum()), abs=1e-6)
    # the realised uplift estimates the planted one (within 4 standard errors)
    overall = planted["campaigns"]["overall"]
    treated = with_plant[~with_plant["is_control"]]["converted"]
    control = with_plant[with_plant["is_control"]]["converted"]
    difference = treated.mean() - control.mean()
    standard_error = np.sqrt(treated.var() / len(treated) + control.var() / len(control))
    assert abs(difference - overall["planted_conversion_uplift"]) < 4 * standard_error
    assert overall["planted_conversion_uplift"] > 0.15


def test_contacts_are_acquired_customers(standard_set, standard_clean):
    folder, _manifest = standard_set
    orders = purchases(standard_clean)
    first = orders.groupby("customer_id")["ordered_at"].min()
    contacts = read(folder, "campaign_contacts").merge(read(folder, "campaigns"),
                                                       on="campaign_id")
    assert len(contacts) > 1000
    starts = contacts["starts_on"].map(lambda v: datetime.fromisoformat(v))
    assert (first.reindex(contacts["customer_id"]).to_numpy() < starts.to_numpy()).all()
    contacted = parse_times(contacts["contacted_at"])
    ends = contacts["ends_on"].map(lambda v: datetime.fromisoformat(v) + timedelta(days=1))
    assert ((contacted >= starts) & (contacted < ends)).all()
    assert set(contacts["is_control"]) == {"true", "false"}
