"""The Pareto/NBD purchase model (Schmittlein, Morrison & Colombo 1987), the alternative to
BG/NBD: while alive a customer buys at rate lambda ~ Gamma(r, alpha) and dies at an
exponential time with rate mu ~ Gamma(s, beta), at any moment rather than only after a
purchase. Same inputs as BG/NBD: x repeat purchases, t_x time of the last, T age (weeks).

Likelihood (Fader & Hardie 2005, "A Note on Deriving the Pareto/NBD Model"), written as
    L = Gamma(r+x) alpha^r beta^s / Gamma(r) * [(alpha+T)^-(r+x) (beta+T)^-s
                                                + s (I(t_x) - I(T))],
    I(u) = integral from u to infinity of (alpha+v)^-(r+x) (beta+v)^-(s+1) dv.
The published closed form multiplies 2F1(r+s+x, s+1; r+s+x+1; z) by (alpha+u)^-(r+s+x),
which under- and overflows for large x or T (lifetimes #25, pymc-marketing #127). Here I is
kept in logs: with M = max(alpha, beta), z = |alpha - beta| / (M + u) in [0, 1) and the
Euler transform 2F1(A, B; C; z) = (1-z)^(C-A-B) 2F1(C-A, C-B; C; z),
    alpha >= beta: ln I(u) = -ln(r+s+x) - (r+x) ln(alpha+u) - s ln(beta+u)
                             + ln 2F1(1, r+x; r+s+x+1; z)
    alpha <  beta: ln I(u) = -ln(r+s+x) - (r+x-1) ln(alpha+u) - (s+1) ln(beta+u)
                             + ln 2F1(1, s+1; r+s+x+1; z)
The 2F1 left has a = 1 and c > b: its series terms are positive, and it is finite up to
z = 1 (c - a - b > 0), so it neither overflows nor cancels. I(t_x) - I(T) is
formed as I(t_x) (1 - exp(ln I(T) - ln I(t_x))) and the two bracket terms are added with
logaddexp.
"""

from __future__ import annotations

import time

import numpy as np

from retail_tiers.lifetime.optimise import FitResult, LifetimeFitError, maximise
from retail_tiers.lifetime.special import expit, gammaln, hyp2f1

MODEL = "pareto_nbd"
PARAMETER_NAMES = ("r", "alpha", "s", "beta")
# Within this distance of s = 1 the expected-purchases factor (1 - u^(s-1)) / (s-1) is
# replaced by its limit -ln u.
S_NEAR_ONE = 1e-9
# Step (in log-parameters) of the central-difference gradient used by the fit.
GRADIENT_STEP = 1e-6
# A fit whose shape r or s passes this runs towards the model's limiting form (no spread of
# purchase or drop-out rates across customers), where the hypergeometric function gets slow
# and inexact; it is stopped and reported as failed (BG/NBD is used) rather than followed.
SHAPE_LIMIT = 100.0
# Wall-clock safety stop of one fit, in seconds: a fit that has not converged by then is
# reported as failed (a pathological case; fits within MAX_PATTERNS take a few seconds).
FIT_SECONDS_LIMIT = 60.0
# Above this many distinct (x, t_x, T) patterns the fit is not attempted: each likelihood
# evaluation runs the tail integrals on every pattern (about 0.5 s per 60,000 on this
# project's 2-core machine, and a fit needs about 25 with their gradients), so it would take
# far longer than BG/NBD's. The limit is a count, not a timing, so whether Pareto/NBD is
# fitted never depends on how busy the machine is.
MAX_PATTERNS = 40_000


def _arrays(x, t_x, T):
    return np.broadcast_arrays(
        np.asarray(x, dtype=float), np.asarray(t_x, dtype=float), np.asarray(T, dtype=float)
    )


