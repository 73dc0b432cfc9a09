"""Linear mixed model with crossed (and correlated) random terms by lme4's profiled deviance.

Why not statsmodels: MixedLM fits crossed factors only as variance components inside one
all-encompassing group (seconds per thousand rows); the study's RT model is trial level,
with participant, participant x encoding and dataset terms crossed, on up to 100k trials.

Bates, Maechler, Bolker & Walker (2015, J. Stat. Softw. 67(1), section 3): for covariance
parameters theta (Lambda as in :mod:`analysis.models.random_terms`), the penalised least
squares problem min |y - X beta - Z Lambda u|^2 + |u|^2 is solved from Cholesky factors,
L L' = Lambda'Z'Z Lambda + I and R_X'R_X = X'X - R_ZX'R_ZX (R_ZX = L^-1 Lambda'Z'X), with
r^2 the penalised residual sum of squares. Then beta and sigma are profiled out:

- ML:   d(theta) = log|L|^2 + n (1 + log(2 pi r^2 / n))
- REML: d(theta) = log|L|^2 + log|R_X|^2 + (n - p)(1 + log(2 pi r^2 / (n - p)))

A is factorised through its nesting (participant blocks, a dense Schur complement for the
crossed dataset terms: :mod:`analysis.models._clustered`), so an evaluation costs
O(n + blocks s^2 r + r^3) rather than O(q^3) (1,000 participants: q = 5,025, r = 25).
theta is optimised by L-BFGS-B (finite-difference
gradient, a handful of parameters); an SD left at 0 is checked as in the GLMM (the
deviance a step off 0, :mod:`analysis.models._optimize`), and a boundary fit is reported
as singular, as lme4 does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import optimize
from threadpoolctl import threadpool_limits

from analysis.errors import AnalysisError
from analysis.models._clustered import ClusteredStructure, cluster_layout
from analysis.models._optimize import PROBE_SDS, PROFILE_SD, ZERO_SD, restarted
from analysis.models.design import hessian
from analysis.models.lmm import LMMResult, response_and_design
from analysis.models.random_terms import TermMatrix, parse_term, term_matrix, varcorr
from analysis.models.satterthwaite import Satterthwaite, satterthwaite

#: Runs of L-BFGS-B at most, until no free theta's derivative exceeds _GRADIENT_TOL.
_RESTARTS = 5
_GRADIENT_TOL = 1e-4


class _Profiled:
    """Cross-products of one LMM and its profiled deviance as a function of theta.

    A = Lambda'Z'Z Lambda + I is factorised through its nesting
    (:mod:`analysis.models._clustered`: one block per participant, the crossed dataset
    terms dense), so log|L|^2 = log det A, and the quantities of Bates et al. (2015) come
    from solves with A: cu'cu = b_y'A^-1 b_y, R_ZX'R_ZX = b_X'A^-1 b_X, R_ZX'cu =
    b_X'A^-1 b_y with b = Lambda'Z'[X y]. The symbolic structure is built once.
    """

    def __init__(self, y: np.ndarray, X: np.ndarray, matrices: list[TermMatrix], reml: bool):
        self.n, self.p = X.shape
        self.reml = reml
        self.matrices = matrices
        self.X, self.y = X, y
        offsets = np.cumsum([0] + [tm.n_levels * tm.p for tm in matrices])
        self.q = int(offsets[-1])
        self._cols = np.concatenate(
            [
                o + tm.codes[:, None] * tm.p + np.arange(tm.p)
                for tm, o in zip(matrices, offsets, strict=False)
            ],
            axis=1,
        )
        self._flat = self._cols.ravel()
        self._structure = ClusteredStructure(cluster_layout(matrices, offsets), self._cols)
        self._ones = np.ones(self.n)
        self.XtX, self.Xty, self.yty = X.T @ X, X.T @ y, float(y @ y)
        self._Xy = np.column_stack([X, y])
        self._blocks = []  # (term, first theta index, its cells)
        lower, diagonal, start = [], [], 0
        for tm in matrices:
            cells = tm.theta_cells()
            self._blocks.append((tm, start, cells))
            for index, (r, c) in enumerate(cells):
                lower.append(0.0 if r == c else None)
                if r == c:
                    diagonal.append(start + index)
            start += len(cells)
        self.n_theta = start
        self.bounds = [(b, None) for b in lower]
        self.diagonal = np.array(diagonal, dtype=int)

    def _values(self, theta: np.ndarray) -> np.ndarray:
        """The nonzeros of Z Lambda: per term, the rows' term columns times L_k."""
        values = []
        for tm, start, cells in self._blocks:
            L = np.zeros((tm.p, tm.p))
            for (r, c), value in zip(cells, theta[start : start + len(cells)], strict=True):
                L[r, c] = value
            values.append(tm.X @ L)
        return np.concatenate(values, axis=1)

    def _parts(self, theta: np.ndarray) -> tuple[float, float, np.ndarray, np.ndarray]:
        """log det A (+ log|R_X|^2 for REML), r^2, R_X'R_X and beta at theta."""
        values = self._values(theta)
        A = self._structure.system(self._ones, self._structure.pair_products(values))
        b = np.stack(
            [
                np.bincount(self._flat, (values * column[:, None]).ravel(), self.q)
                for column in self._Xy.T
            ],
            axis=1,
        )
        solved = A.solve(b)
        cross = b.T @ solved  # [[R_ZX'R_ZX, R_ZX'cu], [., cu'cu]]
        RXtRX = self.XtX - cross[: self.p, : self.p]
        rhs = self.Xty - cross[: self.p, self.p]
        beta = np.linalg.solve(RXtRX, rhs)
        r2 = max(self.yty - float(cross[self.p, self.p]) - float(rhs @ beta), 1e-300)
        logdet = A.logdet
        if self.reml:
            logdet += float(np.linalg.slogdet(RXtRX)[1])
        return logdet, r2, RXtRX, beta

    def solve(self, theta: np.ndarray) -> dict:
        """Everything at theta: deviance, beta, sigma, the fixed-effect covariance."""
        logdet, r2, RXtRX, beta = self._parts(theta)
        dof = self.n - self.p if self.reml else self.n
        deviance = logdet + dof * (1.0 + np.log(2.0 * np.pi * r2 / dof))
        sigma2 = r2 / dof
        cov = sigma2 * np.linalg.inv(RXtRX)
        return {"deviance": float(deviance), "beta": beta, "sigma": np.sqrt(sigma2), "cov": cov}

    def deviance(self, theta: np.ndarray) -> float:
        return self.solve(theta)["deviance"]

    def varpar_deviance(self, varpar: np.ndarray) -> float:
        """The (RE)ML deviance at (theta..., sigma), sigma not profiled out (lmerTest's)."""
        logdet, r2, _, _ = self._parts(varpar[:-1])
        sigma2 = varpar[-1] ** 2
        dof = self.n - self.p if self.reml else self.n
        return logdet + r2 / sigma2 + dof * np.log(2.0 * np.pi * sigma2)

    def varpar_cov(self, varpar: np.ndarray) -> np.ndarray:
        """sigma^2 (R_X'R_X)^-1: the fixed effects' covariance at (theta..., sigma)."""
        return varpar[-1] ** 2 * np.linalg.inv(self._parts(varpar[:-1])[2])

    def gradient(self, theta: np.ndarray) -> np.ndarray:
        """Central differences (one-sided into the feasible side at a bound of 0)."""
        out = np.empty_like(theta)
        for i in range(theta.size):
            h = 1e-6 * max(1.0, abs(theta[i]))
            up, down = theta.copy(), theta.copy()
            up[i] += h
            if self.bounds[i][0] is not None and theta[i] - h < 0:
                out[i] = (self.deviance(up) - self.deviance(theta)) / h
                continue
            down[i] -= h
            out[i] = (self.deviance(up) - self.deviance(down)) / (2 * h)
        return out


