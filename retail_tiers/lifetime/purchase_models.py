"""What BG/NBD and Pareto/NBD have in common, and picking one of them.

Both modules offer MODEL, PARAMETER_NAMES, p_alive(params, x, t_x, T),
expected_purchases_if_alive(params, t, x, T), expected_purchases(params, t, x, t_x, T),
p_purchase_within_if_alive(params, t, x, T) and p_purchase_ever_if_alive(params, x, T); the
functions here work with either, given as `model`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from retail_tiers.lifetime import bgnbd, pareto_nbd
from retail_tiers.lifetime.optimise import LifetimeFitError

MODELS: dict[str, ModuleType] = {bgnbd.MODEL: bgnbd, pareto_nbd.MODEL: pareto_nbd}
AUTO = "auto"
# Why a purchase model was selected: clv_model_fit.selection_basis.
BASES = ("var", "holdout_error", "only_fitted", "default")
CHOICES = (AUTO, *MODELS)
LABELS = {bgnbd.MODEL: "BG/NBD", pareto_nbd.MODEL: "Pareto/NBD"}


def check_parameters(model: ModuleType, params: dict[str, float]) -> None:
    """Raise LifetimeFitError unless every parameter of `model` is finite and positive."""
    for name in model.PARAMETER_NAMES:
        value = params.get(name)
        if value is None or not np.isfinite(value) or value <= 0:
            raise LifetimeFitError(
                f"{model.MODEL}: parameter {name} = {value} is not a positive number")


def expected_purchases_new_customer(model: ModuleType, params, t) -> np.ndarray:
    """E[X(t)]: expected repeat purchases of a customer in the t weeks after their first
    purchase, before anything is known about them (alive at T = 0 with x = 0)."""
    times, inverse = np.unique(np.asarray(t, dtype=float), return_inverse=True)
    zeros = np.zeros_like(times)
    return model.expected_purchases_if_alive(params, times, zeros, zeros)[inverse].reshape(
        np.shape(t))


def p_purchase_within(model: ModuleType, params, t, x, t_x, T) -> np.ndarray:
    """P(at least one purchase in the next t | x, t_x, T) = P(alive) P(purchase in t | alive)."""
    return model.p_alive(params, x, t_x, T) * model.p_purchase_within_if_alive(params, t, x, T)


# The median is found by bisection on ln t to this relative width.
MEDIAN_RELATIVE_WIDTH = 1e-9


def median_time_to_next_purchase(model: ModuleType, params, x, t_x, T) -> np.ndarray:
    """The t with P(at least one purchase in the next t) = 1/2, in weeks; nan where the
    chance of ever buying again, P(alive) P(purchase ever | alive), is at most 1/2 (then no
    finite median exists). It solves P(purchase within t | alive) = 1 / (2 P(alive)): in
    closed form where the model has one (`time_to_purchase_chance_if_alive`, BG/NBD), else
    by bisection (`median_by_bisection`)."""
    x, t_x, T = np.broadcast_arrays(
        np.asarray(x, dtype=float), np.asarray(t_x, dtype=float), np.asarray(T, dtype=float))
    alive = model.p_alive(params, x, t_x, T)
    finite = alive * model.p_purchase_ever_if_alive(params, x, T) > 0.5
    median = np.full(x.shape, np.nan)
    if not finite.any():
        return median
    xs, Ts, alive = x[finite], T[finite], alive[finite]
    closed_form = getattr(model, "time_to_purchase_chance_if_alive", None)
    if closed_form is not None:
        median[finite] = closed_form(params, 0.5 / alive, xs, Ts)
    else:
        median[finite] = median_by_bisection(model, params, xs, Ts, alive)
    return median


def median_by_bisection(model: ModuleType, params, x: np.ndarray, T: np.ndarray,
                        alive: np.ndarray) -> np.ndarray:
    """The t with alive * P(purchase within t | alive at T) = 1/2 (alive > 1/2 and a finite
    answer assumed). P(purchase within t) rises continuously with t, so bisection on ln t
    brackets it: the upper end doubles until it is reached."""
    def reached(t: np.ndarray) -> np.ndarray:
        return alive * model.p_purchase_within_if_alive(params, t, x, T) >= 0.5

    low = np.full(x.shape, 1e-9)
    high = np.ones(x.shape)
    while not (done := reached(high)).all():
        high = np.where(done, high, high * 2)
    while np.max(high / low) > 1 + MEDIAN_RELATIVE_WIDTH:
        middle = np.sqrt(low * high)
        hit = reached(middle)
        high = np.where(hit, middle, high)
        low = np.where(hit, low, middle)
    return high


@dataclass(frozen=True)
class DistinctPairs:
    """The distinct (x, T) pairs of a set of purchase patterns, and each pattern's pair.

    What a customer alive at T will buy depends on (x, T) only, not on t_x: it is worked out
    once per pair (at a million customers about 27,000 pairs for 580,000 patterns) and
    gathered; only P(alive) needs every pattern.
    """

    x: np.ndarray
    T: np.ndarray
    index: np.ndarray  # per pattern, the position of its (x, T) in x and T

    @classmethod
    def of(cls, x, T) -> DistinctPairs:
        x, T = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(T, dtype=float))
        # a complex number as the key of the pair
        pairs, inverse = np.unique((x + 1j * T).ravel(), return_inverse=True)
        return cls(pairs.real, pairs.imag, inverse.reshape(x.shape))

    @classmethod
    def of_days(cls, x, age_days, days_per_week: float) -> DistinctPairs:
        """`of(x, age_days / days_per_week)` for integer arrays of x >= 0 and days >= 0 (the
        patterns as they come from the warehouse), the same arrays without sorting: each
        pair is the number x (largest days + 1) + days, and while those numbers span no
        more than a few times as many values as there are patterns (a million customers:
        about 146,000 against 580,000), a table of which of them occur gives the distinct
        pairs in ascending order and each pattern's position among them. Otherwise, or for
        other input, `of`."""
        x, days = np.asarray(x), np.asarray(age_days)
        if (np.ma.isMaskedArray(x) or np.ma.isMaskedArray(days) or x.shape != days.shape
                or x.ndim != 1 or not x.size or x.dtype.kind not in "iu"
                or days.dtype.kind not in "iu" or x.min() < 0 or days.min() < 0):
            return cls.of(x, days / days_per_week)
        width = int(days.max()) + 1
        span = (int(x.max()) + 1) * width
        if span > 4 * x.size + 4096:
            return cls.of(x, days / days_per_week)
        key = x.astype(np.int64) * width + days.astype(np.int64)
        seen = np.zeros(span, dtype=bool)
        seen[key] = True
        distinct = np.flatnonzero(seen)
        position = np.cumsum(seen, dtype=np.intp) - 1
        return cls((distinct // width).astype(float), (distinct % width) / days_per_week,
                   position[key])


def discounted_expected_purchases(
    model: ModuleType,
    params,
    x,
    t_x,
    T,
    months: int,
    monthly_discount_rate: float,
    weeks_per_month: float,
    pairs: DistinctPairs | None = None,
) -> np.ndarray:
    """Sum over months k = 1..months of (E[Y(k m)] - E[Y((k-1) m)]) / (1 + d)^k, m in weeks.

    The purchases expected in month k are valued at the end of month k. P(alive) is a common
    factor, so the sum is formed per distinct (x, T) (`pairs`, computed here when not given)
    and multiplied by it at the end.
    """
    x, t_x, T = np.broadcast_arrays(
        np.asarray(x, dtype=float), np.asarray(t_x, dtype=float), np.asarray(T, dtype=float)
    )
    pairs = DistinctPairs.of(x, T) if pairs is None else pairs
    total = discounted_expected_purchases_if_alive(
        model, params, pairs, months, monthly_discount_rate, weeks_per_month)
    return total[pairs.index] * model.p_alive(params, x, t_x, T)


def discounted_expected_purchases_if_alive(
    model: ModuleType,
    params,
    pairs: DistinctPairs,
    months: int,
    monthly_discount_rate: float,
    weeks_per_month: float,
) -> np.ndarray:
    """The discounted sum of discounted_expected_purchases for a customer alive at T, one
    value per distinct (x, T) pair."""
    total = np.zeros(pairs.x.size)
    previous = np.zeros(pairs.x.size)
    for month in range(1, months + 1):
        current = model.expected_purchases_if_alive(
            params, month * weeks_per_month, pairs.x, pairs.T)
        total += (current - previous) / (1.0 + monthly_discount_rate) ** month
        previous = current
    return total


def select(
    choice: str,
    holdout_error_rates: dict[str, float | None],
    holdout_weeks: int,
    fitted: list[str] | None = None,
) -> tuple[str, str, str]:
    """(model, basis, why) for the purchase model to score with; basis is one of BASES.

    `choice` is a model name (the analyst's pick) or 'auto': among the `fitted` models (all
    by default), the one whose expected holdout purchases are closer to the actual ones
    (smaller |% error|); the first fitted one (BG/NBD before Pareto/NBD) when they cannot all
    be compared. `holdout_error_rates` maps model -> (expected - actual) / actual over the
    holdout, None when it could not be computed.
    """
    if choice not in CHOICES:
        raise LifetimeFitError(
            f"clv_purchase_model = {choice!r}: use one of {', '.join(CHOICES)}")
    candidates = [name for name in MODELS if fitted is None or name in fitted]
    if choice != AUTO:
        if choice not in candidates:
            raise LifetimeFitError(
                f"clv_purchase_model = {choice}, but the {LABELS[choice]} fit failed")
        return choice, "var", f"set by var clv_purchase_model = {choice}"
    errors = {name: holdout_error_rates.get(name) for name in candidates}
    if len(candidates) == 1:
        return candidates[0], "only_fitted", "the only purchase model that could be fitted"
    if any(rate is None for rate in errors.values()):
        return candidates[0], "default", (
            "no holdout error to compare (history too short, or a fit before the holdout "
            f"failed); {LABELS[candidates[0]]} by default")
    best = min(errors, key=lambda name: (abs(errors[name]), name))
    shown = " vs ".join(f"{LABELS[name]} {errors[name]:+.1%}"
                        for name in sorted(errors, key=lambda name: name != best))
    return best, "holdout_error", f"smaller error over the {holdout_weeks}-week holdout: {shown}"


# ---- intervals from parameter uncertainty (delta method) ---------------------------------------

Z_90 = 1.6448536269514722  # standard normal 95th percentile: a two-sided 90% interval
LOG_STEP = 1e-4  # central-difference step in the log-parameters
# Forward-difference step in the log-parameters, for the per-pattern interval gradients of
# score_patterns: half the evaluations of central differences, from the value already worked
# out. Its error, about (step / 2) x the second log-derivative plus 2 x the relative error of
# the function / step, is near 1e-6 of the gradient, far below what a 90% interval shows.
FORWARD_LOG_STEP = 1e-6


def log_gradient(function: Callable[[tuple[float, ...]], np.ndarray],
                 values: tuple[float, ...]) -> np.ndarray:
    """d ln f / d ln theta_k by central differences, one column per parameter."""
    return gradient_from_steps(values, [log_at_step(function, values, k, step)
                                        for k, step in gradient_steps(values)])


def gradient_steps(values: tuple[float, ...]) -> list[tuple[int, float]]:
    """The (parameter, log step up or down) log_gradient evaluates ln f at, in its order."""
    return [(k, side * LOG_STEP) for k in range(len(values)) for side in (1, -1)]


def forward_steps(values: tuple[float, ...]) -> list[tuple[int, float]]:
    """The (parameter, log step up) forward_gradient evaluates ln f at, in its order."""
    return [(k, FORWARD_LOG_STEP) for k in range(len(values))]


def log_at_step(function: Callable[[tuple[float, ...]], np.ndarray],
                values: tuple[float, ...], k: int, log_step: float) -> np.ndarray:
    """ln f with parameter k moved by `log_step` in its log: one of the evaluations of a
    gradient, each on its own so that they can be shared out between threads
    (`gradient_from_steps` and `forward_gradient` put them together)."""
    factor = np.exp(log_step)
    moved = tuple(v * factor if i == k else v for i, v in enumerate(values))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(function(moved))


def gradient_from_steps(values: tuple[float, ...], logs: list[np.ndarray]) -> np.ndarray:
    """log_gradient from ln f at its gradient_steps (in that order)."""
    with np.errstate(invalid="ignore"):
        columns = [(logs[2 * k] - logs[2 * k + 1]) / (2 * LOG_STEP) for k in range(len(values))]
    return _finite_columns(columns)


def forward_gradient(log_value: np.ndarray, logs: list[np.ndarray]) -> np.ndarray:
    """d ln f / d ln theta_k by forward differences: from ln f at the parameters
    (`log_value`) and at each of forward_steps (in that order)."""
    with np.errstate(invalid="ignore"):
        return _finite_columns([(moved - log_value) / FORWARD_LOG_STEP for moved in logs])


def _finite_columns(columns: list[np.ndarray]) -> np.ndarray:
    """The columns side by side; a difference that is not finite (f = 0 at a step) counts 0."""
    return np.nan_to_num(np.stack(columns, axis=-1), nan=0.0, posinf=0.0, neginf=0.0)


def log_p_alive_gradient(model: ModuleType, params, x, t_x, T) -> np.ndarray:
    """d ln P(alive) / d ln theta per pattern: the model's closed form where it has one
    (`log_p_alive_gradient`, BG/NBD), else central differences (`log_gradient`)."""
    closed_form = getattr(model, "log_p_alive_gradient", None)
    if closed_form is not None:
        return closed_form(params, x, t_x, T)
    return log_gradient(lambda v: model.p_alive(v, x, t_x, T), params)


def log_standard_error(gradient: np.ndarray, covariance: np.ndarray | None) -> np.ndarray:
    """sqrt(g' Sigma g) per row: the delta-method standard error of ln f; 0 without Sigma."""
    if covariance is None:
        return np.zeros(gradient.shape[:-1])
    # (g Sigma) . g row by row: a fifth of the time of einsum's three-operand loop
    return np.sqrt(np.maximum(np.einsum("...i,...i->...", gradient @ covariance, gradient), 0))


def interval_90(value: np.ndarray, log_se: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 90% interval value * exp(-/+ 1.645 se) of a positive quantity whose log has
    standard error `log_se` (a log-scale interval never goes below 0)."""
    return value * np.exp(-Z_90 * log_se), value * np.exp(Z_90 * log_se)
