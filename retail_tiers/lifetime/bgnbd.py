"""The BG/NBD purchase model (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

Per customer: x = repeat purchases (here: repeat purchase days), t_x = time of the last one
and T = time since the first purchase, both measured from the first purchase (weeks).
While alive a customer buys at rate lambda ~ Gamma(r, alpha); after each repeat purchase
they drop out with probability p ~ Beta(a, b).

Everything is vectorised over arrays of (x, t_x, T) with an optional weight per row: fitting
runs on the distinct combinations weighted by how many customers share them, so its cost
grows with distinct combinations, not customers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from retail_tiers.lifetime import optimise
from retail_tiers.lifetime.arrays import dot, unique_with_inverse
from retail_tiers.lifetime.optimise import FitResult, LifetimeFitError, maximise
from retail_tiers.lifetime.special import digamma, expit, gammaln, hyp2f1, trigamma

MODEL = "bg_nbd"
PARAMETER_NAMES = ("r", "alpha", "a", "b")
DAYS_PER_WEEK = 7.0
# Within this distance of a = 1 the closed form is 0/0; interpolate between 1 - h and 1 + h.
A_NEAR_ONE = 1e-4


@dataclass(frozen=True)
class BgNbdData:
    """Distinct (x, t_x, T) rows with weights, arranged for fast likelihood evaluation.

    Terms that depend on x alone are summed per distinct x; customers without a repeat
    purchase (x = 0) only need T. For the repeaters, ln(alpha + time) and 1/(alpha + time) are
    computed once per distinct time value (whole days give a few thousand at most) and
    gathered, and every sum that involves T alone is pre-aggregated per distinct T.
    """

    x: np.ndarray  # float, integer-valued
    t_x: np.ndarray
    T: np.ndarray
    weight: np.ndarray
    unique_x: np.ndarray
    weight_by_x: np.ndarray
    T_once: np.ndarray  # x = 0 rows
    weight_once: np.ndarray
    x_repeat: np.ndarray  # x > 0 rows
    weight_repeat: np.ndarray
    times: np.ndarray  # distinct t_x and T values of the repeaters
    t_x_index: np.ndarray  # repeaters' t_x as an index into times
    T_index: np.ndarray
    x_index: np.ndarray  # repeaters' x as an index into unique_x
    weight_by_T: np.ndarray  # per entry of times: sum of repeater weights with that T
    weight_x_by_T: np.ndarray  # ... and of weight * x

    @classmethod
    def build(
        cls,
        x: np.ndarray,
        t_x: np.ndarray,
        T: np.ndarray,
        weight: np.ndarray | None = None,
    ) -> BgNbdData:
        x = np.asarray(x, dtype=float)
        t_x = np.asarray(t_x, dtype=float)
        T = np.asarray(T, dtype=float)
        weight = np.ones_like(x) if weight is None else np.asarray(weight, dtype=float)
        _check_inputs(x, t_x, T, weight)
        unique_x, inverse = unique_with_inverse(x)
        weight_by_x = np.bincount(inverse, weights=weight, minlength=unique_x.size)
        repeat = x > 0
        once = ~repeat
        x1, w1 = x[repeat], weight[repeat]
        # times in weeks are whole days over 7 when they come from the warehouse
        times, time_index = unique_with_inverse(np.concatenate([t_x[repeat], T[repeat]]),
                                                per=DAYS_PER_WEEK)
        t_x_index, T_index = time_index[: x1.size], time_index[x1.size:]
        return cls(
            x, t_x, T, weight, unique_x, weight_by_x,
            T[once], weight[once],
            x1, w1, times, t_x_index, T_index, inverse[repeat],
            np.bincount(T_index, weights=w1, minlength=times.size),
            np.bincount(T_index, weights=w1 * x1, minlength=times.size),
        )

    @property
    def has_repeaters(self) -> bool:
        return self.x_repeat.size > 0


def _check_inputs(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weight: np.ndarray) -> None:
    if not (x.shape == t_x.shape == T.shape == weight.shape):
        raise ValueError("x, t_x, T and weight must have the same shape")
    if x.size == 0:
        raise LifetimeFitError(f"{MODEL} fit: no customers to fit")
    bad = (
        ~np.isfinite(x) | ~np.isfinite(t_x) | ~np.isfinite(T) | (x < 0) | (x != np.round(x))
        | (t_x < 0) | (t_x > T) | ((x == 0) & (t_x != 0)) | ~(weight > 0)
    )
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise LifetimeFitError(
            f"{MODEL} fit: invalid customer summary (x = {x[i]}, t_x = {t_x[i]}, T = {T[i]}, "
            f"weight = {weight[i]}): need integer x >= 0, 0 <= t_x <= T, t_x = 0 when x = 0"
        )


def log_likelihood(params: np.ndarray | tuple[float, ...], x, t_x, T) -> np.ndarray:
    """Per-customer log-likelihood ln L(r, alpha, a, b | x, t_x, T) (FHL 2005, eq. 6)."""
    r, alpha, a, b = (float(v) for v in params)
    x = np.asarray(x, dtype=float)
    t_x = np.asarray(t_x, dtype=float)
    T = np.asarray(T, dtype=float)
    ln_a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    ln_a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    ln_a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):  # ln A4 is unused where x = 0
        ln_a4 = np.log(a) - np.log(b + x - 1) - (r + x) * np.log(alpha + t_x)
        return ln_a1 + ln_a2 + np.where(x > 0, np.logaddexp(ln_a3, ln_a4), ln_a3)


def negative_log_likelihood(log_params: np.ndarray, data: BgNbdData) -> tuple[float, np.ndarray]:
    """Mean (per customer) negative log-likelihood and its gradient in the log-parameters.

    ln L = ln A1 + ln A2 + ln(A3 + [x > 0] A4) with
    A1 = Gamma(r+x) alpha^r / Gamma(r), A2 = B(a, b+x) / B(a, b),
    A3 = (alpha+T)^-(r+x), A4 = a / (b+x-1) (alpha+t_x)^-(r+x).
    For repeaters ln(A3 + A4) = ln A3 + softplus(d) with d = ln A4 - ln A3, and A4's share
    of the sum is expit(d); the gradient follows term by term.
    """
    value, gradient, _ = _evaluate(log_params, data, with_hessian=False)
    return value, gradient


def negative_log_likelihood_hessian(
    log_params: np.ndarray, data: BgNbdData
) -> tuple[float, np.ndarray, np.ndarray]:
    """negative_log_likelihood and its Hessian in the log-parameters (analytic; used by the
    Newton polish of large fits and for the covariance there). For the repeaters'
    softplus(d), d'' = s d'' + s (1 - s) d' d'^T with s = expit(d)."""
    return _evaluate(log_params, data, with_hessian=True)


def _evaluate(log_params: np.ndarray, data: BgNbdData, with_hessian: bool):
    r, alpha, a, b = theta = np.exp(log_params)
    total = data.weight_by_x.sum()
    ux, wx = data.unique_x, data.weight_by_x
    h = np.zeros((4, 4))  # Hessian of ln L in the natural parameters (r, alpha, a, b)

    # Terms that depend on x only: once per distinct x, weighted by its customers.
    value = dot(wx,
        gammaln(r + ux) - gammaln(r) + gammaln(a + b) + gammaln(b + ux) - gammaln(b)
        - gammaln(a + b + ux)
    ) + total * r * np.log(alpha)
    d_r = dot(wx, digamma(r + ux) - digamma(r)) + total * np.log(alpha)
    d_alpha = total * r / alpha
    d_a = dot(wx, digamma(a + b) - digamma(a + b + ux))
    d_b = dot(wx, digamma(a + b) + digamma(b + ux) - digamma(b) - digamma(a + b + ux))
    if with_hessian:
        h[0, 0] = dot(wx, trigamma(r + ux) - trigamma(r))
        h[0, 1] = total / alpha
        h[1, 1] = -total * r / alpha**2
        h[2, 2] = h[2, 3] = dot(wx, trigamma(a + b) - trigamma(a + b + ux))
        h[3, 3] = dot(wx, trigamma(a + b) + trigamma(b + ux) - trigamma(b)
                        - trigamma(a + b + ux))

    # x = 0: ln A3 = -r ln(alpha + T).
    log_t0 = np.log(alpha + data.T_once)
    inv_t0 = 1.0 / (alpha + data.T_once)
    w0 = data.weight_once
    value -= r * dot(w0, log_t0)
    d_r -= dot(w0, log_t0)
    d_alpha -= r * dot(w0, inv_t0)
    if with_hessian:
        h[0, 1] -= dot(w0, inv_t0)
        h[1, 1] += r * (dot(w0, inv_t0**2))

    # x > 0: ln A3 + softplus(d), d = ln A4 - ln A3 = ln a - ln(b+x-1) - (r+x) (L(t_x) - L(T))
    # with L(t) = ln(alpha + t); A4's share of A3 + A4 is expit(d).
    log_time = np.log(alpha + data.times)
    inv_time = 1.0 / (alpha + data.times)
    # Sums over repeaters that involve T only: per distinct T.
    value -= r * dot(data.weight_by_T, log_time) + dot(data.weight_x_by_T, log_time)
    d_r -= dot(data.weight_by_T, log_time)
    d_alpha -= r * dot(data.weight_by_T, inv_time) + dot(data.weight_x_by_T, inv_time)
    if with_hessian:
        h[0, 1] -= dot(data.weight_by_T, inv_time)
        h[1, 1] += dot(r * data.weight_by_T + data.weight_x_by_T, inv_time**2)
    with np.errstate(divide="ignore", invalid="ignore"):  # ln(b + x - 1) for x = 0 is unused
        log_b_x = np.log(b + data.unique_x - 1)
    rx = r + data.x_repeat
    diff = log_time[data.t_x_index] - log_time[data.T_index]
    d = (np.log(a) - log_b_x)[data.x_index] - rx * diff
    small = np.exp(-np.abs(d))
    softplus = np.maximum(d, 0.0) + np.log1p(small)
    share4 = np.where(d >= 0, 1.0, small) / (1.0 + small)
    w1 = data.weight_repeat
    ws4 = w1 * share4
    value += dot(w1, softplus)
    d_r -= dot(ws4, diff)
    inv_diff = inv_time[data.t_x_index] - inv_time[data.T_index]
    d_alpha -= dot(ws4 * rx, inv_diff)
    d_a += ws4.sum() / a
    inv_b_x = 1.0 / np.where(data.unique_x > 0, b + data.unique_x - 1, 1.0)
    ws4_by_x = np.bincount(data.x_index, weights=ws4, minlength=ux.size)
    d_b -= dot(ws4_by_x, inv_b_x)

    if with_hessian:
        # d' = (-diff, -(r+x) inv_diff, 1/a, -1/(b+x-1)); d'' is -inv_diff at (r, alpha),
        # (r+x) (1/(alpha+t_x)^2 - 1/(alpha+T)^2) at (alpha, alpha), -1/a^2 at (a, a) and
        # 1/(b+x-1)^2 at (b, b).
        h_r = small / (1.0 + small) ** 2 * w1  # weight x s (1 - s)
        d_alpha_d = rx * inv_diff
        h_r_alpha = h_r * d_alpha_d
        h_by_x = np.bincount(data.x_index, weights=h_r, minlength=ux.size)
        h[0, 0] += dot(h_r, diff**2)
        h[0, 1] += dot(h_r_alpha, diff) - dot(ws4, inv_diff)
        h[1, 1] += (dot(h_r_alpha, d_alpha_d) + dot(ws4 * rx,
            inv_time[data.t_x_index] ** 2 - inv_time[data.T_index] ** 2))
        h[0, 2] -= dot(h_r, diff) / a
        h[0, 3] += dot(np.bincount(data.x_index, weights=h_r * diff, minlength=ux.size), inv_b_x)
        h[1, 2] -= h_r_alpha.sum() / a
        h[1, 3] += dot(np.bincount(data.x_index, weights=h_r_alpha, minlength=ux.size), inv_b_x)
        h[2, 2] += (h_r.sum() - ws4.sum()) / a**2
        h[2, 3] -= dot(h_by_x, inv_b_x) / a
        h[3, 3] += dot(ws4_by_x + h_by_x, inv_b_x**2)

    natural = np.array([d_r, d_alpha, d_a, d_b])
    gradient = natural * theta
    hessian = None
    if with_hessian:
        h = np.triu(h) + np.triu(h, 1).T
        hessian = -(h * np.outer(theta, theta) + np.diag(gradient)) / total
    return -value / total, -gradient / total, hessian


def fit(data: BgNbdData) -> FitResult:
    """Maximum likelihood estimates of (r, alpha, a, b); raises LifetimeFitError on failure.
    More than SUBSAMPLE_ROWS distinct rows: a subsample fit polished by Newton's method on
    all of them (optimise.maximise_large)."""
    if not data.has_repeaters:
        raise LifetimeFitError(
            f"{MODEL} fit: no customer has a repeat purchase, so the purchase rate and the "
            "drop-out probability cannot be told apart"
        )
    total = float(data.weight.sum())
    mean_x = float(data.weight @ data.x) / total
    mean_T = float(data.weight @ data.T) / total
    # Start at a purchase rate matching the data (r / alpha = mean x / mean T) and p ~ 0.25.
    start = np.array([1.0, max(mean_T, 1e-3) / max(mean_x, 1e-3), 1.0, 3.0])
    if data.x.size <= optimise.SUBSAMPLE_ROWS:
        return _maximise(data, start)

    def subsample_fit() -> FitResult:
        weight = optimise.subsample_weights(data.weight)
        kept = weight > 0
        sample = BgNbdData.build(data.x[kept], data.t_x[kept], data.T[kept], weight[kept])
        if not sample.has_repeaters:
            raise LifetimeFitError(f"{MODEL} fit: no repeat purchase in the subsample")
        return optimise.maximise_by_newton(
            MODEL, PARAMETER_NAMES,
            lambda log_params: negative_log_likelihood(log_params, sample),
            lambda log_params: negative_log_likelihood_hessian(log_params, sample),
            start, float(sample.weight.sum()), sample.x.size)

    return optimise.maximise_large(
        MODEL, PARAMETER_NAMES,
        lambda log_params: negative_log_likelihood(log_params, data),
        lambda log_params: negative_log_likelihood_hessian(log_params, data),
        start, total, data.x.size, subsample_fit)


def _maximise(data: BgNbdData, start: np.ndarray) -> FitResult:
    return maximise(
        MODEL,
        PARAMETER_NAMES,
        lambda log_params: negative_log_likelihood(log_params, data),
        start,
        float(data.weight.sum()),
        data.x.size,
    )


def log_alive_odds(params, x, t_x, T) -> np.ndarray:
    """ln of P(dead) / P(alive) given (x, t_x, T); -inf when x = 0 (never dead before a repeat)."""
    r, alpha, a, b = (float(v) for v in params)
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        odds = (
            np.log(a) - np.log(b + x - 1)
            + (r + x) * (np.log(alpha + T) - np.log(alpha + np.asarray(t_x, dtype=float)))
        )
    return np.where(x > 0, odds, -np.inf)


def p_alive(params, x, t_x, T) -> np.ndarray:
    """P(alive | x, t_x, T) (FHL 2005 eq. 11):
    1 / (1 + [x > 0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))."""
    return expit(-log_alive_odds(params, x, t_x, T))


def log_p_alive_gradient(params, x, t_x, T) -> np.ndarray:
    """d ln P(alive) / d (ln r, ln alpha, ln a, ln b), one row per pattern, in closed form.

    With P(alive) = 1 / (1 + e^L) and L = log_alive_odds, d ln P / d theta = -(1 - P) dL/d
    theta; for x > 0, L = ln a - ln(b+x-1) + (r+x) (ln(alpha+T) - ln(alpha+t_x)), so
    dL/d ln r = r (ln(alpha+T) - ln(alpha+t_x)), dL/d ln alpha = alpha (r+x) (1/(alpha+T) -
    1/(alpha+t_x)), dL/d ln a = 1 and dL/d ln b = -b/(b+x-1). 0 for x = 0 (P(alive) = 1).
    What central differences of ln P(alive) give, without evaluating it 8 more times.
    """
    r, alpha, _a, b = (float(v) for v in params)
    x, t_x, T = np.broadcast_arrays(
        np.asarray(x, dtype=float), np.asarray(t_x, dtype=float), np.asarray(T, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        dead = expit(log_alive_odds(params, x, t_x, T))  # 1 - P(alive), without cancelling
        odds_gradient = np.stack([
            r * (np.log(alpha + T) - np.log(alpha + t_x)),
            alpha * (r + x) * (1 / (alpha + T) - 1 / (alpha + t_x)),
            np.ones(x.shape),
            -b / (b + x - 1),
        ], axis=-1)
        gradient = -dead[..., None] * odds_gradient
    return np.where((x > 0)[..., None], gradient, 0.0)


def remaining_factor(params, t, x, T) -> np.ndarray:
    """G = ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z), z = t/(alpha+T+t).

    The direct form multiplies a vanishing power by a 2F1 that overflows once x is large or
    t is long compared with alpha + T. It is evaluated instead in the Euler-transformed form
        G = ((alpha+T)/(alpha+T+t))^(a-1) 2F1(a-1, a+b-1-r; a+b+x-1; z)
    (2F1(A, B; C; z) = (1-z)^(C-A-B) 2F1(C-A, C-B; C; z)), whose factors stay moderate,
    with scipy's hyp2f1. Where that is not finite, or breaks the bounds G must satisfy (see
    `_outside_bounds`), G is summed again as the direct series in log space (all its terms
    are positive, so nothing cancels and nothing overflows): `log_hyp2f1_positive`.
    """
    r, alpha, a, b = (float(v) for v in params)
    x, T, t = np.broadcast_arrays(
        np.asarray(x, dtype=float), np.asarray(T, dtype=float), np.asarray(t, dtype=float)
    )
    shape = x.shape
    x, T, t = x.ravel(), T.ravel(), t.ravel()
    w = t / (alpha + T)
    z = t / (alpha + T + t)
    c = a + b + x - 1
    with np.errstate(all="ignore"):
        G = np.exp((1 - a) * np.log1p(w)) * hyp2f1(a - 1, a + b - 1 - r, c, z)
        redo = ~np.isfinite(G) | _outside_bounds(G, a, c, r + x, w)
    if redo.any():
        log_f = log_hyp2f1_positive(r + x[redo], b + x[redo], c[redo], z[redo])
        G[redo] = np.exp((r + x[redo]) * np.log1p(-z[redo]) + log_f)
    return G.reshape(shape)


def _outside_bounds(G: np.ndarray, a: float, c: np.ndarray, R: np.ndarray, w: np.ndarray):
    """True where G is impossible: E[purchases | alive] = c/(a-1) (1-G) is the mean over the
    drop-out probability p of (1 - (1+pw)^-R)/p, which lies between 1 - (1+w)^-R and R w."""
    with np.errstate(all="ignore"):
        given_alive = c / (a - 1) * (1 - G)
        low = -np.expm1(-R * np.log1p(w))
        high = R * w
        slack = 1e-9 * high + 1e-300
        return ~((given_alive >= low - slack) & (given_alive <= high + slack))


def log_hyp2f1_positive(
    A: np.ndarray, B: np.ndarray, C: np.ndarray, z: np.ndarray, max_terms: int = 1_000_000
) -> np.ndarray:
    """ln 2F1(A, B; C; z) for A, B, C > 0 and 0 <= z < 1 by summing its power series in log
    space. Every term is positive, so the sum has full relative precision whatever its size;
    the cost is the number of terms, about (A z / (1 - z)) plus a tail, so this is the
    fallback, not the main path. Returns nan where max_terms did not suffice."""
    A, B, C, z = (np.asarray(v, dtype=float).ravel() for v in np.broadcast_arrays(A, B, C, z))
    done = z == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        log_z = np.log(z)
        return _sum_positive_series(A, B, C, z, log_z, done, max_terms)


def _sum_positive_series(
    A: np.ndarray, B: np.ndarray, C: np.ndarray, z: np.ndarray, log_z: np.ndarray,
    done: np.ndarray, max_terms: int,
) -> np.ndarray:
    size = A.size
    log_term = np.zeros(size)  # ln of the current term (term 0 = 1)
    log_max = np.zeros(size)  # running scale: sum = exp(log_max) * scaled
    scaled = np.ones(size)
    active = np.flatnonzero(~done)
    n = 0
    while active.size and n < max_terms:
        a_, b_, c_ = A[active], B[active], C[active]
        log_ratio = np.log((a_ + n) * (b_ + n) / ((c_ + n) * (n + 1))) + log_z[active]
        lt = log_term[active] + log_ratio
        lm = log_max[active]
        sc = scaled[active]
        grow = lt > lm
        sc = np.where(grow, sc * np.exp(lm - lt) + 1.0, sc + np.exp(lt - lm))
        lm = np.where(grow, lt, lm)
        log_term[active], log_max[active], scaled[active] = lt, lm, sc
        n += 1
        # Stop once the terms shrink (ratio < 1) and the rest of the tail, bounded by
        # term * rho / (1 - rho) with rho the larger of this ratio and its limit z, is
        # below the last bit of the sum.
        log_rho = np.maximum(log_ratio, log_z[active])
        tail = lt + log_rho - np.log(-np.expm1(log_rho)) - lm - np.log(sc)
        finished = (log_ratio < 0) & (tail < np.log(1e-17))
        active = active[~finished]
    result = log_max + np.log(scaled)
    if active.size:
        result[active] = np.nan
    return result


def expected_purchases(params, t, x, t_x, T) -> np.ndarray:
    """E[Y(t) | x, t_x, T]: expected repeat purchases in the next t (FHL 2005 eq. 10),
    = E[purchases in the next t | alive] * P(alive). The first factor depends on (x, T)
    only, so with one horizon for all it is evaluated once per distinct (x, T) pair."""
    x, t_x, T, t = np.broadcast_arrays(
        np.asarray(x, dtype=float), np.asarray(t_x, dtype=float), np.asarray(T, dtype=float),
        np.asarray(t, dtype=float))
    if t.size and np.all(t == t.flat[0]):
        # a complex number as the key of the pair
        pairs, inverse = np.unique((x + 1j * T).ravel(), return_inverse=True)
        if_alive = expected_purchases_if_alive(
            params, t.flat[0], pairs.real, pairs.imag)[inverse].reshape(x.shape)
    else:
        if_alive = expected_purchases_if_alive(params, t, x, T)
    return if_alive * p_alive(params, x, t_x, T)


def expected_purchases_if_alive(params, t, x, T) -> np.ndarray:
    """(a+b+x-1)/(a-1) (1 - G): expected purchases in the next t of a customer alive at T.

    At a = 1 the two factors are 0/0 (a removable singularity); within A_NEAR_ONE of it the
    value is interpolated linearly between a = 1 - A_NEAR_ONE and 1 + A_NEAR_ONE (error ~
    A_NEAR_ONE^2).
    """
    r, alpha, a, b = (float(v) for v in params)
    x, T, t = np.broadcast_arrays(
        np.asarray(x, dtype=float), np.asarray(T, dtype=float), np.asarray(t, dtype=float)
    )
    shape = x.shape
    x, T, t = x.ravel(), T.ravel(), t.ravel()
    if abs(a - 1.0) < A_NEAR_ONE:
        low = _closed_form_if_alive((r, alpha, 1.0 - A_NEAR_ONE, b), t, x, T)
        high = _closed_form_if_alive((r, alpha, 1.0 + A_NEAR_ONE, b), t, x, T)
        value = low + (a - (1.0 - A_NEAR_ONE)) / (2 * A_NEAR_ONE) * (high - low)
    else:
        value = _closed_form_if_alive((r, alpha, a, b), t, x, T)
    return value.reshape(shape)


def _closed_form_if_alive(params: tuple[float, float, float, float], t, x, T) -> np.ndarray:
    a, b = params[2], params[3]
    return (a + b + x - 1) / (a - 1) * (1.0 - remaining_factor(params, t, x, T))


def p_purchase_within_if_alive(params, t, x, T) -> np.ndarray:
    """P(at least one purchase in the next t | alive at T): given alive, the purchase rate is
    Gamma(r + x, alpha + T) and drop-out can only follow a purchase, so no purchase in t has
    probability E[exp(-lambda t)] = ((alpha+T)/(alpha+T+t))^(r+x)."""
    r, alpha = float(params[0]), float(params[1])
    x, T, t = np.broadcast_arrays(
        np.asarray(x, dtype=float), np.asarray(T, dtype=float), np.asarray(t, dtype=float)
    )
    return -np.expm1(-(r + x) * np.log1p(t / (alpha + T)))


def time_to_purchase_chance_if_alive(params, chance, x, T) -> np.ndarray:
    """The t with P(at least one purchase in the next t | alive at T) = chance (0 < chance
    < 1): solving 1 - ((alpha+T)/(alpha+T+t))^(r+x) = chance gives
    t = (alpha+T) ((1 - chance)^(-1/(r+x)) - 1)."""
    r, alpha = float(params[0]), float(params[1])
    x, T, chance = np.broadcast_arrays(
        np.asarray(x, dtype=float), np.asarray(T, dtype=float), np.asarray(chance, dtype=float)
    )
    return (alpha + T) * np.expm1(-np.log1p(-chance) / (r + x))


def p_purchase_ever_if_alive(params, x, T) -> np.ndarray:
    """P(another purchase ever | alive at T) = 1: an alive customer's next event is a purchase."""
    return np.ones(np.broadcast(np.asarray(x), np.asarray(T)).shape)
