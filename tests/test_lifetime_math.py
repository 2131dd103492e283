"""The lifetime-value math (retail_tiers.lifetime) against independent computations.

References never come from the code under test: the likelihoods are checked against direct
numerical integration over the individual-level model (lambda, p for BG/NBD; nu for
Gamma-Gamma), gradients against central finite differences, the hypergeometric term against
mpmath at high precision, expected purchases against a one-dimensional integral that needs no
hypergeometric function at all, and fits against known simulation parameters with
tolerances from the observed information.
"""

from __future__ import annotations

import itertools
import math

import duckdb
import mpmath
import numpy as np
import pyarrow as pa
import pytest
from scipy import integrate, stats

from retail_tiers.errors import RetailTiersError
from retail_tiers.lifetime import (
    bgnbd,
    gamma_gamma,
    optimise,
    pipeline,
    purchase_models,
    special,
)
from retail_tiers.lifetime.optimise import LifetimeFitError
from retail_tiers.lifetime.simulate import simulate_summaries

CDNOW = (0.2426, 4.4136, 0.7929, 2.4259)  # published BG/NBD MLE (Fader, Hardie & Lee 2005)
SMOOTH = (0.7, 3.0, 1.3, 2.5)  # a > 1: Beta density without an endpoint singularity


# ---- independent references ----------------------------------------------------------------


def lam_moment(r: float, alpha: float, x: int, time: float) -> float:
    """E[lambda^x exp(-lambda time)] for lambda ~ Gamma(r, rate alpha), by quadrature. The
    density's lambda^(r-1) is handled as an algebraic weight on (0, 1]."""
    constant = math.exp(r * math.log(alpha) - math.lgamma(r))

    def smooth(lam: float) -> float:
        return constant * lam**x * math.exp(-lam * (time + alpha))

    head = integrate.quad(smooth, 0, 1, weight="alg", wvar=(r - 1, 0), epsabs=0, epsrel=1e-12)[0]
    tail = integrate.quad(lambda lam: smooth(lam) * lam ** (r - 1), 1, np.inf, limit=200,
                          epsabs=0, epsrel=1e-12)[0]
    return head + tail


def p_moment(a: float, b: float, f) -> float:
    """E[f(p)] for p ~ Beta(a, b), by quadrature (split near 0 for a < 1)."""
    def integrand(p: float) -> float:
        return f(p) * stats.beta.pdf(p, a, b)

    pieces = [0.0, 1e-6, 1e-3, 0.1, 0.5, 1.0]
    return sum(integrate.quad(integrand, lo, hi, limit=200, epsabs=0, epsrel=1e-12)[0]
               for lo, hi in itertools.pairwise(pieces))


def bgnbd_likelihood_by_integration(params, x: int, t_x: float, T: float) -> tuple[float, float]:
    """(likelihood, P(alive)) from the individual model, integrating lambda and p separately:
    L = E[(1-p)^x] E[lambda^x e^(-lambda T)] + [x>0] E[p (1-p)^(x-1)] E[lambda^x e^(-lambda t_x)].
    """
    r, alpha, a, b = params
    alive = p_moment(a, b, lambda p: (1 - p) ** x) * lam_moment(r, alpha, x, T)
    dead = 0.0
    if x > 0:
        dead = p_moment(a, b, lambda p: p * (1 - p) ** (x - 1)) * lam_moment(r, alpha, x, t_x)
    return alive + dead, alive / (alive + dead)


def expected_given_alive_by_integration(params, t: float, x: int, T: float) -> float:
    """E[purchases in (T, T+t] | alive at T] = E_p[(1 - (1 + p w)^-(r+x)) / p], w = t/(alpha+T),
    p ~ Beta(a, b+x): the customer's rate has posterior Gamma(r+x, alpha+T) and, while alive,
    (1 - exp(-lambda p t)) / p purchases are expected. No hypergeometric function involved."""
    r, alpha, a, b = params
    w = t / (alpha + T)
    return p_moment(a, b + x, lambda p: -math.expm1(-(r + x) * math.log1p(p * w)) / p)


def gamma_gamma_density_by_integration(params, x: int, m: float) -> float:
    """Density of the mean m of x spends ~ Gamma(p, rate nu), nu ~ Gamma(q, rate gamma)."""
    p, q, gamma = params

    def integrand(nu: float) -> float:
        return (x * stats.gamma.pdf(x * m, p * x, scale=1 / nu)
                * stats.gamma.pdf(nu, q, scale=1 / gamma))

    return integrate.quad(integrand, 0, np.inf, limit=400, epsabs=0, epsrel=1e-11)[0]


