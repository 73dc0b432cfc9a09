"""Logistic GLMM by maximum likelihood (lme4's glmer without R).

statsmodels has no ML GLMM (BinomialBayesMixedGLM's MAP fit collapses the random-effect
variance on cbpp), so this fits

    successes ~ Binomial(trials, logistic(X beta + sum_k b_k[group_k])),  b_k ~ N(0, theta_k^2)

with random intercepts for one or more (crossed) grouping factors, maximising lme4's
Laplace approximation (any number of factors) or adaptive Gauss-Hermite quadrature
(``nagq`` > 1, one factor, like glmer's nAGQ) jointly over (theta, beta) with L-BFGS-B
(see :mod:`analysis.models._likelihood`); an SD the optimiser leaves at 0 where the
deviance falls off 0 (a saddle: the theta-gradient is 0 there by symmetry) is refitted
from SDs 0.5 and 1.0, and a fit still at such a saddle does not count as converged.
Standard errors are lme4's default: the inverse of the finite-difference Hessian of the
deviance over (theta, beta), fixed-effect block, times 2. The log-likelihood is the full
binomial one for every ``nagq`` (lme4 reports its nAGQ > 1 value relative to the
saturated model; add the saturated log-likelihood to compare).

Fit binomial counts, not trials: aggregating the trial table to one row per participant x
dataset x condition cell gives the same likelihood and makes 100k trials fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special
from threadpoolctl import threadpool_limits

from analysis.errors import AnalysisError
from analysis.models._likelihood import BinomialProblem
from analysis.models.design import design_matrix, gradient_hessian, hessian
from analysis.models.wald import wald_table

#: A fit counts as converged when no deviance derivative exceeds this (lme4 uses 0.002 on
#: a Hessian-scaled gradient).
_GRADIENT_TOL = 1e-3
#: A log-odds SE above this means the coefficient is not identified (separation).
_MAX_SE = 10.0
#: Nor is a log-odds estimate beyond this (an odds ratio over 22,000): a (quasi-)separated
#: term whose optimisation stopped early can still show an SE below :data:`_MAX_SE`.
_MAX_ESTIMATE = 10.0
#: An SD at most this counts as on the boundary 0 (L-BFGS-B puts boundary SDs at 0 exactly).
_ZERO_SD = 1e-4
#: Starting SDs of the refits from a fit with an SD on the boundary (lme4 starts at 1).
_RESTART_SDS = (0.5, 1.0)
#: Step off 0 along which a boundary SD must raise the deviance for the fit to count as
#: converged (on the log-odds scale, small next to SDs worth reporting).
_ZERO_PROBE = 0.05


@dataclass(frozen=True)
class GLMMResult:
    """A fitted logistic GLMM; ``fixed_names`` label ``params``/``cov`` (log-odds scale)."""

    formula: str
    groups: tuple[str, ...]
    nagq: int
    fixed_names: tuple[str, ...]
    params: np.ndarray
    cov: np.ndarray
    random_sd: dict[str, float]
    n_levels: dict[str, int]
    loglik: float
    nobs: int
    converged: bool
    message: str
    design_info: Any
    notes: tuple[str, ...] = ()

    @property
    def bse(self) -> np.ndarray:
        """Wald SEs; NaN where the Hessian was not positive definite (see ``converged``)."""
        variances = np.diag(self.cov)
        return np.sqrt(np.where(variances > 0, variances, np.nan))

    @property
    def aic(self) -> float:
        return -2.0 * self.loglik + 2.0 * (len(self.params) + len(self.random_sd))

    @property
    def bic(self) -> float:
        return -2.0 * self.loglik + np.log(self.nobs) * (len(self.params) + len(self.random_sd))

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """Fixed effects: estimate, SE, Wald z and p, CI, odds ratio with CI."""
        return wald_table(self.fixed_names, self.params, self.bse, level=level, odds_ratios=True)

    def random_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "group": list(self.random_sd),
                "sd": list(self.random_sd.values()),
                "n_levels": [self.n_levels[g] for g in self.random_sd],
            }
        )

    def summary(self) -> str:
        method = "Laplace" if self.nagq == 1 else f"adaptive Gauss-Hermite, nAGQ = {self.nagq}"
        lines = [
            f"Logistic GLMM (ML, {method}): {self.formula} + "
            + " + ".join(f"(1 | {g})" for g in self.groups),
            f"logLik {self.loglik:.4f}  AIC {self.aic:.2f}  BIC {self.bic:.2f}  "
            f"rows {self.nobs}  converged {self.converged}",
            self.random_frame().to_string(index=False),
            self.to_frame().iloc[:, :5].to_string(index=False, float_format=lambda v: f"{v:.4f}"),
            *self.notes,
        ]
        return "\n".join(lines)


def _response(data: pd.DataFrame, lhs: str, trials: str | None) -> tuple[np.ndarray, np.ndarray]:
    if lhs not in data.columns:
        raise AnalysisError(f"response column {lhs!r} not in the data")
    successes = pd.to_numeric(data[lhs], errors="coerce").to_numpy(dtype=float)
    if trials is None:
        size = np.ones_like(successes)
    elif trials not in data.columns:
        raise AnalysisError(f"trials column {trials!r} not in the data")
    else:
        size = pd.to_numeric(data[trials], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(successes) | ~np.isfinite(size) | (successes < 0) | (successes > size)
    bad |= successes % 1 != 0
    if bad.any():
        raise AnalysisError(
            f"response {lhs!r} must be whole counts between 0 and "
            f"{trials or '1'} (first bad row {int(np.flatnonzero(bad)[0])})"
        )
    return successes, size


def fit_glmm(
    data: pd.DataFrame,
    formula: str,
    *,
    groups: Sequence[str],
    trials: str | None = None,
    nagq: int = 1,
) -> GLMMResult:
    """Fit ``formula`` ("successes ~ fixed terms", patsy syntax) with random intercepts.

    ``trials`` names the column of binomial sizes (None: 0/1 or boolean outcomes);
    ``groups`` the grouping factors (crossed if several); ``nagq`` > 1 needs one factor.
    """
    groups = tuple(groups)
    if not groups:
        raise AnalysisError("a GLMM needs at least one grouping factor")
    if nagq < 1 or (nagq > 1 and len(groups) > 1):
        raise AnalysisError("nagq > 1 (adaptive quadrature) needs exactly one grouping factor")
    if data.empty:
        raise AnalysisError("no rows to fit the GLMM to")
    lhs, X, names, design_info = design_matrix(data, formula)
    successes, size = _response(data, lhs, trials)
    missing = [g for g in groups if g not in data.columns]
    if missing:
        raise AnalysisError(f"grouping column(s) {', '.join(missing)} not in the data")
    codes = [pd.factorize(data[g], sort=True)[0] for g in groups]
    # The factor with most levels goes first: its block of A is diagonal (see _likelihood).
    order = sorted(range(len(groups)), key=lambda i: -(codes[i].max() + 1))
    problem = BinomialProblem(successes, size, X, [codes[i] for i in order], nagq=nagq)
    k = len(groups)
    start = np.concatenate([np.ones(k), _glm_start(X, successes, size)])
    bounds = [(0.0, None)] * k + [(None, None)] * X.shape[1]
    if nagq == 1:
        objective, jac = problem.laplace_objective, True
    else:
        objective, jac = problem.deviance, lambda x: _central_gradient(problem.deviance, x, k)
    # The matrices are small (the non-largest factors' levels): BLAS threads only add
    # start-up and spin costs, 4x the run time on a busy 2-core machine.
    with threadpool_limits(limits=1, user_api="blas"):
        solution = _minimize(objective, jac, start, bounds)
        solution = _restart_off_boundary(problem, objective, jac, solution, bounds, k)
        params = solution.x
        gradient = problem.laplace_objective(params)[1] if nagq == 1 else jac(params)
        cov = _fixed_cov(problem, params, k)
        rises = not _falls_off_zero(problem.deviance, params, k, (_ZERO_PROBE,)).any()
    at_bound = (np.arange(params.size) < k) & (params <= 0) & (gradient > 0)
    largest = float(np.max(np.abs(np.where(at_bound, 0.0, gradient))))
    variances = np.diag(cov)
    bse = np.sqrt(np.where(variances > 0, variances, np.nan))
    notes = tuple(
        f"{name}: not identified (estimate {estimate:.3g}, SE {se:.3g} on the log-odds scale), "
        "probably (almost) all successes or all failures in that condition (separation)"
        for name, estimate, se in zip(names, params[k:], bse, strict=True)
        if not (se < _MAX_SE and abs(estimate) < _MAX_ESTIMATE)
    )
    return GLMMResult(
        formula=formula,
        groups=groups,
        nagq=nagq,
        fixed_names=tuple(names),
        params=params[k:].copy(),
        cov=cov,
        random_sd={groups[i]: float(abs(params[j])) for j, i in enumerate(order)},
        n_levels={g: int(c.max()) + 1 for g, c in zip(groups, codes, strict=True)},
        loglik=-0.5 * float(solution.fun),
        nobs=len(data),
        converged=bool(largest < _GRADIENT_TOL and np.all(np.isfinite(bse)) and rises),
        message=f"{solution.message}; largest |gradient| of the deviance {largest:.2g}"
        + ("" if rises else "; the deviance falls off a random-effect SD of 0 (saddle)"),
        design_info=design_info,
        notes=notes,
    )


def _minimize(objective, jac, start: np.ndarray, bounds) -> optimize.OptimizeResult:
    return optimize.minimize(
        objective,
        start,
        jac=jac,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 1000, "ftol": 1e-14, "gtol": 1e-6},
    )


def _restart_off_boundary(
    problem: BinomialProblem, objective, jac, solution: optimize.OptimizeResult, bounds, k: int
) -> optimize.OptimizeResult:
    """Refit from SDs > 0 while the best fit so far has an SD at 0 that is not a minimum.

    The deviance is even in each theta, so its theta-gradient vanishes at 0 whatever the
    curvature: an L-BFGS-B line search that overshoots onto the bound stops there with a
    "converged" zero gradient even where the deviance falls for theta > 0 (a saddle, not
    the ML). Where the deviance (other parameters kept) is lower with that SD at
    :data:`_ZERO_PROBE` or at one of :data:`_RESTART_SDS`, refit from each of the latter
    and keep the lowest deviance. Genuine boundary fits (dataset SDs in most simulated
    studies) pass the probes and cost 3 deviance evaluations per zero SD, not 2 refits.
    """
    for _ in range(k):
        zero = _falls_off_zero(problem.deviance, solution.x, k, (_ZERO_PROBE, *_RESTART_SDS))
        if not zero.any():
            break
        best = solution
        for sd in _RESTART_SDS:
            start = solution.x.copy()
            start[:k][zero] = sd
            trial = _minimize(objective, jac, start, bounds)
            if trial.fun < best.fun - 1e-9 * max(1.0, abs(best.fun)):
                best = trial
        if best is solution:
            break
        solution = best
    return solution


def _falls_off_zero(deviance, params: np.ndarray, k: int, probes: Sequence[float]) -> np.ndarray:
    """Mask of the SDs at 0 where the deviance is lower with that SD at one of ``probes``.

    The zero gradient at theta = 0 says nothing (symmetry); a lower deviance a step away
    means 0 is not a minimum.
    """
    base = deviance(params)
    falls = np.zeros(k, dtype=bool)
    for i in np.flatnonzero(params[:k] <= _ZERO_SD):
        for sd in probes:
            probe = params.copy()
            probe[i] = sd
            if deviance(probe) < base - 1e-6:
                falls[i] = True
                break
    return falls


def _glm_start(X: np.ndarray, successes: np.ndarray, size: np.ndarray) -> np.ndarray:
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


def _central_gradient(f, x: np.ndarray, k: int) -> np.ndarray:
    """Central differences; one-sided into the feasible side for a theta at its bound 0."""
    gradient = np.empty_like(x)
    for i in range(x.size):
        h = 1e-6 * max(1.0, abs(x[i]))
        up, down = x.copy(), x.copy()
        up[i] += h
        if i < k and x[i] - h < 0:
            gradient[i] = (f(up) - f(x)) / h
            continue
        down[i] -= h
        gradient[i] = (f(up) - f(down)) / (2 * h)
    return gradient


def _fixed_cov(problem: BinomialProblem, params: np.ndarray, k: int) -> np.ndarray:
    """2 x inverse Hessian of the deviance over (theta, beta), beta block (lme4's vcov).

    Laplace: central differences of the exact gradient; quadrature: second differences of
    the deviance. A theta at 0 (variance on the boundary) is held fixed, as the Hessian is
    not defined there; the covariance then comes from the remaining block.
    """
    free = np.array([i >= k or params[i] > 1e-4 for i in range(params.size)])
    if problem.nagq == 1:
        H = gradient_hessian(
            lambda x: problem.laplace_objective(_insert(params, free, x))[1][free], params[free]
        )
    else:
        H = hessian(lambda x: problem.deviance(_insert(params, free, x)), params[free])
    try:
        inverse = np.linalg.inv(H)
    except np.linalg.LinAlgError:
        return np.full((params.size - k,) * 2, np.nan)
    n_theta = int(free[:k].sum())
    cov = 2.0 * inverse[n_theta:, n_theta:]
    return (cov + cov.T) / 2


def _insert(params: np.ndarray, free: np.ndarray, values: np.ndarray) -> np.ndarray:
    full = params.copy()
    full[free] = values
    return full