def log_tail_integral(A, B, p, q, u) -> np.ndarray:
    """ln of the integral from u to infinity of (A+v)^-p (B+v)^-q dv (A, B > 0, p + q > 1).

    Expanding (1 - d/w)^-q around w = max(A, B) + v gives (with k = p + q - 1)
        A >= B: -ln k - p ln(A+u) + (1-q) ln(B+u) + ln 2F1(1, p; p+q; (A-B)/(A+u))
        A <  B: the same with (A, p) and (B, q) swapped,
    after the Euler transform: a = 1 and c - b > 0, so the series is positive and bounded.
    """
    A, B, p, q, u = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (A, B, p, q, u)))
    first = A >= B
    big, small = np.where(first, A, B), np.where(first, B, A)
    p_big, q_small = np.where(first, p, q), np.where(first, q, p)
    z = (big - small) / (big + u)
    return (-np.log(p + q - 1) - p_big * np.log(big + u) + (1 - q_small) * np.log(small + u)
            + np.log(hyp2f1(1.0, p_big, p + q, z)))


def _log_tail_integral(params, x: np.ndarray, u: np.ndarray) -> np.ndarray:
    """ln I(u) (see the module docstring) for each (x, u), evaluated once per distinct pair
    (whole days and small counts repeat a lot; the 2F1 is the expensive part)."""
    r, alpha, s, beta = (float(v) for v in params)
    x, u = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(u, dtype=float))
    pairs, inverse = np.unique((x + 1j * u).ravel(), return_inverse=True)
    values = log_tail_integral(alpha, beta, r + pairs.real, s + 1.0, pairs.imag)
    return values[inverse.ravel()].reshape(x.shape)


def _log_bracket_terms(params, x, t_x, T) -> tuple[np.ndarray, np.ndarray]:
    """ln of the two bracket terms: alive at T, and died between t_x and T (-inf if t_x = T)."""
    r, alpha, s, beta = (float(v) for v in params)
    log_alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    log_i_tx = _log_tail_integral(params, x, t_x)
    log_i_T = _log_tail_integral(params, x, T)
    with np.errstate(divide="ignore"):
        log_died = np.log(s) + log_i_tx + np.log1p(-np.exp(np.minimum(log_i_T - log_i_tx, 0.0)))
    return log_alive, log_died


def log_likelihood(params, x, t_x, T) -> np.ndarray:
    """Per-customer ln L(r, alpha, s, beta | x, t_x, T)."""
    r, alpha, s, beta = (float(v) for v in params)
    x, t_x, T = _arrays(x, t_x, T)
    log_alive, log_died = _log_bracket_terms(params, x, t_x, T)
    return (
        gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        + np.logaddexp(log_alive, log_died)
    )


def p_alive(params, x, t_x, T) -> np.ndarray:
    """P(alive at T | x, t_x, T): the share of the 'alive at T' term in the bracket."""
    x, t_x, T = _arrays(x, t_x, T)
    log_alive, log_died = _log_bracket_terms(params, x, t_x, T)
    return expit(log_alive - log_died)


def expected_purchases_if_alive(params, t, x, T) -> np.ndarray:
    """Expected purchases in the next t of a customer alive at T:
    (r+x)/(alpha+T) (beta+T) (1 - ((beta+T)/(beta+T+t))^(s-1)) / (s-1)
    (the posterior rate times the expected remaining lifetime within t). With x = 0, T = 0
    it is the expected purchases of a new customer in their first t, E[X(t)]."""
    r, alpha, s, beta = (float(v) for v in params)
    x, T, t = np.broadcast_arrays(
        np.asarray(x, dtype=float), np.asarray(T, dtype=float), np.asarray(t, dtype=float)
    )
    log_ratio = np.log1p(t / (beta + T))
    if abs(s - 1.0) < S_NEAR_ONE:
        lifetime_factor = log_ratio
    else:
        lifetime_factor = -np.expm1(-(s - 1.0) * log_ratio) / (s - 1.0)
    return (r + x) / (alpha + T) * (beta + T) * lifetime_factor


def expected_purchases(params, t, x, t_x, T) -> np.ndarray:
    """E[Y(t) | x, t_x, T] = P(alive) * expected purchases in t if alive."""
    return expected_purchases_if_alive(params, t, x, T) * p_alive(params, x, t_x, T)


def negative_log_likelihood(log_params: np.ndarray, x, t_x, T, weight) -> float:
    """Mean (per customer) negative log-likelihood at exp(log_params)."""
    return -float(weight @ log_likelihood(np.exp(log_params), x, t_x, T)) / float(weight.sum())