def mp_remaining_factor(params, t: float, x: int, T: float, dps: int = 60) -> mpmath.mpf:
    """G in its direct (untransformed) form, at high precision."""
    r, alpha, a, b = (mpmath.mpf(v) for v in params)
    with mpmath.workdps(dps):
        z = mpmath.mpf(t) / (alpha + T + t)
        return (1 - z) ** (r + x) * mpmath.hyp2f1(r + x, b + x, a + b + x - 1, z)


def finite_difference_gradient(function, point: np.ndarray, step: float = 1e-6) -> np.ndarray:
    gradient = np.zeros_like(point)
    for i in range(point.size):
        shift = np.zeros_like(point)
        shift[i] = step
        gradient[i] = (function(point + shift)[0] - function(point - shift)[0]) / (2 * step)
    return gradient


def standard_errors(function, point: np.ndarray, total: float, step: float = 1e-4) -> np.ndarray:
    """Standard errors of the log-parameters from the observed information: the Hessian of
    the total log-likelihood by central differences of the (analytic) gradient."""
    size = point.size
    hessian = np.zeros((size, size))
    for i in range(size):
        shift = np.zeros(size)
        shift[i] = step
        hessian[:, i] = (function(point + shift)[1] - function(point - shift)[1]) / (2 * step)
    information = total * (hessian + hessian.T) / 2  # mean negative LL -> total information
    return np.sqrt(np.diag(np.linalg.inv(information)))


# ---- BG/NBD likelihood and gradient -------------------------------------------------------


@pytest.mark.parametrize("params", [SMOOTH, CDNOW])
@pytest.mark.parametrize(("x", "t_x", "T"), [(0, 0.0, 10.0), (1, 3.5, 20.0), (4, 30.43, 38.86),
                                             (12, 51.0, 52.0)])
def test_bgnbd_log_likelihood_matches_the_individual_model(params, x, t_x, T):
    likelihood, alive = bgnbd_likelihood_by_integration(params, x, t_x, T)
    assert bgnbd.log_likelihood(params, x, t_x, T) == pytest.approx(math.log(likelihood),
                                                                    rel=1e-9, abs=1e-9)
    assert bgnbd.p_alive(params, x, t_x, T) == pytest.approx(alive, rel=1e-8)


def test_bgnbd_p_alive_is_one_without_a_repeat_purchase():
    assert bgnbd.p_alive(CDNOW, np.zeros(3), np.zeros(3), np.array([0.0, 5.0, 500.0])) == (
        pytest.approx([1.0, 1.0, 1.0]))


def test_bgnbd_gradient_matches_finite_differences():
    s = simulate_summaries(3000, (0.5, 4.0, 0.9, 3.0), (6.0, 4.0, 20.0), 400, seed=11)
    x, t_x, T = s.x.astype(float), s.t_x, s.T
    weights = np.random.default_rng(5).integers(1, 5, x.size)
    data = bgnbd.BgNbdData.build(x, t_x, T, weights)
    for point in (np.log([0.5, 4.0, 0.9, 3.0]), np.log([2.0, 0.3, 3.0, 0.5]), np.zeros(4)):
        value, gradient = bgnbd.negative_log_likelihood(point, data)
        expected = -(weights @ bgnbd.log_likelihood(np.exp(point), x, t_x, T)) / weights.sum()
        assert value == pytest.approx(expected, rel=1e-12)
        numeric = finite_difference_gradient(
            lambda p: bgnbd.negative_log_likelihood(p, data), point)
        np.testing.assert_allclose(gradient, numeric, rtol=1e-5, atol=1e-8)



def finite_difference_hessian(function, point: np.ndarray, step: float = 1e-5) -> np.ndarray:
    """The Hessian by central differences of the (analytic, separately tested) gradient."""
    columns = []
    for i in range(point.size):
        shift = np.zeros_like(point)
        shift[i] = step
        columns.append((function(point + shift)[1] - function(point - shift)[1]) / (2 * step))
    return np.stack(columns, axis=1)


def test_bgnbd_hessian_matches_finite_differences():
    s = simulate_summaries(3000, (0.5, 4.0, 0.9, 3.0), (6.0, 4.0, 20.0), 400, seed=11)
    weights = np.random.default_rng(5).integers(1, 5, s.x.size)
    data = bgnbd.BgNbdData.build(s.x.astype(float), s.t_x, s.T, weights)
    for point in (np.log([0.5, 4.0, 0.9, 3.0]), np.log([2.0, 0.3, 3.0, 0.5]), np.zeros(4)):
        value, gradient, hessian = bgnbd.negative_log_likelihood_hessian(point, data)
        plain_value, plain_gradient = bgnbd.negative_log_likelihood(point, data)
        assert value == pytest.approx(plain_value, rel=1e-12)
        np.testing.assert_allclose(gradient, plain_gradient, rtol=1e-12)
        numeric = finite_difference_hessian(
            lambda p: bgnbd.negative_log_likelihood(p, data), point)
        np.testing.assert_allclose(hessian, numeric, rtol=1e-6, atol=1e-8)

