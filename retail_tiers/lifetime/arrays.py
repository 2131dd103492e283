"""Array helpers shared by the likelihoods and the scoring."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import numpy as np
from threadpoolctl import threadpool_limits

P = ParamSpec("P")
R = TypeVar("R")


def dot(u: np.ndarray, v: np.ndarray) -> float:
    """sum(u * v) of two 1-D arrays, in numpy's own loop rather than BLAS.

    `u @ v` calls OpenBLAS's threaded ddot, which costs about 7 ms per call whatever the
    length on a busy 2-core machine (waking its threads), against about 1.5 ns per element
    here: the likelihoods take dozens of such sums per evaluation.
    """
    return float(np.einsum("i,i->", u, v))


def one_blas_thread(function: Callable[P, R]) -> Callable[P, R]:
    """Run `function` with BLAS (numpy's and scipy's OpenBLAS) limited to one thread.

    The fits and the scoring make hundreds of small BLAS calls (L-BFGS-B's inner steps, dot
    products); with two threads each call pays for waking the other one, which on a busy
    2-core machine cost 5-7 ms a call: more than the arithmetic.
    """

    @functools.wraps(function)
    def limited(*args: P.args, **kwargs: P.kwargs) -> R:
        with threadpool_limits(limits=1, user_api="blas"):
            return function(*args, **kwargs)

    return limited


# unique_with_inverse uses its table of occurring numbers while they span no more than this
# many times as many values as there are (plus a few thousand): a million customers' days
# span about 1,100 numbers, their repeat purchase counts a few dozen.
TABLE_SPAN_PER_VALUE = 4
TABLE_SPAN_SLACK = 4096


def unique_with_inverse(values: np.ndarray, per: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(values, return_inverse=True) for a 1-D float array: the same two arrays.

    Where every value is a whole number n >= 0 divided by `per` (exactly n / per, as
    purchase counts are with per 1 and whole days in weeks with per 7), and the numbers span
    few enough values, a table of which numbers occur gives the distinct values in ascending
    order and each value's position among them, without np.unique's sort (a tenth of the
    time on a million customers' patterns). Otherwise np.unique.
    """
    values = np.asarray(values)
    if values.ndim == 1 and values.size and values.dtype == np.float64:
        with np.errstate(invalid="ignore"):
            whole = np.rint(values * per)
        limit = TABLE_SPAN_PER_VALUE * values.size + TABLE_SPAN_SLACK
        if (whole.min() >= 0 and whole.max() <= limit
                and np.array_equal(whole / per, values)):
            numbers = whole.astype(np.intp)
            seen = np.zeros(int(numbers.max()) + 1, dtype=bool)
            seen[numbers] = True
            position = np.cumsum(seen, dtype=np.intp) - 1
            return np.flatnonzero(seen) / per, position[numbers]
    return np.unique(values, return_inverse=True)
