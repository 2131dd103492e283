"""The Gamma-Gamma spend model (Fader, Hardie & Lee 2005; Fader & Hardie 2013 note).

A customer's transactions are Gamma(p, nu) with nu ~ Gamma(q, gamma) across customers, so
the mean spend m_x of x transactions has a closed-form likelihood, and the expected spend of
the customer's next transaction shrinks m_x towards the population mean p gamma / (q - 1).
Fitted on customers with x > 0 and m_x > 0, weighted by how many share the same (x, m_x).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from retail_tiers.lifetime import optimise
from retail_tiers.lifetime.arrays import dot, unique_with_inverse
from retail_tiers.lifetime.optimise import FitResult, LifetimeFitError, maximise
from retail_tiers.lifetime.special import digamma, gammaln, trigamma

MODEL = "gamma_gamma"
PARAMETER_NAMES = ("p", "q", "gamma")


@dataclass(frozen=True)
class GammaGammaData:
    """Repeaters' (x, mean spend m_x) rows with weights, plus the constant sums the fit reuses."""

    x: np.ndarray
    spend: np.ndarray  # mean spend per repeat transaction, m_x
    weight: np.ndarray
    unique_x: np.ndarray
    weight_by_x: np.ndarray
    sum_w_log_m: float  # sum of w ln m
    sum_wx_log_xm: float  # sum of w x ln(x m)

    @classmethod
    def build(cls, x, spend, weight=None) -> GammaGammaData:
        x = np.asarray(x, dtype=float)
        spend = np.asarray(spend, dtype=float)
        weight = np.ones_like(x) if weight is None else np.asarray(weight, dtype=float)
        if not (x.shape == spend.shape == weight.shape):
            raise ValueError("x, spend and weight must have the same shape")
        if x.size == 0:
            raise LifetimeFitError(
                f"{MODEL} fit: no customer has a repeat purchase day with positive spend"
            )
        bad = ~np.isfinite(x) | ~np.isfinite(spend) | (x < 1) | ~(spend > 0) | ~(weight > 0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise LifetimeFitError(
                f"{MODEL} fit: invalid row (x = {x[i]}, mean spend = {spend[i]}): "
                "need x >= 1 and mean spend > 0"
            )
        unique_x, inverse = unique_with_inverse(x)
        weight_by_x = np.bincount(inverse, weights=weight, minlength=unique_x.size)
        return cls(
            x, spend, weight, unique_x, weight_by_x,
            float(weight @ np.log(spend)), float((weight * x) @ np.log(x * spend)),
        )


def log_likelihood(params, x, spend) -> np.ndarray:
    """Per-customer ln f(m_x | p, q, gamma, x), the density of the mean of x transactions."""
    p, q, gamma = (float(v) for v in params)
    x = np.asarray(x, dtype=float)
    m = np.asarray(spend, dtype=float)
    px = p * x
    return (
        gammaln(px + q) - gammaln(px) - gammaln(q)
        + q * np.log(gamma) + (px - 1) * np.log(m) + px * np.log(x)
        - (px + q) * np.log(gamma + x * m)
    )


def negative_log_likelihood(
    log_params: np.ndarray, data: GammaGammaData
) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood and its gradient in (ln p, ln q, ln gamma).

    ln f = ln Gamma(px+q) - ln Gamma(px) - ln Gamma(q) + q ln gamma + px ln(x m) - ln m
           - (px+q) ln(gamma + x m); the Gamma-function terms depend on x only.
    """
    value, gradient, _ = _evaluate(log_params, data, with_hessian=False)
    return value, gradient


def negative_log_likelihood_hessian(
    log_params: np.ndarray, data: GammaGammaData
) -> tuple[float, np.ndarray, np.ndarray]:
    """negative_log_likelihood and its analytic Hessian in (ln p, ln q, ln gamma)."""
    return _evaluate(log_params, data, with_hessian=True)


def _evaluate(log_params: np.ndarray, data: GammaGammaData, with_hessian: bool):
    p, q, gamma = theta = np.exp(log_params)
    ux, wx = data.unique_x, data.weight_by_x
    x, w = data.x, data.weight
    total = wx.sum()
    pu = p * ux
    value = dot(wx, gammaln(pu + q) - gammaln(pu) - gammaln(q)) + total * q * np.log(gamma)
    value += p * data.sum_wx_log_xm - data.sum_w_log_m
    psi_pq = digamma(pu + q)
    d_p = dot(wx, ux * (psi_pq - digamma(pu))) + data.sum_wx_log_xm
    d_q = dot(wx, psi_pq - digamma(q)) + total * np.log(gamma)
    d_gamma = total * q / gamma

    scale = gamma + x * data.spend
    log_scale = np.log(scale)
    inv_scale = 1.0 / scale
    wx_rows = w * x
    value -= p * dot(wx_rows, log_scale) + q * dot(w, log_scale)
    d_p -= dot(wx_rows, log_scale)
    d_q -= dot(w, log_scale)
    weighted_inv = (p * wx_rows + q * w) * inv_scale
    d_gamma -= weighted_inv.sum()

    gradient = np.array([d_p, d_q, d_gamma]) * theta
    hessian = None
    if with_hessian:
        trigamma_pq = trigamma(pu + q)
        h = np.empty((3, 3))
        h[0, 0] = dot(wx, ux**2 * (trigamma_pq - trigamma(pu)))
        h[0, 1] = dot(wx, ux * trigamma_pq)
        h[1, 1] = dot(wx, trigamma_pq - trigamma(q))
        h[0, 2] = -dot(wx_rows, inv_scale)
        h[1, 2] = total / gamma - dot(w, inv_scale)
        h[2, 2] = -total * q / gamma**2 + dot(weighted_inv, inv_scale)
        h[1, 0], h[2, 0], h[2, 1] = h[0, 1], h[0, 2], h[1, 2]
        hessian = -(h * np.outer(theta, theta) + np.diag(gradient)) / total
    return -value / total, -gradient / total, hessian


def fit(data: GammaGammaData) -> FitResult:
    """Maximum likelihood (p, q, gamma); raises LifetimeFitError on failure or q <= 1.
    More than SUBSAMPLE_ROWS distinct rows: a subsample fit polished by Newton's method on
    all of them (optimise.maximise_large)."""
    mean_spend = float(data.weight @ data.spend) / float(data.weight.sum())
    # Start with p = 1, q = 2 and gamma = mean spend: population mean p gamma / (q-1) = mean.
    start = np.array([1.0, 2.0, mean_spend])
    if data.x.size <= optimise.SUBSAMPLE_ROWS:
        result = _maximise(data, start)
    else:
        def subsample_fit() -> FitResult:
            weight = optimise.subsample_weights(data.weight)
            kept = weight > 0
            sample = GammaGammaData.build(data.x[kept], data.spend[kept], weight[kept])
            return optimise.maximise_by_newton(
                MODEL, PARAMETER_NAMES,
                lambda log_params: negative_log_likelihood(log_params, sample),
                lambda log_params: negative_log_likelihood_hessian(log_params, sample),
                start, float(sample.weight.sum()), sample.x.size)

        result = optimise.maximise_large(
            MODEL, PARAMETER_NAMES,
            lambda log_params: negative_log_likelihood(log_params, data),
            lambda log_params: negative_log_likelihood_hessian(log_params, data),
            start, float(data.weight.sum()), data.x.size, subsample_fit)
    q = result.parameters["q"]
    if q <= 1:
        raise LifetimeFitError(
            f"{MODEL} fit: q = {q:.4g} <= 1 means the average spend of a new customer is "
            "infinite (spend too heavy-tailed for this model); check for extreme order values"
        )
    return result


def _maximise(data: GammaGammaData, start: np.ndarray) -> FitResult:
    return maximise(
        MODEL,
        PARAMETER_NAMES,
        lambda log_params: negative_log_likelihood(log_params, data),
        start,
        float(data.weight.sum()),
        data.x.size,
    )