def test_bgnbd_weights_count_like_repeated_customers():
    s = simulate_summaries(4000, (0.5, 4.0, 0.9, 3.0), (6.0, 4.0, 20.0), 120, seed=2)
    days = np.stack([s.x, np.round(s.t_x * 7), np.round(s.T * 7)], axis=1).astype(int)
    combos, counts = np.unique(days, axis=0, return_counts=True)
    assert combos.shape[0] < days.shape[0] / 2  # whole days: many customers share a pattern
    compressed = bgnbd.fit(bgnbd.BgNbdData.build(
        combos[:, 0], combos[:, 1] / 7, combos[:, 2] / 7, counts))
    expanded = bgnbd.fit(bgnbd.BgNbdData.build(days[:, 0], days[:, 1] / 7, days[:, 2] / 7))
    assert compressed.customer_count == expanded.customer_count == days.shape[0]
    assert compressed.distinct_combination_count == combos.shape[0]
    for name in bgnbd.PARAMETER_NAMES:
        assert compressed.parameters[name] == pytest.approx(expanded.parameters[name], rel=1e-5)
    total = bgnbd.log_likelihood(tuple(expanded.parameters.values()), days[:, 0],
                                 days[:, 1] / 7, days[:, 2] / 7).sum()
    assert compressed.log_likelihood == pytest.approx(total, rel=1e-9)


def test_bgnbd_fit_recovers_simulation_parameters():
    truth = (0.6, 5.0, 0.8, 2.5)
    s = simulate_summaries(40_000, truth, (6.0, 4.0, 20.0), 730, seed=7, whole_days=False)
    data = bgnbd.BgNbdData.build(s.x, s.t_x, s.T)
    fit = bgnbd.fit(data)
    assert fit.converged
    estimate = np.log(list(fit.parameters.values()))
    errors = standard_errors(lambda p: bgnbd.negative_log_likelihood(p, data), estimate,
                             data.weight.sum())
    z_scores = (estimate - np.log(truth)) / errors
    assert np.all(np.abs(z_scores) < 4), (fit.parameters, errors)


# ---- expected purchases and the hypergeometric term ---------------------------------------


def test_published_cdnow_example_expects_1_226_purchases():
    """Fader, Hardie & Lee 2005: x = 2, t_x = 30.43, T = 38.86 expects 1.226 in 39 weeks."""
    assert bgnbd.expected_purchases(CDNOW, 39, 2, 30.43, 38.86) == pytest.approx(1.226, abs=5e-4)


@pytest.mark.parametrize("params", [SMOOTH, CDNOW, (0.3, 1.0, 1.0, 2.0), (0.3, 1.0, 1.00005, 2.0)])
@pytest.mark.parametrize(("t", "x", "t_x", "T"), [(52.0, 0, 0.0, 0.0), (4.35, 1, 2.0, 30.0),
                                                  (39.0, 2, 30.43, 38.86), (104.0, 25, 80.0, 90.0),
                                                  (520.0, 3, 1.0, 2.0)])
def test_expected_purchases_match_the_beta_integral(params, t, x, t_x, T):
    """Includes a = 1 exactly and just above it, where the closed form is 0/0."""
    _, alive = bgnbd_likelihood_by_integration(params, x, t_x, T)
    expected = alive * expected_given_alive_by_integration(params, t, x, T)
    assert bgnbd.expected_purchases(params, t, x, t_x, T) == pytest.approx(expected, rel=2e-7)


def test_expected_purchases_of_new_customers_match_simulation():
    """Customers drawn from the BG/NBD process, each observed for t weeks after the first
    purchase: their mean repeat count equals E[Y(t) | x = 0, t_x = 0, T = 0] within 4
    standard errors (repeats until drop-out ~ Geometric(p), while alive ~ Poisson(lambda t))."""
    r, alpha, a, b = truth = (0.8, 6.0, 1.5, 4.0)
    t = 52.0
    rng = np.random.default_rng(9)
    rate = rng.gamma(r, 1 / alpha, 400_000)
    dropout = rng.beta(a, b, 400_000)
    x = np.minimum(rng.poisson(rate * t), rng.geometric(dropout))
    expected = bgnbd.expected_purchases(truth, t, 0, 0.0, 0.0)
    assert abs(x.mean() - expected) < 4 * x.std() / math.sqrt(x.size)


@pytest.mark.parametrize(("params", "x", "T", "t"), [
    (CDNOW, 0, 0.0, 52.0), (CDNOW, 2, 38.86, 39.0), (CDNOW, 10, 20.0, 4.35),
    (SMOOTH, 1, 100.0, 260.0), ((1.5, 0.5, 0.3, 8.0), 5, 1.0, 52.0),
])
def test_remaining_factor_matches_mpmath_at_moderate_values(params, x, T, t):
    assert bgnbd.remaining_factor(params, t, x, T) == pytest.approx(
        float(mp_remaining_factor(params, t, x, T)), rel=1e-11)


