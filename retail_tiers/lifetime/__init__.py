"""Predicted purchases, churn probability and lifetime value: BG/NBD + Gamma-Gamma.

Modules: `bgnbd` (purchase and drop-out model: likelihood, gradient, fit, P(alive),
expected purchases), `gamma_gamma` (spend model), `optimise` (shared maximum-likelihood
driver and the fit error), `pipeline` (what the dbt Python models call), `simulate`
(draws from both processes), `benchmark` (1M-customer timing). Pure numpy / scipy.
"""

from retail_tiers.lifetime.optimise import FitResult, LifetimeFitError

__all__ = ["FitResult", "LifetimeFitError"]
