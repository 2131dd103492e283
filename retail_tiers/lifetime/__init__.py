"""Predicted purchases, churn probability and lifetime value: BG/NBD or Pareto/NBD, with
Gamma-Gamma for spend.

Modules: `bgnbd` and `pareto_nbd` (purchase and drop-out models: likelihood, fit, P(alive),
expected purchases, next purchase), `purchase_models` (what both share: discounting, next
purchase median, delta-method intervals, choosing one), `gamma_gamma` (spend model),
`optimise` (shared maximum-likelihood driver, observed information, the fit error),
`pipeline` (what the dbt Python models call), `simulate` (draws from BG/NBD and Gamma-Gamma).
Pure numpy / scipy.
"""

from retail_tiers.lifetime.optimise import FitResult, LifetimeFitError

__all__ = ["FitResult", "LifetimeFitError"]