@pytest.mark.parametrize(("params", "x", "T", "t"), [
    (CDNOW, 400, 60.0, 520.0),  # large x, long horizon: the direct 2F1 overflows
    ((0.5, 2.0, 3.5, 1.2), 100, 0.0, 52.0),  # z = 0.96: scipy's transformed 2F1 returns inf
    ((0.5, 2.0, 3.5, 1.2), 100, 1.0, 1000.0),
    ((4.3e6, 1e8, 6.4e-4, 5.6e3), 2, 20.0, 52.0),  # a degenerate fit (parameters at bounds)
])
def test_remaining_factor_stays_finite_where_the_direct_form_overflows(params, x, T, t):
    from scipy.special import hyp2f1

    r, alpha, a, b = params
    z = t / (alpha + T + t)
    with np.errstate(all="ignore"):
        direct = (1 - z) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)
    reference = mp_remaining_factor(params, t, x, T, dps=80)
    assert abs(mp_remaining_factor(params, t, x, T, dps=120) - reference) < 1e-30 * abs(reference)
    value = bgnbd.remaining_factor(params, t, x, T)
    assert np.isfinite(value)
    assert value == pytest.approx(float(reference), rel=1e-9)
    # The quantity that matters, c/(a-1) (1 - G), to the same relative precision.
    scale = (a + b + x - 1) / (a - 1)
    assert scale * (1 - value) == pytest.approx(float(scale * (1 - reference)), rel=1e-8)
    if params[0] < 1e6:  # the point of the exercise: the untransformed product breaks
        assert not (np.isfinite(direct) and direct == pytest.approx(float(reference), rel=1e-6))


@pytest.mark.parametrize(("A", "B", "C", "z"), [(0.5, 2.0, 3.0, 0.3), (300.0, 302.0, 301.5, 0.9),
                                                (2.5, 3.2, 103.7, 0.99), (1e3, 5.0, 4.0, 0.5)])
def test_log_hyp2f1_positive_matches_mpmath(A, B, C, z):
    with mpmath.workdps(60):
        reference = mpmath.log(mpmath.hyp2f1(A, B, C, z))
    assert bgnbd.log_hyp2f1_positive(A, B, C, z)[0] == pytest.approx(float(reference), rel=1e-12)


def test_discounted_purchases_telescope_and_discount_by_month():
    params, month = CDNOW, 365.25 / 12 / 7
    x, t_x, T = np.array([0, 2, 7]), np.array([0.0, 30.43, 50.0]), np.array([10.0, 38.86, 52.0])

    def discounted(months: int, rate: float) -> np.ndarray:
        return purchase_models.discounted_expected_purchases(
            bgnbd, params, x, t_x, T, months, rate, month)

    undiscounted = discounted(12, 0.0)
    np.testing.assert_allclose(undiscounted,
                               bgnbd.expected_purchases(params, 12 * month, x, t_x, T), rtol=1e-12)
    first = bgnbd.expected_purchases(params, month, x, t_x, T)
    second = bgnbd.expected_purchases(params, 2 * month, x, t_x, T)
    by_hand = first / 1.01 + (second - first) / 1.01**2
    np.testing.assert_allclose(discounted(2, 0.01), by_hand, rtol=1e-12)
    assert np.all(discounted(12, 0.01) < undiscounted)


# ---- Gamma-Gamma ------------------------------------------------------------------------------


@pytest.mark.parametrize(("x", "m"), [(1, 12.5), (3, 40.0), (10, 5.0)])
def test_gamma_gamma_log_likelihood_matches_integration(x, m):
    params = (6.25, 3.74, 15.44)
    density = gamma_gamma_density_by_integration(params, x, m)
    assert gamma_gamma.log_likelihood(params, x, m) == pytest.approx(math.log(density), rel=1e-8)


def test_gamma_gamma_gradient_matches_finite_differences():
    s = simulate_summaries(3000, (0.8, 3.0, 1.5, 4.0), (6.0, 4.0, 20.0), 500, seed=4)
    repeat = s.x > 0
    weights = np.random.default_rng(1).integers(1, 4, repeat.sum())
    data = gamma_gamma.GammaGammaData.build(s.x[repeat], s.spend[repeat], weights)
    for point in (np.log([6.0, 4.0, 20.0]), np.log([1.0, 2.0, 5.0]), np.log([20.0, 1.5, 100.0])):
        value, gradient = gamma_gamma.negative_log_likelihood(point, data)
        expected = -(weights @ gamma_gamma.log_likelihood(
            np.exp(point), s.x[repeat], s.spend[repeat])) / weights.sum()
        assert value == pytest.approx(expected, rel=1e-12)
        numeric = finite_difference_gradient(
            lambda p: gamma_gamma.negative_log_likelihood(p, data), point)
        np.testing.assert_allclose(gradient, numeric, rtol=1e-5, atol=1e-8)



