"""Maximising a GLMM likelihood over (theta, beta), right at the variance boundary.

Both likelihood classes (:class:`analysis.models._likelihood.BinomialProblem`, random
intercepts, and :class:`analysis.models._dense_likelihood.DenseBinomialProblem`, random
slopes) expose ``n_theta``, ``theta_lower`` (0 for an SD / Cholesky diagonal, -inf for an
off-diagonal), ``diagonal`` (the theta indices bounded at 0), ``deviance`` and, for
Laplace, ``laplace_objective`` (deviance and exact gradient).

Why the boundary needs care: the deviance is even in each SD, so its gradient vanishes at
SD 0 whatever the curvature; an L-BFGS-B line search that overshoots onto the bound stops
there with a "converged" zero gradient even where the deviance falls for SD > 0 (a saddle,
not the ML estimate). So every SD left at 0 is checked by its profile: the deviance
minimised over all other parameters with that SD held at :data:`PROFILE_SD` (a small
step, where restarts from 0.5 or 1 miss optima that sit close to 0), plus the deviance at
the larger :data:`PROBE_SDS` (others held). Where one is lower, the fit restarts from
there and keeps the lowest deviance. The boundary counts as the optimum (``verified``)
only when no check finds a lower deviance at the final estimate.

L-BFGS-B can also stop on its relative-reduction test (``ftol``) short of a small
gradient. On VerbAgg with random slopes it stopped at a largest derivative of 1.2e-3,
where the fit needs 1e-3, once a new machine's dependencies changed the last bits of the
arithmetic (with scipy 1.16 and 1.17 alike). Each fit is therefore restarted from where
it stopped (the optimiser's curvature memory reset) while a free derivative exceeds
:data:`POLISH_GRADIENT`; there one more step took it to 1.9e-4.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from analysis.models.design import gradient_hessian, hessian

#: SDs at most this are on the boundary (lme4's isSingular tolerance on theta).
ZERO_SD = 1e-4
#: Where a zero SD's profile is evaluated (log-odds scale: small next to SDs worth reporting).
PROFILE_SD = 0.05
#: Larger SDs at which the deviance is probed with the other parameters held.
PROBE_SDS = (0.25, 1.0)
#: A deviance this much lower counts as lower (well above the optimiser's noise).
_LOWER = 1e-6
#: L-BFGS-B is restarted from where it stopped while a free derivative exceeds this ...
POLISH_GRADIENT = 1e-4
#: ... at most this many times.
_POLISH_RESTARTS = 3


@dataclass(frozen=True)
class Optimum:
    """Where the optimiser stopped, and whether boundary SDs passed their profile check."""

    x: np.ndarray
    deviance: float
    gradient: np.ndarray
    message: str
    verified: bool
    restarts: int


def _minimize(objective, jac, start: np.ndarray, bounds) -> optimize.OptimizeResult:
    return optimize.minimize(
        objective,
        start,
        jac=jac,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-6},
    )


def free_gradient(problem, x: np.ndarray, gradient: np.ndarray) -> float:
    """The largest |derivative| at ``x``, leaving out SDs held at 0 by their bound (there
    the deviance rises into the feasible side: a derivative, not a failure to converge)."""
    at_bound = np.zeros(x.size, dtype=bool)
    at_bound[problem.diagonal] = (x[problem.diagonal] <= 0) & (gradient[problem.diagonal] > 0)
    return float(np.max(np.abs(np.where(at_bound, 0.0, gradient))))


def restarted(
    minimise: Callable[[np.ndarray], optimize.OptimizeResult],
    start: np.ndarray,
    *,
    largest_derivative: Callable[[optimize.OptimizeResult], float],
    tolerance: float,
    runs: int,
) -> optimize.OptimizeResult:
    """``minimise`` from ``start``, run again from where it stopped (its curvature memory
    reset) until ``largest_derivative`` of its result is below ``tolerance``, at most
    ``runs`` times in all. L-BFGS-B never ends above where it starts, so the last run is
    the best."""
    solution = minimise(start)
    for _ in range(runs - 1):
        if largest_derivative(solution) < tolerance:
            break
        solution = minimise(solution.x)
    return solution


def _polished(problem, objective, jac, start: np.ndarray, bounds) -> optimize.OptimizeResult:
    """:func:`_minimize`, restarted while a free derivative exceeds
    :data:`POLISH_GRADIENT` (module docstring)."""
    return restarted(
        lambda x: _minimize(objective, jac, x, bounds),
        start,
        largest_derivative=lambda solution: free_gradient(problem, solution.x, solution.jac),
        tolerance=POLISH_GRADIENT,
        runs=1 + _POLISH_RESTARTS,
    )


def maximise(problem, start: np.ndarray) -> Optimum:
    """ML estimate of (theta, beta) from ``start``, with the boundary checks above."""
    k = problem.n_theta
    if problem.nagq == 1:
        objective, jac = problem.laplace_objective, True
    else:
        objective, jac = problem.deviance, lambda x: central_gradient(problem.deviance, x, problem)
    lower = list(problem.theta_lower) + [-np.inf] * (start.size - k)
    bounds = [(None if np.isinf(b) else b, None) for b in lower]
    solution = _polished(problem, objective, jac, start, bounds)
    best_x, best_f, message = solution.x, float(solution.fun), str(solution.message)
    restarts, verified = 0, False
    for _ in range(len(problem.diagonal) + 1):
        lower_point = _lower_off_zero(problem, objective, jac, best_x, best_f, bounds)
        if lower_point is None:
            verified = True
            break
        restarts += 1
        trial = _polished(problem, objective, jac, lower_point, bounds)
        if trial.fun < best_f - _LOWER:
            best_x, best_f, message = trial.x, float(trial.fun), str(trial.message)
        else:
            break
    gradient = objective(best_x)[1] if problem.nagq == 1 else jac(best_x)
    return Optimum(best_x, best_f, gradient, message, verified, restarts)


def _lower_off_zero(problem, objective, jac, x: np.ndarray, f: float, bounds):
    """A point of lower deviance with one of x's zero SDs moved off 0, else None."""
    for i in problem.diagonal[x[problem.diagonal] <= ZERO_SD]:
        for sd in PROBE_SDS:
            probe = x.copy()
            probe[i] = sd
            if problem.deviance(probe) < f - _LOWER:
                return probe
        start = x.copy()
        start[i] = PROFILE_SD
        held = list(bounds)
        held[i] = (PROFILE_SD, PROFILE_SD)
        profile = _minimize(objective, jac, start, held)
        if profile.fun < f - _LOWER:
            return profile.x
    return None


