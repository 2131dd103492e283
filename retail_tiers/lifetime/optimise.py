"""Maximum likelihood on log-parameters with bounded L-BFGS-B, shared by both models.

Each model supplies `objective(log_params) -> (mean negative log-likelihood, gradient with
respect to the log-parameters)`. Working on log-parameters keeps every parameter positive
without constraints and makes the scales comparable; the box bounds only stop the search
from running off to 0 or infinity on degenerate data.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from retail_tiers.errors import RetailTiersError

Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]

# exp(-18.42) ~ 1e-8 and exp(18.42) ~ 1e8: far outside any sensible fit, inside float range.
LOG_BOUND = 18.42
# A line-search stop with a gradient this small (per customer, log scale) is a converged fit.
GRADIENT_TOLERANCE = 1e-5
MAX_ITERATIONS = 2000


class LifetimeFitError(RetailTiersError):
    """A fit that failed or produced non-finite numbers; the message names model and cause."""


@dataclass(frozen=True)
class FitResult:
    """One fitted model. `log_likelihood` is the total over customers (not the mean)."""

    model: str
    parameters: dict[str, float]
    log_likelihood: float
    customer_count: int
    distinct_combination_count: int
    converged: bool
    iteration_count: int
    seconds: float
    message: str
    # Covariance of the log-parameters at the optimum: the inverse observed information
    # (Hessian of the total negative log-likelihood); None when that is not positive definite
    # (e.g. a parameter at its search bound).
    log_covariance: np.ndarray | None = None


def maximise(
    model: str,
    names: tuple[str, ...],
    objective: Objective,
    start: np.ndarray,
    total_weight: float,
    distinct_count: int,
) -> FitResult:
    """Minimise the mean negative log-likelihood; raise LifetimeFitError unless it converged.

    `start` holds the starting parameters (natural scale). Converged means L-BFGS-B reported
    success, or stopped in its line search at a point whose projected gradient is below
    GRADIENT_TOLERANCE (the float limit of a mean log-likelihood, not a failure).
    """
    started = time.perf_counter()
    x0 = np.clip(np.log(np.asarray(start, dtype=float)), -LOG_BOUND + 1, LOG_BOUND - 1)
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(names)
    with np.errstate(all="ignore"):
        result = minimize(
            objective,
            x0,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": MAX_ITERATIONS, "ftol": 1e-15, "gtol": 1e-9, "maxcor": 20},
        )
        value, gradient = objective(result.x)
    seconds = time.perf_counter() - started
    projected = _projected_gradient(result.x, gradient, LOG_BOUND)
    parameters = dict(zip(names, np.exp(result.x).tolist(), strict=True))
    if not (np.isfinite(value) and np.all(np.isfinite(result.x)) and np.all(np.isfinite(gradient))):
        raise LifetimeFitError(
            f"{model} fit: the log-likelihood is not finite at {_show(parameters)} "
            f"after {result.nit} iterations"
        )
    converged = bool(result.success) or float(np.max(np.abs(projected))) < GRADIENT_TOLERANCE
    if not converged:
        raise LifetimeFitError(
            f"{model} fit did not converge after {result.nit} iterations "
            f"({_message(result.message)}; largest gradient {np.max(np.abs(projected)):.2e}) "
            f"at {_show(parameters)}"
        )
    at_bound = [name for name, value in zip(names, result.x, strict=True)
                if abs(value) > LOG_BOUND - 0.01]
    message = _message(result.message)
    if not result.success:
        message = (f"line search could not improve further with the largest projected gradient "
                   f"at {np.max(np.abs(projected)):.1e} (converged)")
    if at_bound:
        message += (f"; {', '.join(at_bound)} at the search bound (the data cannot pin it down: "
                    "the model is in its limiting form)")
    return FitResult(
        log_covariance=log_covariance(objective, result.x, total_weight),
        model=model,
        parameters=parameters,
        log_likelihood=-float(value) * total_weight,
        customer_count=round(total_weight),
        distinct_combination_count=int(distinct_count),
        converged=converged,
        iteration_count=int(result.nit),
        seconds=seconds,
        message=message,
    )


HESSIAN_STEP = 1e-4


def log_covariance(objective: Objective, log_params: np.ndarray,
                   total_weight: float) -> np.ndarray | None:
    """Inverse of the observed information in the log-parameters: the Hessian of the total
    negative log-likelihood by central differences of the objective's gradient, symmetrised.
    None when it is not finite or not positive definite."""
    size = log_params.size
    hessian = np.zeros((size, size))
    with np.errstate(all="ignore"):
        for i in range(size):
            step = np.zeros(size)
            step[i] = HESSIAN_STEP
            hessian[:, i] = (objective(log_params + step)[1]
                             - objective(log_params - step)[1]) / (2 * HESSIAN_STEP)
    information = total_weight * (hessian + hessian.T) / 2
    if not np.all(np.isfinite(information)):
        return None
    try:
        np.linalg.cholesky(information)
    except np.linalg.LinAlgError:
        return None
    return np.linalg.inv(information)


def _projected_gradient(x: np.ndarray, gradient: np.ndarray, bound: float) -> np.ndarray:
    """The gradient with components pointing out of the box at an active bound set to 0."""
    projected = gradient.copy()
    at_lower = (x <= -bound + 1e-9) & (gradient > 0)
    at_upper = (x >= bound - 1e-9) & (gradient < 0)
    projected[at_lower | at_upper] = 0.0
    return projected


def _message(message: object) -> str:
    text = message.decode() if isinstance(message, bytes) else str(message)
    return text.strip().lower()


def _show(parameters: dict[str, float]) -> str:
    return ", ".join(f"{name} = {value:.6g}" for name, value in parameters.items())