def test_gamma_gamma_hessian_matches_finite_differences():
    s = simulate_summaries(3000, (0.8, 3.0, 1.5, 4.0), (6.0, 4.0, 20.0), 500, seed=4)
    repeat = s.x > 0
    weights = np.random.default_rng(1).integers(1, 4, repeat.sum())
    data = gamma_gamma.GammaGammaData.build(s.x[repeat], s.spend[repeat], weights)
    for point in (np.log([6.0, 4.0, 20.0]), np.log([1.0, 2.0, 5.0]), np.log([20.0, 1.5, 100.0])):
        value, gradient, hessian = gamma_gamma.negative_log_likelihood_hessian(point, data)
        plain_value, plain_gradient = gamma_gamma.negative_log_likelihood(point, data)
        assert value == pytest.approx(plain_value, rel=1e-12)
        np.testing.assert_allclose(gradient, plain_gradient, rtol=1e-12)
        numeric = finite_difference_hessian(
            lambda p: gamma_gamma.negative_log_likelihood(p, data), point)
        np.testing.assert_allclose(hessian, numeric, rtol=1e-6, atol=1e-8)


def test_large_fits_polished_by_newton_equal_plain_l_bfgs_b(monkeypatch):
    """Above SUBSAMPLE_ROWS distinct rows a fit starts from a subsample and finishes with
    Newton's method: same maximum as L-BFGS-B on all rows, same covariance as the central
    differences of the gradient."""
    s = simulate_summaries(20_000, (0.6, 5.0, 0.8, 2.5), (6.0, 4.0, 20.0), 730, seed=9,
                           whole_days=False)
    purchases = bgnbd.BgNbdData.build(s.x, s.t_x, s.T)
    repeat = s.x > 0
    spend = gamma_gamma.GammaGammaData.build(s.x[repeat], s.spend[repeat])
    plain = {"bg": bgnbd.fit(purchases), "gg": gamma_gamma.fit(spend)}
    monkeypatch.setattr(optimise, "SUBSAMPLE_ROWS", 1000)
    monkeypatch.setattr(optimise, "SUBSAMPLE_CUSTOMERS", 3000)
    polished = {"bg": bgnbd.fit(purchases), "gg": gamma_gamma.fit(spend)}
    for key, fit in polished.items():
        assert "Newton steps on all of them" in fit.message, fit.message
        assert fit.customer_count == plain[key].customer_count
        for name, value in fit.parameters.items():
            assert value == pytest.approx(plain[key].parameters[name], rel=1e-6), name
        assert fit.log_likelihood == pytest.approx(plain[key].log_likelihood, rel=1e-12)
        np.testing.assert_allclose(fit.log_covariance, plain[key].log_covariance, rtol=1e-4)


def test_a_large_fit_falls_back_to_l_bfgs_b_when_the_subsample_cannot_be_fitted(monkeypatch):
    s = simulate_summaries(3000, (0.6, 5.0, 0.8, 2.5), (6.0, 4.0, 20.0), 730, seed=9,
                           whole_days=False)
    data = bgnbd.BgNbdData.build(s.x, s.t_x, s.T)
    plain = bgnbd.fit(data)
    monkeypatch.setattr(optimise, "SUBSAMPLE_ROWS", 100)
    # an empty subsample cannot be fitted: the full fit runs instead
    monkeypatch.setattr(optimise, "SUBSAMPLE_CUSTOMERS", 0)
    fallback = bgnbd.fit(data)
    assert "Newton" not in fallback.message
    assert fallback.parameters == plain.parameters

def test_damped_newton_from_a_cold_start_equals_l_bfgs_b():
    """The subsample's warm start (damped Newton with the analytic Hessian, from the models'
    own cold start) finds the maximum L-BFGS-B finds, for both models."""
    s = simulate_summaries(4000, (0.6, 5.0, 0.8, 2.5), (6.0, 4.0, 20.0), 730, seed=11,
                           whole_days=False)
    purchases = bgnbd.BgNbdData.build(s.x, s.t_x, s.T)
    repeat = s.x > 0
    spend = gamma_gamma.GammaGammaData.build(s.x[repeat], s.spend[repeat])
    cases = {
        "bg": (bgnbd, purchases, bgnbd.fit(purchases), np.array([1.0, 8.0, 1.0, 3.0])),
        "gg": (gamma_gamma, spend, gamma_gamma.fit(spend), np.array([1.0, 2.0, 30.0])),
    }
    for key, (module, data, plain, start) in cases.items():
        newton = optimise.maximise_by_newton(
            module.MODEL, module.PARAMETER_NAMES,
            lambda v, data=data, module=module: module.negative_log_likelihood(v, data),
            lambda v, data=data, module=module: module.negative_log_likelihood_hessian(v, data),
            start, float(data.weight.sum()), data.x.size)
        assert newton.method == "damped Newton", key
        for name, value in newton.parameters.items():
            assert value == pytest.approx(plain.parameters[name], rel=1e-6), (key, name)
        assert newton.log_likelihood == pytest.approx(plain.log_likelihood, rel=1e-12), key
        np.testing.assert_allclose(newton.log_covariance, plain.log_covariance, rtol=1e-4)


