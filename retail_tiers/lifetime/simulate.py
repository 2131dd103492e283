"""Draw customer summaries (x, t_x, T, mean spend) from the BG/NBD and Gamma-Gamma processes.

Used by the benchmark and the tests. Exact and vectorised: with lambda the customer's
purchase rate, the always-alive process has N ~ Poisson(lambda T) purchases in (0, T]; the
customer dies right after repeat purchase D ~ Geometric(p) (support 1, 2, ...), so
x = min(N, D); given N = n, the purchase times are n uniform order statistics on (0, T], so
t_x = T * Beta(x, n - x + 1). The mean of x Gamma(p_s, nu) spends is Gamma(p_s x, x nu).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Summaries:
    x: np.ndarray  # int64
    t_x: np.ndarray  # weeks
    T: np.ndarray  # weeks
    spend: np.ndarray  # mean spend of the x repeat purchases (0 when x = 0)


def simulate_summaries(
    customers: int,
    bgnbd_params: tuple[float, float, float, float],
    gamma_gamma_params: tuple[float, float, float],
    max_age_days: int,
    seed: int = 0,
    whole_days: bool = True,
) -> Summaries:
    """Customers whose first purchase is uniform over the last `max_age_days` days.

    With `whole_days` the times are cut to whole days (as the warehouse records them), so
    many customers share a (x, t_x, T) combination, as in real data.
    """
    r, alpha, a, b = bgnbd_params
    p_spend, q_spend, gamma_spend = gamma_gamma_params
    rng = np.random.default_rng(seed)
    age_days = rng.uniform(0, max_age_days, customers)
    if whole_days:
        age_days = np.floor(age_days)
    T = age_days / 7.0
    rate = rng.gamma(r, 1.0 / alpha, customers)
    dropout = rng.beta(a, b, customers)
    purchases_if_alive = rng.poisson(rate * T)
    death_after = rng.geometric(dropout)
    x = np.minimum(purchases_if_alive, death_after)
    repeat = x > 0
    t_x = np.zeros(customers)
    t_x[repeat] = T[repeat] * rng.beta(
        x[repeat], purchases_if_alive[repeat] - x[repeat] + 1
    )
    if whole_days:
        t_x = np.floor(t_x * 7.0) / 7.0
    nu = rng.gamma(q_spend, 1.0 / gamma_spend, customers)
    spend = np.zeros(customers)
    spend[repeat] = rng.gamma(p_spend * x[repeat], 1.0 / (x[repeat] * nu[repeat]))
    return Summaries(x=x.astype(np.int64), t_x=t_x, T=T, spend=spend)
