"""Pareto/NBD (retail_tiers.lifetime.pareto_nbd) against independent computations.

The log-likelihood is checked against the published closed form (Fader & Hardie 2005, "A
Note on Deriving the Pareto/NBD Model", eq. 22) evaluated by mpmath at 50 digits, including
the patterns that overflow it in double precision (lifetimes #25, pymc-marketing #127): very
large x, t_x = T, huge T, alpha far from beta either way. Expected purchases are checked
against a one-dimensional integral that needs no hypergeometric function.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from scipy import integrate

from retail_tiers.lifetime import pareto_nbd, purchase_models

CDNOW = (0.553, 10.578, 0.606, 11.669)  # published MLE on the CDNOW sample


def published_log_likelihood(params, x, t_x, T) -> float:
    """ln L by the published closed form with its case split on alpha >= beta, at 50 digits."""
    with mpmath.workdps(50):
        r, alpha, s, beta = (mpmath.mpf(v) for v in params)
        x, t_x, T = mpmath.mpf(x), mpmath.mpf(t_x), mpmath.mpf(T)
        rho = r + s + x
        if alpha >= beta:
            def f(u):
                return mpmath.hyp2f1(rho, s + 1, rho + 1, (alpha - beta) / (alpha + u)) / (
                    (alpha + u) ** rho)
        else:
            def f(u):
                return mpmath.hyp2f1(rho, r + x, rho + 1, (beta - alpha) / (beta + u)) / (
                    (beta + u) ** rho)
        a0 = f(t_x) - f(T)
        value = (mpmath.loggamma(r + x) - mpmath.loggamma(r) + r * mpmath.log(alpha)
                 + s * mpmath.log(beta)
                 + mpmath.log((alpha + T) ** -(r + x) * (beta + T) ** -s + s / rho * a0))
        return float(value)


PATTERNS = [
    (0, 0.0, 38.86),  # one purchase only
    (2, 30.43, 38.86),  # the published example customer
    (1, 38.86, 38.86),  # t_x = T
    (50, 20.0, 60.0),
    (400, 77.0, 78.0),
    (10_000, 2999.0, 3000.0),  # very large x
    (3, 5.0, 1e6),  # huge T
    (100_000, 1e6, 1e6),  # both, and t_x = T
]


@pytest.mark.parametrize("params", [CDNOW, (0.55, 12.0, 0.61, 3.0), (2.0, 1.0, 0.5, 50.0),
                                    (0.3, 1e4, 0.2, 0.01)])
@pytest.mark.parametrize(("x", "t_x", "T"), PATTERNS)
def test_log_likelihood_matches_the_published_form_at_high_precision(params, x, t_x, T):
    found = pareto_nbd.log_likelihood(params, x, t_x, T)
    assert np.isfinite(found)
    assert float(found) == pytest.approx(published_log_likelihood(params, x, t_x, T), rel=1e-10)


def test_p_alive_is_one_when_the_last_purchase_is_now_and_falls_with_silence():
    assert pareto_nbd.p_alive(CDNOW, 5, 38.86, 38.86) == pytest.approx(1.0)
    silence = pareto_nbd.p_alive(CDNOW, 5, np.array([38.0, 30.0, 20.0, 10.0]), 38.86)
    assert np.all(np.diff(silence) < 0) and np.all((silence > 0) & (silence < 1))
    extreme = pareto_nbd.p_alive(CDNOW, 100_000, 1.0, 1e6)
    assert np.isfinite(extreme) and 0 <= extreme < 1e-12


@pytest.mark.parametrize(("x", "T", "t"), [(0, 0.0, 39.0), (2, 38.86, 39.0), (40, 70.0, 52.0)])
@pytest.mark.parametrize("s", [0.606, 1.0, 1.0 + 1e-12, 2.5])
def test_expected_purchases_if_alive_matches_an_integral(x, T, t, s):
    """Alive at T: lambda ~ Gamma(r+x, alpha+T) and mu ~ Gamma(s, beta+T), independent, so
    E[purchases in t] = E[lambda] * E[time alive within t]
                      = (r+x)/(alpha+T) * integral_0^t ((beta+T)/(beta+T+u))^s du."""
    r, alpha, _, beta = CDNOW
    alive_time, _ = integrate.quad(lambda u: ((beta + T) / (beta + T + u)) ** s, 0, t,
                                   epsabs=0, epsrel=1e-12)
    expected = (r + x) / (alpha + T) * alive_time
    found = pareto_nbd.expected_purchases_if_alive((r, alpha, s, beta), t, x, T)
    assert float(found) == pytest.approx(expected, rel=1e-9)


def test_new_customer_expectation_is_the_published_unconditional_form():
    """E[X(t)] = r beta / (alpha (s - 1)) (1 - (beta / (beta + t))^(s-1))."""
    r, alpha, s, beta = CDNOW
    t = np.array([1.0, 39.0, 78.0])
    by_formula = r * beta / (alpha * (s - 1)) * (1 - (beta / (beta + t)) ** (s - 1))
    found = purchase_models.expected_purchases_new_customer(pareto_nbd, CDNOW, t)
    np.testing.assert_allclose(found, by_formula, rtol=1e-12)


def simulate(customers: int, params, max_age_weeks: float, seed: int):
    """Pareto/NBD customers, drawn here (not with the code under test): lambda ~ Gamma(r,
    rate alpha), lifetime ~ Exponential(mu), mu ~ Gamma(s, rate beta); N ~ Poisson(lambda
    * time observed alive) purchases uniform over that time; whole days."""
    r, alpha, s, beta = params
    rng = np.random.default_rng(seed)
    T = np.floor(rng.uniform(1, max_age_weeks * 7, customers)) / 7
    lam = rng.gamma(r, 1 / alpha, customers)
    lifetime = rng.exponential(1 / rng.gamma(s, 1 / beta, customers))
    observed = np.minimum(lifetime, T)
    x = rng.poisson(lam * observed)
    t_x = np.where(x > 0, observed * rng.beta(np.maximum(x, 1), 1), 0.0)
    return x, np.floor(t_x * 7) / 7, T


def test_fit_recovers_simulated_parameters_and_weights_count_customers():
    truth = (0.8, 8.0, 0.7, 12.0)
    x, t_x, T = simulate(30_000, truth, 78, seed=11)
    rows, counts = np.unique(np.column_stack([x, t_x, T]), axis=0, return_counts=True)
    weighted = pareto_nbd.fit(rows[:, 0], rows[:, 1], rows[:, 2], counts)
    assert weighted.customer_count == 30_000 and weighted.distinct_combination_count == len(rows)
    for name, value in zip(pareto_nbd.PARAMETER_NAMES, truth, strict=True):
        assert weighted.parameters[name] == pytest.approx(value, rel=0.25), name
    at_truth = float(pareto_nbd.log_likelihood(truth, x, t_x, T).sum())
    assert at_truth < weighted.log_likelihood
    # The same 3,000 customers one row each and as weighted distinct rows: the same fit.
    few = np.column_stack([x, t_x, T])[:3000]
    rows, counts = np.unique(few, axis=0, return_counts=True)
    unweighted = pareto_nbd.fit(few[:, 0], few[:, 1], few[:, 2])
    weighted = pareto_nbd.fit(rows[:, 0], rows[:, 1], rows[:, 2], counts)
    assert unweighted.log_likelihood == pytest.approx(weighted.log_likelihood, abs=1e-4)


def test_selection_prefers_the_smaller_absolute_holdout_error():
    model, basis, why = purchase_models.select(
        "auto", {"bg_nbd": -0.121, "pareto_nbd": 0.05}, 39)
    assert (model, basis) == ("pareto_nbd", "holdout_error")
    assert why == ("smaller error over the 39-week holdout: Pareto/NBD +5.0% vs BG/NBD -12.1%")
    model, basis, why = purchase_models.select("auto", {"bg_nbd": None, "pareto_nbd": None}, 0)
    assert (model, basis) == ("bg_nbd", "default") and "no holdout" in why
    assert purchase_models.select("auto", {"bg_nbd": 0.3, "pareto_nbd": 0.01}, 26,
                                  ["bg_nbd"])[:2] == ("bg_nbd", "only_fitted")
    assert purchase_models.select("pareto_nbd", {}, 0)[0] == "pareto_nbd"
    with pytest.raises(purchase_models.LifetimeFitError, match="clv_purchase_model"):
        purchase_models.select("bgnbd", {}, 0)


def test_too_many_patterns_skip_the_fit_by_count_not_by_time(monkeypatch):
    """Whether Pareto/NBD is fitted depends on the number of distinct patterns only, never on
    how long an evaluation took, so a busy machine cannot change a build's predictions."""
    from retail_tiers.lifetime.optimise import LifetimeFitError

    x = np.arange(12, dtype=float) % 4
    t_x = np.where(x > 0, np.arange(12, dtype=float) + 1.0, 0.0)
    T = np.full(12, 40.0)
    monkeypatch.setattr(pareto_nbd, "MAX_PATTERNS", 11)
    with pytest.raises(LifetimeFitError, match=r"skipped: 12 distinct purchase patterns"):
        pareto_nbd.fit(x, t_x, T)
    monkeypatch.setattr(pareto_nbd, "MAX_PATTERNS", 12)
    try:
        pareto_nbd.fit(x, t_x, T)
    except LifetimeFitError as error:  # a fit may still fail on 12 patterns, but not skip
        assert "skipped" not in str(error)