def test_damped_newton_that_cannot_finish_falls_back_to_l_bfgs_b(monkeypatch):
    s = simulate_summaries(2000, (0.6, 5.0, 0.8, 2.5), (6.0, 4.0, 20.0), 730, seed=11,
                           whole_days=False)
    data = bgnbd.BgNbdData.build(s.x, s.t_x, s.T)
    start = np.array([1.0, 8.0, 1.0, 3.0])
    monkeypatch.setattr(optimise, "DAMPED_MAX_EVALUATIONS", 2)
    found = optimise.maximise_by_newton(
        bgnbd.MODEL, bgnbd.PARAMETER_NAMES,
        lambda v: bgnbd.negative_log_likelihood(v, data),
        lambda v: bgnbd.negative_log_likelihood_hessian(v, data),
        start, float(data.weight.sum()), data.x.size)
    assert found.method == "L-BFGS-B"
    assert found.parameters == optimise.maximise(
        bgnbd.MODEL, bgnbd.PARAMETER_NAMES, lambda v: bgnbd.negative_log_likelihood(v, data),
        start, float(data.weight.sum()), data.x.size).parameters


def test_the_prediction_models_import_scipy_optimize_only_for_l_bfgs_b():
    """Loading the models' code leaves scipy.optimize (0.3-0.6 s to import) unloaded; the
    large fits never need it."""
    import subprocess
    import sys

    found = subprocess.run(
        [sys.executable, "-c", "import sys, retail_tiers.lifetime.pipeline; "
         "print('scipy.optimize' in sys.modules)"],
        check=True, capture_output=True, text=True)
    assert found.stdout.strip() == "False"


def test_the_models_special_functions_are_scipys_without_its_array_api_layer():
    """In a fresh process the models load scipy's compiled special functions without
    scipy.special's array-API layer (0.15-0.3 s to import); scipy.special imported after
    them is whole and exports the very same functions, and scipy.optimize still works."""
    import subprocess
    import sys

    script = """
import sys
import numpy as np
from retail_tiers.lifetime import special
import retail_tiers.lifetime.pipeline
print('array_api' if 'scipy._lib._array_api' in sys.modules else 'no array_api')
import scipy.special
from scipy.optimize import minimize
assert special.gammaln is scipy.special.gammaln
assert special.digamma is scipy.special.digamma
assert special.expit is scipy.special.expit
assert special.hyp2f1 is scipy.special.hyp2f1
assert abs(scipy.special.polygamma(1, 2.0) - (np.pi ** 2 / 6 - 1)) < 1e-15
assert abs(minimize(lambda v: (v[0] - 3) ** 2, [0.0]).x[0] - 3) < 1e-6
print('same')
"""
    found = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert found.returncode == 0, found.stderr
    assert found.stdout.split() == ["no", "array_api", "same"]


@pytest.mark.parametrize("x", [
    np.array([1e-8, 0.003, 0.5, 1.0, 1.5, 2.0, 7.25, 30.0, 1e3, 1e7]),
    np.linspace(0.01, 200.0, 20_001),
    2.5,
])
def test_trigamma_is_scipys_polygamma_of_order_one(x):
    """The Hessians' trigamma gives polygamma(1, x)'s numbers, bit for bit, and psi'(x)
    (mpmath's, at 30 digits, on a sample; psi'(1) = pi^2 / 6)."""
    from scipy.special import polygamma

    assert np.array_equal(special.trigamma(x), polygamma(1, x))
    sample = np.atleast_1d(x)[::1000]
    with mpmath.workdps(30):
        expected = [float(mpmath.polygamma(1, mpmath.mpf(float(v)))) for v in sample]
    assert np.allclose(special.trigamma(sample), expected, rtol=1e-13, atol=0)
    assert special.trigamma(1.0) == pytest.approx(np.pi ** 2 / 6, rel=1e-15)


def test_gamma_gamma_fit_recovers_simulation_parameters():
    truth = (6.0, 4.0, 20.0)
    s = simulate_summaries(60_000, (0.8, 3.0, 1.5, 4.0), truth, 700, seed=8, whole_days=False)
    repeat = s.x > 0
    data = gamma_gamma.GammaGammaData.build(s.x[repeat], s.spend[repeat])
    fit = gamma_gamma.fit(data)
    estimate = np.log(list(fit.parameters.values()))
    errors = standard_errors(lambda p: gamma_gamma.negative_log_likelihood(p, data), estimate,
                             data.weight.sum())
    assert np.all(np.abs((estimate - np.log(truth)) / errors) < 4), (fit.parameters, errors)


