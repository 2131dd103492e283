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
