"""Arrow tables built from numpy arrays and Python rows without pyarrow's converters.

`pa.array`, `pa.table` and `pa.Table.from_pylist` import pandas the first time they run
(to check whether their input is a pandas object), which costs a dbt process 0.2-0.5 s
when nothing else needs pandas. These build each column from its buffers instead; the
dbt Python models hand the table to DuckDB as a relation (`session.from_arrow`), since
dbt-duckdb imports pyarrow.dataset, and with it pandas, for a returned pyarrow table.
Types: float64, int64, int32, bool, string, date32 and list<float64>.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

EPOCH = dt.date(1970, 1, 1)
NUMPY_TYPES = {pa.float64(): np.float64, pa.int64(): np.int64, pa.int32(): np.int32}


def _validity(valid: np.ndarray) -> pa.Buffer | None:
    """Arrow's validity bitmap (least significant bit first), None when nothing is null."""
    if valid.all():
        return None
    return pa.py_buffer(np.packbits(valid, bitorder="little"))


def column(values: Any, arrow_type: pa.DataType, nan_is_null: bool = False) -> pa.Array:
    """One arrow array of `arrow_type` from a numpy array or a sequence (None is null).
    With nan_is_null, a float NaN is null too."""
    if isinstance(values, np.ndarray) and values.dtype != object:
        valid = np.ones(values.shape[0], dtype=bool)
        data = values
    else:
        items = list(values)
        valid = np.array([item is not None for item in items], dtype=bool)
        data = items
    length = valid.size
    if arrow_type in NUMPY_TYPES:
        dtype = NUMPY_TYPES[arrow_type]
        if isinstance(data, list):
            data = np.array([0 if item is None else item for item in data], dtype=dtype)
        data = np.ascontiguousarray(data, dtype=dtype)
        if nan_is_null and arrow_type == pa.float64():
            valid = valid & ~np.isnan(data)
        return pa.Array.from_buffers(arrow_type, length, [_validity(valid), pa.py_buffer(data)])
    if arrow_type == pa.date32():
        days = np.array([0 if item is None else (item - EPOCH).days for item in data],
                        dtype=np.int32)
        return pa.Array.from_buffers(arrow_type, length, [_validity(valid), pa.py_buffer(days)])
    if arrow_type == pa.bool_():
        bits = np.packbits(np.array([bool(item) for item in data], dtype=bool),
                           bitorder="little")
        return pa.Array.from_buffers(arrow_type, length,
                                     [_validity(valid), pa.py_buffer(bits)])
    if arrow_type == pa.string():
        encoded = [b"" if item is None else str(item).encode("utf-8") for item in data]
        offsets = np.zeros(length + 1, dtype=np.int32)
        np.cumsum([len(item) for item in encoded], out=offsets[1:])
        return pa.Array.from_buffers(arrow_type, length, [
            _validity(valid), pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))])
    if arrow_type == pa.list_(pa.float64()):
        lists = [[] if item is None else list(item) for item in data]
        offsets = np.zeros(length + 1, dtype=np.int32)
        np.cumsum([len(item) for item in lists], out=offsets[1:])
        child = column(np.array([v for item in lists for v in item], dtype=np.float64),
                       pa.float64())
        return pa.Array.from_buffers(arrow_type, length,
                                     [_validity(valid), pa.py_buffer(offsets)],
                                     children=[child])
    raise TypeError(f"no arrow column of type {arrow_type}")


def table(columns: Mapping[str, Any], schema: pa.Schema,
          nan_is_null: Sequence[str] = ()) -> pa.Table:
    """A table of `schema` from one array or sequence per column name."""
    return pa.Table.from_arrays(
        [column(columns[field.name], field.type, field.name in nan_is_null)
         for field in schema], schema=schema)


def from_rows(rows: Sequence[Mapping[str, Any]], schema: pa.Schema) -> pa.Table:
    """A table of `schema` from dicts (a missing key is null), like pa.Table.from_pylist."""
    return table({field.name: [row.get(field.name) for row in rows] for field in schema},
                 schema)


def empty(schema: pa.Schema) -> pa.Table:
    """A table of `schema` without rows."""
    return from_rows([], schema)