@pytest.mark.parametrize(("x", "m"), [(0, 0.0), (1, 30.0), (6, 8.0)])
def test_gamma_gamma_expected_spend_is_the_posterior_mean(x, m):
    """E[next spend] = E[p / nu | data], the posterior of nu integrated numerically, is the
    closed form customer_predictions computes (test_predictions checks the mart against the
    closed form; the spend formula lives only in that SQL model)."""
    p, q, gamma = (6.25, 3.74, 15.44)

    def posterior(nu: float) -> float:
        prior = stats.gamma.pdf(nu, q, scale=1 / gamma)
        return prior if x == 0 else prior * stats.gamma.pdf(x * m, p * x, scale=1 / nu)

    mass = integrate.quad(posterior, 0, np.inf, limit=400, epsrel=1e-12)[0]
    mean = integrate.quad(lambda nu: p / nu * posterior(nu), 0, np.inf, limit=400,
                          epsrel=1e-12)[0] / mass
    assert p * (gamma + x * m) / (p * x + q - 1) == pytest.approx(mean, rel=1e-7)


# ---- failures say which model and why ----------------------------------------------------


def test_invalid_summary_is_rejected_with_the_model_name():
    with pytest.raises(LifetimeFitError, match=r"bg_nbd fit: invalid customer summary .*t_x"):
        bgnbd.BgNbdData.build([1, 2], [5.0, 9.0], [4.0, 10.0])
    with pytest.raises(LifetimeFitError, match=r"gamma_gamma fit: invalid row"):
        gamma_gamma.GammaGammaData.build([1, 2], [5.0, float("nan")])
    assert issubclass(LifetimeFitError, RetailTiersError)


def test_a_fit_that_does_not_converge_raises(monkeypatch):
    s = simulate_summaries(2000, (0.5, 4.0, 0.9, 3.0), (6.0, 4.0, 20.0), 300, seed=6)
    monkeypatch.setattr(optimise, "MAX_ITERATIONS", 2)
    with pytest.raises(LifetimeFitError, match=r"^bg_nbd fit did not converge after 2 iterations"):
        bgnbd.fit(bgnbd.BgNbdData.build(s.x, s.t_x, s.T))


