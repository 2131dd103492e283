"""P(a purchase within t days) and the median time to the next purchase, for both purchase
models, against a Monte Carlo simulation of the models written here (not the simulator under
test) and a hand-worked case.

The simulation uses the models' memorylessness: a customer alive at T buys next after an
exponential time with their own rate (BG/NBD: drop-out only follows a purchase, so the next
purchase always comes; Pareto/NBD: it comes if it falls before their exponential lifetime
ends). Each simulated customer's predicted probability is compared with whether they did buy:
the averages must agree within 4 binomial standard errors, overall and per frequency, and
exactly half the customers with a median should buy before it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from retail_tiers.lifetime import bgnbd, pareto_nbd, purchase_models
from retail_tiers.lifetime.simulate import simulate_summaries

BGNBD = (0.2426, 4.4136, 0.7929, 2.4259)  # CDNOW, Fader, Hardie & Lee 2005
PARETO = (0.553, 10.578, 0.606, 11.669)  # CDNOW, Fader & Hardie
CUSTOMERS = 200_000


def simulate_bgnbd(params, seed: int):
    """(x, t_x, T, weeks to the next purchase after T, inf if never)."""
    r, alpha, a, b = params
    rng = np.random.default_rng(seed)
    T = rng.uniform(1, 52, CUSTOMERS)
    lam = rng.gamma(r, 1 / alpha, CUSTOMERS)
    n = rng.poisson(lam * T)  # purchases of the never-dying process in (0, T]
    dies_after = rng.geometric(rng.beta(a, b, CUSTOMERS))  # dies right after this repeat
    x = np.minimum(n, dies_after)
    alive = n < dies_after
    t_x = np.where(x > 0, T * rng.beta(np.maximum(x, 1), n - x + 1), 0.0)
    wait = np.where(alive, rng.exponential(1 / lam), np.inf)
    return x, t_x, T, wait


def simulate_pareto(params, seed: int):
    r, alpha, s, beta = params
    rng = np.random.default_rng(seed)
    T = rng.uniform(1, 52, CUSTOMERS)
    lam = rng.gamma(r, 1 / alpha, CUSTOMERS)
    lifetime = rng.exponential(1 / rng.gamma(s, 1 / beta, CUSTOMERS))
    seen = np.minimum(lifetime, T)
    x = rng.poisson(lam * seen)
    t_x = np.where(x > 0, seen * rng.beta(np.maximum(x, 1), 1), 0.0)
    wait = rng.exponential(1 / lam)
    wait = np.where((lifetime > T) & (T + wait < lifetime), wait, np.inf)
    return x, t_x, T, wait


def assert_close_in_mean(predicted: np.ndarray, happened: np.ndarray) -> None:
    standard_error = math.sqrt(float(np.sum(predicted * (1 - predicted)))) / predicted.size
    assert abs(float(happened.mean() - predicted.mean())) < 4 * standard_error + 1e-4


@pytest.mark.parametrize(("model", "params", "simulate"), [
    (bgnbd, BGNBD, simulate_bgnbd), (pareto_nbd, PARETO, simulate_pareto)])
def test_purchase_within_days_matches_simulation(model, params, simulate):
    x, t_x, T, wait = simulate(params, seed=3)
    for days in (30, 90):
        predicted = purchase_models.p_purchase_within(model, params, days / 7, x, t_x, T)
        happened = wait <= days / 7
        assert_close_in_mean(predicted, happened)
        for group in (x == 0, x == 1, (x >= 2) & (x <= 4), x >= 5):
            assert_close_in_mean(predicted[group], happened[group])


@pytest.mark.parametrize(("model", "params", "simulate"), [
    (bgnbd, BGNBD, simulate_bgnbd), (pareto_nbd, PARETO, simulate_pareto)])
def test_half_the_customers_buy_before_their_median(model, params, simulate):
    x, t_x, T, wait = simulate(params, seed=4)
    repeaters = x > 0  # BG/NBD gives x = 0 customers P(alive) = 1 and medians of years
    median = purchase_models.median_time_to_next_purchase(
        model, params, x[repeaters], t_x[repeaters], T[repeaters])
    has_median = np.isfinite(median)
    assert 0.05 < has_median.mean() < 0.95  # both kinds are present
    bought = wait[repeaters][has_median] <= median[has_median]
    assert_close_in_mean(np.full(bought.size, 0.5), bought)
    # Without a median, the chance of ever buying again is at most 1/2; they rarely do.
    never = ~has_median
    ever = purchase_models.p_purchase_within(
        model, params, np.inf, x[repeaters][never], t_x[repeaters][never], T[repeaters][never])
    assert np.all(ever <= 0.5 + 1e-12)
    assert_close_in_mean(ever, np.isfinite(wait[repeaters][never]))


def test_hand_worked_bgnbd_customer():
    """x = 2, t_x = 30.43, T = 38.86 weeks with the published CDNOW parameters:
    P(alive) = 1 / (1 + a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)) = 0.7266;
    P(buy within 30 days) = P(alive) (1 - ((alpha+T)/(alpha+T+30/7))^(r+x)) = 0.1387;
    the median t solves P(alive) (1 - ((alpha+T)/(alpha+T+t))^(r+x)) = 1/2:
    t = (alpha+T) ((1 - 1/(2 P(alive)))^(-1/(r+x)) - 1) = 29.48 weeks = 206.4 days."""
    r, alpha, a, b = BGNBD
    x, t_x, T = 2, 30.43, 38.86
    alive = 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))
    within_30 = alive * (1 - ((alpha + T) / (alpha + T + 30 / 7)) ** (r + x))
    median = (alpha + T) * ((1 - 1 / (2 * alive)) ** (-1 / (r + x)) - 1)
    assert (round(alive, 4), round(within_30, 4), round(median, 2)) == (0.7266, 0.1387, 29.48)
    assert float(purchase_models.p_purchase_within(bgnbd, BGNBD, 30 / 7, x, t_x, T)) == (
        pytest.approx(within_30, rel=1e-12))
    assert float(purchase_models.median_time_to_next_purchase(bgnbd, BGNBD, x, t_x, T)) == (
        pytest.approx(median, rel=1e-8))


def test_no_median_when_buying_again_is_unlikely():
    # Long silence after a busy start: P(alive) far below 1/2.
    assert np.isnan(purchase_models.median_time_to_next_purchase(bgnbd, BGNBD, 10, 5.0, 52.0))
    assert np.isnan(purchase_models.median_time_to_next_purchase(pareto_nbd, PARETO, 10, 5.0,
                                                                 52.0))


def test_bgnbd_closed_form_median_equals_bisection():
    """BG/NBD's median comes in closed form; the generic bisection agrees."""
    s = simulate_summaries(2000, BGNBD, (6.0, 4.0, 20.0), 400, seed=21)
    alive = bgnbd.p_alive(BGNBD, s.x, s.t_x, s.T)
    has_median = alive > 0.5
    assert has_median.mean() > 0.1
    x, T, alive = s.x[has_median].astype(float), s.T[has_median], alive[has_median]
    closed = purchase_models.median_time_to_next_purchase(
        bgnbd, BGNBD, x, s.t_x[has_median], T)
    bisected = purchase_models.median_by_bisection(bgnbd, BGNBD, x, T, alive)
    np.testing.assert_allclose(closed, bisected, rtol=2e-9)
