"""Logistic GLMM by maximum likelihood (lme4's glmer without R).

statsmodels has no ML GLMM (BinomialBayesMixedGLM's MAP fit collapses the random-effect
variance on cbpp), so this fits

    successes ~ Binomial(trials, logistic(X beta + sum_k Z_k b_k)),  b_k ~ N(0, Sigma_k)

with random terms in lme4's notation (:mod:`analysis.models.random_terms`): random
intercepts for crossed or nested factors (``"participant"``, ``"participant:encoding"``)
and correlated random slopes (``"(1 + encoding | participant)"``). It maximises lme4's
Laplace approximation (any terms) or adaptive Gauss-Hermite quadrature (``nagq`` > 1, one
random-intercept factor, like glmer's nAGQ) jointly over (theta, beta), with the boundary
checks of :mod:`analysis.models._optimize`.

Status, as lme4 reports it and never hidden: ``singular`` when a Cholesky diagonal of some
term is at 0 (an SD of 0, or a correlation of +-1: lme4's isSingular), ``converged`` when
the gradient is below :data:`_GRADIENT_TOL`, the fixed-effect covariance exists and every
SD at 0 passed its profile check. A singular fit can be converged: it is then the ML fit.

Standard errors are lme4's default: the inverse of the finite-difference Hessian of the
deviance over (theta, beta), fixed-effect block, times 2. ``loglik`` is the full binomial
log-likelihood of the rows as given (lme4's logLik; add the saturated log-likelihood to
compare with lme4's nAGQ > 1 value); ``trial_loglik``, ``aic`` and ``bic`` are on the
trial level (Bernoulli, without log C(n, y)), so they compare with a trial-level fit.

Fit binomial counts, not trials: aggregating the trial table to one row per participant x
dataset x condition cell gives the same likelihood and makes 100k trials fast.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from analysis.errors import AnalysisError
from analysis.models._dense_likelihood import DenseBinomialProblem
from analysis.models._likelihood import BinomialProblem
from analysis.models._optimize import (
    ZERO_SD,
    fixed_cov,
    free_gradient,
    glm_start,
    maximise,
    theta_start,
)
from analysis.models.design import design_matrix
from analysis.models.random_terms import parse_term, term_matrix, varcorr
from analysis.models.satterthwaite import Satterthwaite, satterthwaite
from analysis.models.wald import wald_table
from analysis.summary import Summary, SummaryTable

#: A fit counts as converged when no deviance derivative exceeds this (lme4 uses 0.002 on
#: a Hessian-scaled gradient).
_GRADIENT_TOL = 1e-3
#: A log-odds SE above this means the coefficient is not identified (separation).
_MAX_SE = 10.0
#: Nor is a log-odds estimate beyond this (an odds ratio over 22,000): a (quasi-)separated
#: term whose optimisation stopped early can still show an SE below :data:`_MAX_SE`.
_MAX_ESTIMATE = 10.0


@dataclass(frozen=True)
class GLMMResult:
    """A fitted logistic GLMM; ``fixed_names`` label ``params``/``cov`` (log-odds scale)."""

    formula: str
    random: tuple[str, ...]
    nagq: int
    fixed_names: tuple[str, ...]
    params: np.ndarray
    cov: np.ndarray
    theta: np.ndarray
    varcorr: pd.DataFrame
    n_levels: dict[str, int]
    loglik: float
    nobs: int
    n_trials: int
    log_choose: float
    converged: bool
    singular: bool
    message: str
    design_info: Any = field(repr=False)
    notes: tuple[str, ...] = ()
    #: Degrees of freedom of Wald t tests (None: the normal reference, Wald z).
    satterthwaite: Satterthwaite | None = field(default=None, repr=False)

    @property
    def bse(self) -> np.ndarray:
        """Wald SEs; NaN where the Hessian was not positive definite (see ``converged``)."""
        variances = np.diag(self.cov)
        return np.sqrt(np.where(variances > 0, variances, np.nan))

    @property
    def random_sd(self) -> dict[str, float]:
        """SD per random effect: keyed by group for intercepts, ``"group: term"`` for slopes."""
        sds = self.varcorr[self.varcorr["var2"] == ""]
        single = sds.groupby("group")["var1"].transform("size") == 1
        keys = np.where(single, sds["group"], sds["group"] + ": " + sds["var1"])
        return dict(zip(keys, sds["sdcor"].astype(float), strict=True))

    @property
    def n_parameters(self) -> int:
        return len(self.params) + len(self.theta)

    @property
    def trial_loglik(self) -> float:
        """Log-likelihood of the individual trials (Bernoulli), without log C(n, y)."""
        return self.loglik - self.log_choose

    @property
    def aic(self) -> float:
        return -2.0 * self.trial_loglik + 2.0 * self.n_parameters

    @property
    def bic(self) -> float:
        return -2.0 * self.trial_loglik + np.log(self.n_trials) * self.n_parameters

    @property
    def status(self) -> str:
        """What the report shows beside every number from this fit."""
        if not self.converged:
            return "not converged"
        return "converged, singular (boundary) fit" if self.singular else "converged"

    @property
    def df(self) -> np.ndarray | None:
        """Satterthwaite df per fixed effect (None: tested against the normal, Wald z)."""
        return None if self.satterthwaite is None else self.satterthwaite.term_df()

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """Fixed effects: estimate, SE, Satterthwaite df, Wald t and p, CI, odds ratio
        with CI (z and the normal without df)."""
        return wald_table(
            self.fixed_names, self.params, self.bse, level=level, odds_ratios=True, df=self.df
        )

    def random_frame(self) -> pd.DataFrame:
        """lme4's VarCorr: SD per (group, term) and correlations, with the group's levels."""
        frame = self.varcorr.copy()
        frame["n_levels"] = frame["group"].map(self.n_levels)
        return frame

    def fit_frame(self) -> pd.DataFrame:
        """One row: the fit's status, structure and trial-level fit statistics."""
        return pd.DataFrame(
            [
                {
                    "status": self.status,
                    "random": " + ".join(self.random),
                    "trial_loglik": self.trial_loglik,
                    "aic": self.aic,
                    "bic": self.bic,
                    "n_trials": self.n_trials,
                    "n_cells": self.nobs,
                }
            ]
        )

    def to_summary(self) -> Summary:
        """What the report shows: every table from this one fit, each naming its status."""
        status = f"({self.status})"
        notes = list(self.notes)
        if self.singular:
            notes.insert(
                0,
                "Boundary (singular) fit, as lme4 reports it: a random-effect SD is 0 or a "
                "correlation is +-1 at the maximum; the estimates are this ML fit's.",
            )
        return Summary(
            (
                SummaryTable("", self.to_frame(), f"Fixed effects {status}"),
                SummaryTable("random", self.random_frame(), f"Random effects {status}"),
                SummaryTable(
                    "fit",
                    self.fit_frame(),
                    "Fit: log-likelihood, AIC and BIC of the individual trials (Bernoulli)",
                ),
            ),
            tuple(notes),
        )

    def summary(self) -> str:
        method = "Laplace" if self.nagq == 1 else f"adaptive Gauss-Hermite, nAGQ = {self.nagq}"
        lines = [
            f"Logistic GLMM (ML, {method}): {self.formula} + " + " + ".join(self.random),
            f"trial-level logLik {self.trial_loglik:.4f}  AIC {self.aic:.2f}  BIC {self.bic:.2f}"
            f"  trials {self.n_trials}  cells {self.nobs}  {self.status}",
            self.random_frame().to_string(index=False),
            self.to_frame().iloc[:, :5].to_string(index=False, float_format=lambda v: f"{v:.4f}"),
            *self.notes,
        ]
        return "\n".join(lines)