def test_a_non_finite_likelihood_raises():
    data = bgnbd.BgNbdData.build([0, 1], [0.0, 1.0], [2.0, 3.0])

    def broken(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        _value, gradient = bgnbd.negative_log_likelihood(log_params, data)
        return float("nan"), gradient

    with pytest.raises(LifetimeFitError, match=r"bg_nbd fit: the log-likelihood is not finite"):
        optimise.maximise("bg_nbd", bgnbd.PARAMETER_NAMES, broken, np.ones(4), 2.0, 2)


def test_gamma_gamma_with_infinite_mean_spend_is_refused():
    s = simulate_summaries(3000, (0.8, 6.0, 1.5, 4.0), (6.0, 0.6, 75.0), 700, seed=3)
    repeat = s.x > 0
    with pytest.raises(LifetimeFitError, match=r"gamma_gamma fit: q = .* <= 1"):
        gamma_gamma.fit(gamma_gamma.GammaGammaData.build(s.x[repeat], s.spend[repeat]))


# ---- the glue the dbt Python models call ------------------------------------------------------


def summary_relation(con: duckdb.DuckDBPyConnection, rows: list[tuple]) -> duckdb.DuckDBPyRelation:
    table = pa.table({
        "repeat_purchase_day_count": pa.array([row[0] for row in rows], pa.int64()),
        "days_first_to_last_purchase": pa.array([row[1] for row in rows], pa.int64()),
        "days_since_first_purchase": pa.array([row[2] for row in rows], pa.int64()),
        "mean_repeat_day_spend_amount": pa.array([row[3] for row in rows], pa.float64()),
    })
    return con.from_arrow(table)


def test_pipeline_marks_models_without_data_and_scores_nothing():
    import datetime as dt

    con = duckdb.connect()
    summary = summary_relation(con, [(0, 0, 10, None), (0, 0, 30, None)])
    fit = pipeline.fit_models(summary, dt.date(2024, 3, 31))
    rows = {row["model"]: row for row in fit.to_pylist()}
    assert rows["bg_nbd"]["fit_status"] == rows["gamma_gamma"]["fit_status"] == "insufficient_data"
    assert rows["bg_nbd"]["r"] is None and rows["bg_nbd"]["customer_count"] == 2
    scored = pipeline.score_patterns(summary, con.from_arrow(fit), 365, 12, 0.01)
    assert scored.num_rows == 0


def test_pipeline_names_the_model_when_a_fit_fails():
    import datetime as dt

    con = duckdb.connect()
    s = simulate_summaries(3000, (0.8, 6.0, 1.5, 4.0), (6.0, 0.6, 75.0), 700, seed=3)
    rows = [(int(x), round(t_x * 7), round(T * 7), float(m) if x else None)
            for x, t_x, T, m in zip(s.x, s.t_x, s.T, s.spend, strict=True)]
    with pytest.raises(LifetimeFitError, match=r"^clv_model_fit: gamma_gamma fit: q = "):
        pipeline.fit_models(summary_relation(con, rows), dt.date(2024, 3, 31))


def test_patterns_grouped_in_numpy_equal_the_sql_grouping():
    """The distinct (x, t_x days, T days) with their counts, grouped in numpy, equal DuckDB's
    group by ... order by, also where values are too large to pack (the SQL then runs)."""
    con = duckdb.connect()
    rng = np.random.default_rng(5)
    x = rng.integers(0, 6, 5000)
    recency = np.where(x > 0, rng.integers(0, 400, 5000), 0)
    age = recency + rng.integers(0, 300, 5000)
    # a 22-bit key (sorted as uint32), a 35-bit one (int64) and one of more than 63 bits
    for big in (0, 1 << 22, 1 << 61):
        rows = [(int(a), int(b), int(c) + big, None)
                for a, b, c in zip(x, recency, age, strict=True)]
        summary = summary_relation(con, rows)
        grouped = pipeline._patterns(summary)
        by_sql = pipeline._query(summary, pipeline.BGNBD_COMBINATIONS_SQL)
        assert grouped.keys() == by_sql.keys()
        for name, column in by_sql.items():
            np.testing.assert_array_equal(grouped[name], column)
            assert grouped[name].dtype == column.dtype
        assert int(grouped["customer_count"].sum()) == len(rows)
        assert grouped["x"].size < len(rows)


@pytest.mark.parametrize("largest_days", [400, 1 << 22])
def test_distinct_pairs_from_whole_days_are_the_sorted_distinct_pairs(largest_days):
    """DistinctPairs.of_days (the scoring's table of occurring pairs, or the sort when the
    days span too widely) against sorted(set(...)) in plain Python: the distinct (x, T
    weeks) in ascending order, and each pattern's position among them."""
    rng = np.random.default_rng(11)
    x = rng.integers(0, 8, 3000)
    days = rng.integers(0, 300, 3000)
    days[:5] = largest_days
    pairs = purchase_models.DistinctPairs.of_days(x, days, 7.0)
    expected = sorted(set(zip(x.tolist(), days.tolist(), strict=True)))
    position = {pair: i for i, pair in enumerate(expected)}
    assert pairs.x.tolist() == [float(a) for a, _ in expected]
    assert pairs.T.tolist() == [b / 7.0 for _, b in expected]
    assert pairs.index.tolist() == [position[pair] for pair in zip(x.tolist(), days.tolist(),
                                                                     strict=True)]
    # what the generic constructor gives for the same patterns, array for array
    generic = purchase_models.DistinctPairs.of(x.astype(float), days / 7.0)
    for name in ("x", "T", "index"):
        np.testing.assert_array_equal(getattr(pairs, name), getattr(generic, name))


@pytest.mark.parametrize(("values", "per"), [
    (np.random.default_rng(3).integers(0, 1100, 50_000) / 7.0, 7.0),  # whole days in weeks
    (np.random.default_rng(4).integers(0, 60, 50_000).astype(float), 1.0),  # counts
    (np.array([0.0, 3.0, 3.0, 1.0, 0.0]), 1.0),
    (np.array([5.0]), 7.0),
    (np.random.default_rng(5).random(1_000) * 100, 7.0),  # not whole days: np.unique
    (np.array([1.0, 2.5, 1.0]), 1.0),  # not whole numbers: np.unique
    (np.array([3.0, 1e9, 3.0]), 1.0),  # too wide a span for the table: np.unique
    (np.array([2.0, np.nan, 2.0]), 1.0),
    (np.array([-7.0, 0.0, 7.0]) / 7.0, 7.0),  # negative: np.unique
])
def test_unique_with_inverse_gives_what_np_unique_gives(values, per):
    from retail_tiers.lifetime.arrays import unique_with_inverse

    distinct, inverse = unique_with_inverse(values, per=per)
    expected_distinct, expected_inverse = np.unique(values, return_inverse=True)
    assert distinct.dtype == expected_distinct.dtype and inverse.dtype == expected_inverse.dtype
    assert np.array_equal(distinct, expected_distinct, equal_nan=True)
    assert np.array_equal(inverse, expected_inverse)
    assert np.array_equal(distinct[inverse], values, equal_nan=True)