def _minimise(problem: _Profiled, start: np.ndarray) -> optimize.OptimizeResult:
    """L-BFGS-B; a flat direction can end its line search early ("ABNORMAL"), so it is
    restarted from where it stopped (fresh curvature memory) while a free derivative
    exceeds :data:`_GRADIENT_TOL`."""
    unbounded = np.array([low is None for low, _ in problem.bounds])

    def largest_free(fit: optimize.OptimizeResult) -> float:
        free = unbounded | (fit.x > ZERO_SD)
        return float(np.max(np.abs(fit.jac[free]), initial=0.0))

    return restarted(
        lambda x: optimize.minimize(
            problem.deviance,
            x,
            jac=problem.gradient,
            method="L-BFGS-B",
            bounds=problem.bounds,
            options={"maxiter": 1000, "ftol": 1e-15, "gtol": 1e-7},
        ),
        start,
        largest_derivative=largest_free,
        tolerance=_GRADIENT_TOL,
        runs=_RESTARTS,
    )


def _optimise(problem: _Profiled) -> tuple[np.ndarray, bool, str]:
    """theta at the minimum; whether every SD at 0 passed its probes; the optimiser's message."""
    start = np.zeros(problem.n_theta)
    start[problem.diagonal] = 1.0
    fit = _minimise(problem, start)
    x, f = fit.x, float(fit.fun)
    for _ in range(len(problem.diagonal) + 1):
        lower = None
        for i in problem.diagonal[x[problem.diagonal] <= ZERO_SD]:
            for sd in (PROFILE_SD, *PROBE_SDS):
                probe = x.copy()
                probe[i] = sd
                if problem.deviance(probe) < f - 1e-6:
                    lower = probe
                    break
            if lower is not None:
                break
        if lower is None:
            return x, True, str(fit.message)
        fit = _minimise(problem, lower)
        if fit.fun >= f - 1e-6:
            break
        x, f = fit.x, float(fit.fun)
    return x, False, str(fit.message)