def glm_start(X: np.ndarray, successes: np.ndarray, size: np.ndarray) -> np.ndarray:
    """beta of the plain logistic GLM (a few IRLS steps) as the starting point."""
    p = (successes + 0.5) / (size + 1.0)
    beta = np.linalg.lstsq(X, np.log(p / (1 - p)), rcond=None)[0]
    for _ in range(25):
        mu = special.expit(X @ beta)
        w = size * mu * (1 - mu) + 1e-12
        step = np.linalg.lstsq(X * np.sqrt(w)[:, None], (successes - size * mu) / np.sqrt(w))[0]
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            break
    return beta


def theta_start(problem) -> np.ndarray:
    """lme4's start: identity Cholesky factors (SDs 1, correlations 0)."""
    theta = np.zeros(problem.n_theta)
    theta[problem.diagonal] = 1.0
    return theta


def central_gradient(f: Callable, x: np.ndarray, problem) -> np.ndarray:
    """Central differences; one-sided into the feasible side for an SD at its bound 0."""
    gradient = np.empty_like(x)
    bounded = set(problem.diagonal.tolist())
    for i in range(x.size):
        h = 1e-6 * max(1.0, abs(x[i]))
        up, down = x.copy(), x.copy()
        up[i] += h
        if i in bounded and x[i] - h < 0:
            gradient[i] = (f(up) - f(x)) / h
            continue
        down[i] -= h
        gradient[i] = (f(up) - f(down)) / (2 * h)
    return gradient


def fixed_cov(problem, params: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """2 x inverse Hessian of the deviance over (theta, beta), beta block (lme4's vcov).

    Laplace: central differences of the exact gradient; quadrature: second differences of
    the deviance. An SD at 0 (on the boundary) is held fixed, as the Hessian is not
    defined there; the covariance then comes from the remaining block. Also returned:
    which thetas are free (not at 0) and their covariance block (for Satterthwaite df).
    """
    k = problem.n_theta
    at_zero = np.zeros(params.size, dtype=bool)
    at_zero[problem.diagonal] = params[problem.diagonal] <= ZERO_SD
    free = ~at_zero
    if problem.nagq == 1:
        H = gradient_hessian(
            lambda x: problem.laplace_objective(_insert(params, free, x))[1][free], params[free]
        )
    else:
        H = hessian(lambda x: problem.deviance(_insert(params, free, x)), params[free])
    n_theta = int(free[:k].sum())
    try:
        inverse = np.linalg.inv(H)
    except np.linalg.LinAlgError:
        nan = np.full((params.size - k,) * 2, np.nan)
        return nan, free[:k], np.full((n_theta, n_theta), np.nan)
    cov = 2.0 * inverse[n_theta:, n_theta:]
    theta_cov = 2.0 * inverse[:n_theta, :n_theta]
    return (cov + cov.T) / 2, free[:k], (theta_cov + theta_cov.T) / 2


def _insert(params: np.ndarray, free: np.ndarray, values: np.ndarray) -> np.ndarray:
    full = params.copy()
    full[free] = values
    return full