def _objective(x, t_x, T, weight):
    """(value, central-difference gradient) in the log-parameters for the shared optimiser."""

    started = time.perf_counter()

    def objective(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        r, _, s, _ = np.exp(log_params)
        if max(r, s) > SHAPE_LIMIT:
            raise LifetimeFitError(
                f"{MODEL} fit: {'r' if r > s else 's'} passed {SHAPE_LIMIT:g}: the data show "
                f"no spread of {'purchase' if r > s else 'drop-out'} rates across customers "
                "(the model's limiting form), so Pareto/NBD is not used")
        if time.perf_counter() - started > FIT_SECONDS_LIMIT:
            raise LifetimeFitError(
                f"{MODEL} fit: stopped after {FIT_SECONDS_LIMIT:g} s without converging")
        with np.errstate(all="ignore"):
            value = negative_log_likelihood(log_params, x, t_x, T, weight)
            gradient = np.empty(log_params.size)
            for i in range(log_params.size):
                step = np.zeros(log_params.size)
                step[i] = GRADIENT_STEP
                gradient[i] = (
                    negative_log_likelihood(log_params + step, x, t_x, T, weight)
                    - negative_log_likelihood(log_params - step, x, t_x, T, weight)
                ) / (2 * GRADIENT_STEP)
        return value, gradient

    return objective


def fit(x, t_x, T, weight=None) -> FitResult:
    """Maximum likelihood estimates of (r, alpha, s, beta) on distinct (x, t_x, T) rows
    weighted by their customer counts; raises LifetimeFitError on failure."""
    x, t_x, T = _arrays(x, t_x, T)
    weight = np.ones_like(x) if weight is None else np.asarray(weight, dtype=float)
    if not np.any(x > 0):
        raise LifetimeFitError(
            f"{MODEL} fit: no customer has a repeat purchase, so the purchase rate and the "
            "drop-out rate cannot be told apart"
        )
    if x.size > MAX_PATTERNS:
        raise LifetimeFitError(
            f"{MODEL} fit: skipped: {x.size:,} distinct purchase patterns, more than the "
            f"{MAX_PATTERNS:,} a Pareto/NBD fit is run on (it would take minutes); BG/NBD is "
            "used")
    total = float(weight.sum())
    mean_x = float(weight @ x) / total
    mean_T = float(weight @ T) / total
    start = np.array([1.0, max(mean_T, 1e-3) / max(mean_x, 1e-3), 1.0, max(mean_T, 1.0)])
    return maximise(MODEL, PARAMETER_NAMES, _objective(x, t_x, T, weight), start, total, x.size)


def _log_first_purchase_terms(params, x, T):
    """Given alive at T the rates are independent, lambda ~ Gamma(r+x, alpha+T) and
    mu ~ Gamma(s, beta+T), and the next purchase comes at tau with density
    E[lambda e^-(lambda+mu) tau] = (r+x) A^(r+x) B^s (A+tau)^-(r+x+1) (B+tau)^-s,
    A = alpha+T, B = beta+T. Returns (ln of the constant, A, B, exponents)."""
    r, alpha, s, beta = (float(v) for v in params)
    x, T = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(T, dtype=float))
    A, B = alpha + T, beta + T
    log_scale = np.log(r + x) + (r + x) * np.log(A) + s * np.log(B)
    return log_scale, A, B, r + x + 1.0, np.full_like(A, s)


def p_purchase_ever_if_alive(params, x, T) -> np.ndarray:
    """P(another purchase before dying | alive at T) = E[lambda / (lambda + mu)]."""
    log_scale, A, B, p, q = _log_first_purchase_terms(params, x, T)
    return np.exp(log_scale + log_tail_integral(A, B, p, q, 0.0))


def p_purchase_within_if_alive(params, t, x, T) -> np.ndarray:
    """P(at least one purchase in the next t | alive at T): the first-purchase density
    integrated from 0 to t, as the tail from 0 minus the tail from t (in logs)."""
    log_scale, A, B, p, q = _log_first_purchase_terms(params, x, T)
    log_from_0 = log_tail_integral(A, B, p, q, 0.0)
    log_from_t = log_tail_integral(A, B, p, q, t)
    return np.exp(log_scale + log_from_0) * -np.expm1(np.minimum(log_from_t - log_from_0, 0.0))
