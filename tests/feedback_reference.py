"""An independent reading of the feedback file's rules (stg_feedback, BRIEF) in plain pandas,
shared by the generator and warehouse tests. Nothing here reuses the models' SQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

FEEDBACK_REASONS = ("missing_customer_id", "non_numeric_value", "unparseable_timestamp",
                    "future_timestamp", "score_out_of_range", "duplicate_response")
INTEGER = r"[+-]?[0-9]+(\.0*)?"
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M:%S",
                "%Y/%m/%d %H:%M", "%Y/%m/%d", "%Y%m%d")


def read_feedback(folder: Path, name: str = "feedback") -> pd.DataFrame:
    """The feedback CSV as text in file order, empty values as None."""
    frame = pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False, na_values=[],
                        encoding="utf-8")
    return frame.astype(object).where(frame != "", None)


def parse_times(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip()
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    for fmt in TIME_FORMATS:
        todo = parsed.isna() & text.notna()
        if todo.any():
            parsed[todo] = pd.to_datetime(text[todo], format=fmt, errors="coerce")
    return parsed


def classify_feedback(frame: pd.DataFrame, load_date: date) -> pd.DataFrame:
    """The rows with customer_id (trimmed), responded_at, nps_score and satisfaction_score
    parsed and `reason` (None = clean): the first rule a row breaks, duplicates judged among
    the rows that break no other rule (the first one is kept)."""
    def text(column: str) -> pd.Series:
        return frame[column].astype("string").str.strip().replace({"": pd.NA})

    customer, nps, satisfaction = text("customer_id"), text("nps_score"), text("satisfaction")
    nps_ok = nps.notna() & nps.fillna("").str.fullmatch(INTEGER)
    satisfaction_ok = satisfaction.isna() | satisfaction.fillna("").str.fullmatch(INTEGER)
    when = parse_times(frame["responded_at"])
    nps_value = pd.to_numeric(nps.where(nps_ok), errors="coerce")
    satisfaction_value = pd.to_numeric(satisfaction.where(satisfaction_ok), errors="coerce")
    conditions = [
        customer.isna(),
        ~nps_ok | ~satisfaction_ok,
        when.isna(),
        when.notna() & (when.dt.normalize() > pd.Timestamp(load_date)),
        ~nps_value.between(0, 10) | (satisfaction_value.notna()
                                     & ~satisfaction_value.between(1, 5)),
    ]
    chosen = np.select([c.fillna(False).to_numpy(dtype=bool) for c in conditions],
                       list(FEEDBACK_REASONS[:-1]), default="").astype(object)
    passed = chosen == ""
    repeated = pd.Series(False, index=frame.index)
    keys = pd.DataFrame({"customer": customer, "when": when})[passed]
    repeated[keys.index] = keys.duplicated(keep="first")
    chosen[repeated.to_numpy()] = "duplicate_response"
    return pd.DataFrame({
        "source_row_number": np.arange(1, len(frame) + 1),
        "customer_id": customer.astype(object).where(customer.notna(), None),
        "responded_at": when,
        "nps_score": nps_value,
        "satisfaction_score": satisfaction_value,
        "reason": pd.Series(chosen, index=frame.index).replace({"": None}),
    })


def clean_responses(folder: Path, load_date: date) -> pd.DataFrame:
    """The clean responses with responded_on (a date) and integer scores."""
    rows = classify_feedback(read_feedback(folder), load_date)
    clean = rows[rows["reason"].isna()].copy()
    clean["responded_on"] = clean["responded_at"].dt.date
    clean["nps_score"] = clean["nps_score"].astype(int)
    return clean