def fit_crossed_lmm(
    data: pd.DataFrame, formula: str, *, random: Sequence[str], reml: bool = True
) -> LMMResult:
    """Fit ``formula`` with lme4-style ``random`` terms (e.g. ``["participant",
    "participant:encoding", "dataset_id"]`` or ``["(1 + Days | Subject)"]``)."""
    if data.empty:
        raise AnalysisError("no rows to fit the linear mixed model to")
    frame = data.reset_index(drop=True)
    y, X, names = response_and_design(frame, formula)
    terms = [parse_term(spec) for spec in random]
    if not terms:
        raise AnalysisError("a linear mixed model needs at least one random term")
    matrices = sorted((term_matrix(frame, t) for t in terms), key=lambda m: -m.n_levels)
    # Small dense matrices: BLAS threads only spin (minutes on a loaded 2-core machine).
    with threadpool_limits(limits=1, user_api="blas"):
        problem = _Profiled(y, X, matrices, reml)
        theta, verified, message = _optimise(problem)
        solved = problem.solve(theta)
        small_sample = _satterthwaite(problem, theta, float(solved["sigma"]))
    sigma = float(solved["sigma"])
    table = varcorr(matrices, theta)
    table["sdcor"] = np.where(table["var2"] == "", table["sdcor"] * sigma, table["sdcor"])
    random_table = table.rename(columns={"var1": "term", "var2": "other", "sdcor": "sd_or_corr"})
    singular = bool(np.any(theta[problem.diagonal] < ZERO_SD))
    notes = []
    if singular:
        notes.append("Boundary (singular) fit, as lme4 reports it: a random-effect SD is 0.")
    if not verified:
        notes.append(f"The deviance still falls off a random-effect SD of 0 ({message}).")
    n_dof = len(y) - X.shape[1] if reml else len(y)
    return LMMResult(
        formula=formula,
        groups=tuple(m.term.label for m in matrices),
        reml=reml,
        fixed_names=tuple(names),
        params=solved["beta"],
        bse=np.sqrt(np.diag(solved["cov"])),
        cov=solved["cov"],
        random=random_table,
        residual_sd=sigma,
        loglik=-0.5 * solved["deviance"],
        nobs=len(y),
        converged=verified,
        notes=tuple(notes),
        residual_label=f"Residual (single trials; {n_dof:,} degrees of freedom)",
        satterthwaite=small_sample,
    )


def _satterthwaite(problem: _Profiled, theta: np.ndarray, sigma: float) -> Satterthwaite | None:
    """lmerTest's Satterthwaite ingredients: V and A over (theta..., sigma), where A is
    2 x the inverse Hessian of the unprofiled (RE)ML deviance; SDs at 0 held fixed."""
    free = np.ones(theta.size, dtype=bool)
    free[problem.diagonal] = theta[problem.diagonal] > ZERO_SD
    varpar = np.append(theta[free], sigma)

    def full(values: np.ndarray) -> np.ndarray:
        point = np.append(theta.copy(), values[-1])
        point[:-1][free] = values[:-1]
        return point

    H = hessian(lambda v: problem.varpar_deviance(full(v)), varpar)
    try:
        varpar_cov = 2.0 * np.linalg.inv(H)
        return satterthwaite(lambda v: problem.varpar_cov(full(v)), varpar, varpar_cov)
    except np.linalg.LinAlgError:
        return None
