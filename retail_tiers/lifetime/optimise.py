"""Maximum likelihood on log-parameters with bounded L-BFGS-B, shared by the models.

Each model supplies `objective(log_params) -> (mean negative log-likelihood, gradient with
respect to the log-parameters)`. Working on log-parameters keeps every parameter positive
without constraints and makes the scales comparable; the box bounds only stop the search
from running off to 0 or infinity on degenerate data.

Large data (BG/NBD and Gamma-Gamma with more than SUBSAMPLE_ROWS distinct rows) is fitted
in two steps, `maximise_large`: a fit on a random subsample of the customers gives a start
close to the answer, and Newton's method with the model's analytic Hessian polishes it on
the full data in a few evaluations (quadratic convergence) instead of the 30-40 that
L-BFGS-B needs from a cold start. The subsample is fitted by damped Newton
(`maximise_by_newton`, Levenberg-Marquardt damping of the same analytic Hessian), with
L-BFGS-B when that cannot finish. Where the polish cannot finish (a Hessian that is not
positive definite, a parameter near its search bound, too many steps), the plain L-BFGS-B
fit on the full data runs instead, so the answer never depends on the shortcut.

scipy.optimize (L-BFGS-B) is imported only when L-BFGS-B runs: importing it costs a fresh
process 0.3-0.6 s, more than a large fit that never needs it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from retail_tiers.errors import RetailTiersError

Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]
# log_params -> (mean negative log-likelihood, its gradient, its Hessian), log-parameters.
SecondOrder = Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]]

# exp(-18.42) ~ 1e-8 and exp(18.42) ~ 1e8: far outside any sensible fit, inside float range.
LOG_BOUND = 18.42
# A line-search stop with a gradient this small (per customer, log scale) is a converged fit.
GRADIENT_TOLERANCE = 1e-5
MAX_ITERATIONS = 2000
# Above this many distinct rows the fit starts from a fit on a subsample (maximise_large).
SUBSAMPLE_ROWS = 50_000
# About this many customers are drawn for that subsample: the start is then within a few
# standard errors of a 30,000-customer fit, which Newton's method closes in 3-5 steps.
SUBSAMPLE_CUSTOMERS = 30_000
SUBSAMPLE_SEED = 17
# Newton's method stops when its next step moves no log-parameter by more than this (the
# parameters are then this close, relatively, to the maximum; the step after would be ~its
# square), or gives up after NEWTON_MAX_STEPS.
NEWTON_STEP_TOLERANCE = 1e-9
NEWTON_MAX_STEPS = 25
# A Newton step that moves no log-parameter by more than this is taken without evaluating
# the likelihood at its end: this close to the maximum Newton's method converges
# quadratically, so the point it reaches is within about the step's square of the maximum,
# far inside NEWTON_STEP_TOLERANCE, and the evaluation there (on all the customers) would
# only confirm it. The log-likelihood and the information reported are those of the point
# the step starts from (they differ from the end's by about the step).
NEWTON_FINAL_STEP = 1e-7


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
    # How the maximum was found (named in the message of a fit it was the warm start of).
    method: str = "L-BFGS-B"


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
    from scipy.optimize import minimize  # see the module docstring

    started = time.perf_counter()
    x0 = _log_start(start)
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


def _log_start(start: np.ndarray) -> np.ndarray:
    return np.clip(np.log(np.asarray(start, dtype=float)), -LOG_BOUND + 1, LOG_BOUND - 1)


def subsample_weights(weight: np.ndarray) -> np.ndarray:
    """Each row's weight thinned at random to a sample of about SUBSAMPLE_CUSTOMERS customers
    (each customer kept with the same chance, independently; fractional weights are
    rounded); a row nobody was drawn from gets 0. Seeded, so a build is repeatable."""
    share = min(1.0, SUBSAMPLE_CUSTOMERS / max(float(weight.sum()), 1.0))
    counts = np.maximum(np.rint(weight), 0).astype(np.int64)
    return np.random.default_rng(SUBSAMPLE_SEED).binomial(counts, share).astype(float)


def maximise_large(
    model: str,
    names: tuple[str, ...],
    objective: Objective,
    second_order: SecondOrder,
    start: np.ndarray,
    total_weight: float,
    distinct_count: int,
    subsample_fit: Callable[[], FitResult],
) -> FitResult:
    """The fit of a large data set: `subsample_fit()` (an ordinary fit on a subsample of the
    customers) gives the start, Newton's method with the analytic Hessian (`second_order`)
    finishes on the full data. Falls back to `maximise` from `start` on the full data when
    the subsample fit fails or the polish cannot finish."""
    started = time.perf_counter()
    try:
        warm = subsample_fit()
    except LifetimeFitError:
        warm = None
    if warm is not None:
        polished = _newton(model, names, second_order,
                           _log_start(np.array([warm.parameters[n] for n in names])),
                           total_weight, distinct_count, started, warm.iteration_count,
                           warm.method)
        if polished is not None:
            return polished
    return maximise(model, names, objective, start, total_weight, distinct_count)


def _newton(
    model: str,
    names: tuple[str, ...],
    second_order: SecondOrder,
    log_params: np.ndarray,
    total_weight: float,
    distinct_count: int,
    started: float,
    warm_iterations: int,
    warm_method: str = "L-BFGS-B",
) -> FitResult | None:
    """Newton's method with a backtracking line search from `log_params`; the FitResult when
    it converges inside the search box with a positive definite Hessian, None otherwise."""
    with np.errstate(all="ignore"):
        value, gradient, hessian = second_order(log_params)
        for step_number in range(1, NEWTON_MAX_STEPS + 1):
            if not (np.isfinite(value) and np.all(np.isfinite(gradient))
                    and np.all(np.isfinite(hessian))):
                return None
            try:
                np.linalg.cholesky(hessian)
            except np.linalg.LinAlgError:
                return None
            step = -np.linalg.solve(hessian, gradient)
            largest = float(np.max(np.abs(step)))
            if largest < NEWTON_FINAL_STEP:
                if largest >= NEWTON_STEP_TOLERANCE:
                    log_params = log_params + step
                if float(np.max(np.abs(log_params))) > LOG_BOUND - 1:
                    return None
                information = total_weight * (hessian + hessian.T) / 2
                return FitResult(
                    log_covariance=np.linalg.inv(information),
                    model=model,
                    parameters=dict(zip(names, np.exp(log_params).tolist(), strict=True)),
                    log_likelihood=-float(value) * total_weight,
                    customer_count=round(total_weight),
                    distinct_combination_count=int(distinct_count),
                    converged=True,
                    iteration_count=warm_iterations + step_number,
                    seconds=time.perf_counter() - started,
                    message=(f"converged: {warm_method} on a subsample of the customers "
                             f"({warm_iterations} iterations), then {step_number} Newton "
                             f"steps on all of them (last step {largest:.1g}, below "
                             f"{NEWTON_FINAL_STEP:g})"),
                )
            shrink = 1.0
            while True:
                candidate = log_params + shrink * step
                found = second_order(candidate)
                # Armijo: accept a step that lowers the value by a share of the predicted fall
                # (give or take the rounding of a mean log-likelihood near its maximum).
                if np.isfinite(found[0]) and found[0] <= (
                        value + 1e-4 * shrink * (gradient @ step) + 1e-14 * abs(value)):
                    break
                shrink /= 2
                if shrink < 1e-6:
                    return None
            log_params = candidate
            value, gradient, hessian = found
    return None


# Damped Newton (maximise_by_newton) gives up after this many Hessian evaluations, or when
# the damping needed to go downhill passes DAMPING_LIMIT (times the Hessian's scale); a step
# moves no log-parameter by more than MAX_LOG_STEP (a factor e^3 on the parameter).
DAMPED_MAX_EVALUATIONS = 200
DAMPING_LIMIT = 1e10
MAX_LOG_STEP = 3.0


def maximise_by_newton(
    model: str,
    names: tuple[str, ...],
    objective: Objective,
    second_order: SecondOrder,
    start: np.ndarray,
    total_weight: float,
    distinct_count: int,
) -> FitResult:
    """The maximum likelihood fit by Newton's method with Levenberg-Marquardt damping from
    `start` (natural scale): each step solves (H + mu I) step = -gradient with the damping
    mu raised until H + mu I is positive definite and the step lowers the value (Armijo),
    and lowered again after a step that does, so near the maximum the steps are Newton's
    own. It stops when a step moves no log-parameter by more than NEWTON_STEP_TOLERANCE
    with no damping at an interior point with a positive definite Hessian; otherwise
    (too many evaluations, a search bound, values that are not finite) `maximise`
    (L-BFGS-B) fits from `start` instead."""
    started = time.perf_counter()
    found = _damped_newton(second_order, _log_start(start))
    if found is None:
        return maximise(model, names, objective, start, total_weight, distinct_count)
    log_params, value, hessian, steps = found
    return FitResult(
        log_covariance=np.linalg.inv(total_weight * (hessian + hessian.T) / 2),
        model=model,
        parameters=dict(zip(names, np.exp(log_params).tolist(), strict=True)),
        log_likelihood=-float(value) * total_weight,
        customer_count=round(total_weight),
        distinct_combination_count=int(distinct_count),
        converged=True,
        iteration_count=steps,
        seconds=time.perf_counter() - started,
        message=f"converged: damped Newton, {steps} steps (last step below "
                f"{NEWTON_STEP_TOLERANCE:g})",
        method="damped Newton",
    )


def _damped_newton(
    second_order: SecondOrder, log_params: np.ndarray
) -> tuple[np.ndarray, float, np.ndarray, int] | None:
    """(log-parameters, value, Hessian, accepted steps) at the minimum found by damped
    Newton from `log_params`, or None (see maximise_by_newton)."""
    size = log_params.size
    evaluations = 1
    steps = 0
    with np.errstate(all="ignore"):
        value, gradient, hessian = second_order(log_params)
        damping = 0.0
        while evaluations < DAMPED_MAX_EVALUATIONS:
            if not (np.isfinite(value) and np.all(np.isfinite(gradient))
                    and np.all(np.isfinite(hessian))):
                return None
            scale = max(float(np.max(np.abs(np.diag(hessian)))), 1e-12)
            try:
                factor = np.linalg.cholesky(hessian + damping * scale * np.eye(size))
            except np.linalg.LinAlgError:
                damping = max(4 * damping, 1e-6)
                if damping > DAMPING_LIMIT:
                    return None
                continue
            step = -np.linalg.solve(factor.T, np.linalg.solve(factor, gradient))
            longest = float(np.max(np.abs(step)))
            if damping == 0.0 and longest < NEWTON_STEP_TOLERANCE:
                if float(np.max(np.abs(log_params))) > LOG_BOUND - 1:
                    return None
                return log_params, float(value), hessian, steps
            if longest > MAX_LOG_STEP:
                step *= MAX_LOG_STEP / longest
            candidate = log_params + step
            found = second_order(candidate)
            evaluations += 1
            if np.isfinite(found[0]) and found[0] <= (
                    value + 1e-4 * (gradient @ step) + 1e-14 * abs(value)):
                log_params = candidate
                value, gradient, hessian = found
                steps += 1
                damping = 0.0 if damping < 1e-4 else damping / 16
            else:
                damping = max(4 * damping, 1e-6)
                if damping > DAMPING_LIMIT:
                    return None
    return None


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