def _theta_from_cov(matrices, covariances: Mapping[str, np.ndarray], default: np.ndarray):
    """theta whose terms have the given covariances (Cholesky factors); others ``default``."""
    theta, start = default.copy(), 0
    for tm in matrices:
        cells = tm.theta_cells()
        cov = covariances.get(tm.term.group)
        if cov is not None:
            L = np.linalg.cholesky(np.asarray(cov, dtype=float).reshape(tm.p, tm.p))
            theta[start : start + len(cells)] = [L[r, c] for r, c in cells]
        start += len(cells)
    return theta


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
    random: Sequence[str],
    trials: str | None = None,
    nagq: int = 1,
    start_cov: Mapping[str, np.ndarray] | None = None,
    start_beta: np.ndarray | None = None,
) -> GLMMResult:
    """Fit ``formula`` ("successes ~ fixed terms", patsy syntax) with ``random`` terms.

    ``random``: lme4-style terms, e.g. ``["participant", "participant:encoding",
    "(1 + encoding | participant)"]`` (a bare name is a random intercept). ``trials``
    names the column of binomial sizes (None: 0/1 or boolean outcomes); ``nagq`` > 1
    needs a single random intercept. ``start_cov`` (group -> covariance matrix of its
    term) and ``start_beta`` start the optimiser elsewhere than lme4's default (SDs 1,
    correlations 0; the plain GLM's beta): a warm start from a nested fit.
    """
    terms = [parse_term(spec) for spec in random]
    if not terms:
        raise AnalysisError("a GLMM needs at least one random term")
    intercepts = all(t.is_intercept for t in terms)
    if nagq < 1 or (nagq > 1 and (len(terms) > 1 or not intercepts)):
        raise AnalysisError("nagq > 1 (adaptive quadrature) needs exactly one grouping factor")
    if data.empty:
        raise AnalysisError("no rows to fit the GLMM to")
    lhs, X, names, design_info = design_matrix(data, formula)
    successes, size = _response(data, lhs, trials)
    # Terms with most levels first, as lme4 orders them (and the block solver needs).
    matrices = sorted((term_matrix(data, t) for t in terms), key=lambda m: -m.n_levels)
    if intercepts and (nagq > 1 or len(matrices) == 1):
        problem = BinomialProblem(successes, size, X, [m.codes for m in matrices], nagq=nagq)
    else:  # several terms: A through its nesting (participant blocks, a dense crossed part)
        problem = DenseBinomialProblem(successes, size, X, matrices)
    theta = theta_start(problem)
    if start_cov:
        theta = _theta_from_cov(matrices, start_cov, theta)
    beta = glm_start(X, successes, size) if start_beta is None else np.asarray(start_beta)
    start = np.concatenate([theta, beta])
    # The matrices are small: BLAS threads only add start-up and spin costs, 4x the run
    # time on a busy 2-core machine.
    with threadpool_limits(limits=1, user_api="blas"):
        optimum = maximise(problem, start)
        cov, free, theta_cov = fixed_cov(problem, optimum.x)
        small_sample = _satterthwaite(problem, optimum.x, free, theta_cov)
    k, params = problem.n_theta, optimum.x
    diagonal = params[problem.diagonal]
    largest = free_gradient(problem, params, optimum.gradient)
    variances = np.diag(cov)
    bse = np.sqrt(np.where(variances > 0, variances, np.nan))
    notes = tuple(
        f"{name}: not identified (estimate {estimate:.3g}, SE {se:.3g} on the log-odds scale), "
        "probably (almost) all successes or all failures in that condition (separation)"
        for name, estimate, se in zip(names, params[k:], bse, strict=True)
        if not (se < _MAX_SE and abs(estimate) < _MAX_ESTIMATE)
    )
    singular = bool(np.any(diagonal < ZERO_SD))
    message = f"{optimum.message}; largest |gradient| of the deviance {largest:.2g}"
    if not optimum.verified:
        message += "; the deviance still falls off a random-effect SD of 0 (saddle)"
    if singular:
        message += "; boundary (singular) fit: an SD is 0 or a correlation is +-1"
    return GLMMResult(
        formula=formula,
        random=tuple(m.term.label for m in matrices),
        nagq=nagq,
        fixed_names=tuple(names),
        params=params[k:].copy(),
        cov=cov,
        theta=params[:k].copy(),
        varcorr=varcorr(matrices, np.abs(params[:k]) if intercepts else params[:k]),
        n_levels={m.term.group: m.n_levels for m in matrices},
        loglik=-0.5 * optimum.deviance,
        nobs=len(data),
        n_trials=int(size.sum()),
        log_choose=problem.log_choose,
        converged=bool(largest < _GRADIENT_TOL and np.all(np.isfinite(bse)) and optimum.verified),
        singular=singular,
        message=message,
        design_info=design_info,
        notes=notes,
        satterthwaite=small_sample,
    )


def _satterthwaite(problem, params: np.ndarray, free: np.ndarray, theta_cov: np.ndarray):
    """Satterthwaite's df ingredients at the ML estimate (None where V or A is not finite:
    the fit is then not converged and its tests fall back to z)."""
    k = problem.n_theta
    theta, beta = params[:k], params[k:]
    if not np.all(np.isfinite(theta_cov)):
        return None

    def cov_at(phi: np.ndarray) -> np.ndarray:
        full = theta.copy()
        full[free] = phi
        return np.linalg.inv(problem.fixed_information(full, beta))

    try:
        return satterthwaite(cov_at, theta[free], theta_cov)
    except np.linalg.LinAlgError:
        return None
