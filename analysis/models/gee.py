"""GEE logistic regression with participant clusters: the model-light robustness check.

A marginal (population-averaged) model of P(correct): exchangeable working correlation
within participant, and the Mancl-DeRouen bias-reduced sandwich covariance, which keeps
Wald tests honest with few clusters (small N). Its odds ratios are population-averaged,
so smaller in magnitude than the GLMM's subject-specific ones; signs and tests should
agree.

Why not statsmodels' GEE directly: it works trial by trial (one m x m solve per cluster
for the bias correction) and its bias-reduced covariance rejects frequency weights, which
took over a minute on 100k trials. Every quantity of the exchangeable GEE depends on a
cluster's trials only through per-row counts, because all trials in a row (participant x
condition cell) share x and mu: with s = sqrt(mu (1 - mu)), R^-1 = (I - c 11') / (1 - a),
c = a / (1 + (m - 1) a), the score is U_i = (X'r - c A_i b_i) / (1 - a) with
A_i = sum n s x, b_i = sum (y - n mu) / s, and K_i = D'V^-1 D = (sum n s^2 x x' - c A_i
A_i') / (1 - a). The bias-reduced score is U_i + K_i (M - K_i)^-1 U_i (Woodbury on
(I - H_i)^-1, M = sum K_i). Updates follow statsmodels' (moment estimate of a with
ddof = p); tests check the numbers against statsmodels on trial-level data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from analysis.errors import AnalysisError
from analysis.models.design import design_matrix
from analysis.models.wald import wald_table

COV_TYPES = ("bias_reduced", "robust", "naive")


@dataclass(frozen=True)
class GEEResult:
    """Coefficients (log odds, population-averaged) with bias-reduced SEs."""

    formula: str
    group: str
    cov_type: str
    fixed_names: tuple[str, ...]
    params: np.ndarray
    bse: np.ndarray
    cov: np.ndarray
    working_correlation: float
    nobs: int
    n_clusters: int
    notes: tuple[str, ...]

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        return wald_table(
            self.fixed_names, self.params, self.bse, level=level, intervals=False, odds_ratios=True
        )

    def summary(self) -> str:
        return "\n".join(
            [
                f"GEE logistic ({self.cov_type} covariance, exchangeable within {self.group}): "
                f"{self.formula}",
                f"rows {self.nobs}  clusters {self.n_clusters}  "
                f"working correlation {self.working_correlation:.4f}",
                self.to_frame().to_string(index=False, float_format=lambda v: f"{v:.4f}"),
                *self.notes,
            ]
        )


def _counts(data: pd.DataFrame, lhs: str, trials: str | None) -> tuple[np.ndarray, np.ndarray]:
    y = pd.to_numeric(data[lhs].astype(float) if data[lhs].dtype == bool else data[lhs])
    y = y.to_numpy(dtype=float)
    n = np.ones_like(y) if trials is None else data[trials].to_numpy(dtype=float)
    if not np.all(np.isfinite(y) & (y >= 0) & (y <= n)):
        raise AnalysisError(f"GEE response {lhs!r} must be counts between 0 and the trials")
    return y, n


def fit_gee(
    data: pd.DataFrame,
    formula: str,
    *,
    group: str,
    trials: str | None = None,
    cov_type: str = "bias_reduced",
    tol: float = 1e-10,
    max_iter: int = 100,
) -> GEEResult:
    """Fit ``formula`` (successes ~ terms) with exchangeable correlation within ``group``.

    ``trials`` names the column of trial counts when rows are aggregated cells (None: one
    0/1 or boolean outcome per row); ``cov_type`` is "bias_reduced", "robust" or "naive".
    """
    if cov_type not in COV_TYPES:
        raise AnalysisError(f"cov_type must be one of {COV_TYPES}")
    if group not in data.columns:
        raise AnalysisError(f"cluster column {group!r} not in the data")
    if data.empty:
        raise AnalysisError("no rows to fit the GEE to")
    clusters, _ = pd.factorize(data[group], sort=True)
    n_clusters = int(clusters.max()) + 1
    if n_clusters < 2:
        raise AnalysisError("GEE needs at least two clusters (participants)")
    lhs, X, names, _ = design_matrix(data, formula)
    y, n = _counts(data, lhs, trials)
    p = X.shape[1]
    sizes = np.bincount(clusters, n, n_clusters)
    pairs = float(np.sum(sizes * (sizes - 1) / 2))
    beta = _independence_start(X, y, n)
    alpha, notes = 0.0, []
    for _ in range(max_iter):
        mu = special.expit(X @ beta)
        v = mu * (1 - mu)
        s = np.sqrt(v)
        resid_sum = np.bincount(clusters, (y - n * mu) / s, n_clusters)
        squares = np.bincount(clusters, (y * (1 - mu) ** 2 + (n - y) * mu**2) / v, n_clusters)
        scale = squares.sum() / (n.sum() - p)
        alpha = float(np.sum(resid_sum**2 - squares) / 2 / scale / (pairs - p))
        U, K = _cluster_terms(X, y, n, mu, clusters, n_clusters, alpha, sizes)
        M = K.sum(axis=0)
        step = np.linalg.solve(M, U.sum(axis=0))
        beta = beta + step
        if np.max(np.abs(step)) < tol:
            break
    else:
        notes.append(f"GEE stopped after {max_iter} iterations without converging")
    mu = special.expit(X @ beta)
    U, K = _cluster_terms(X, y, n, mu, clusters, n_clusters, alpha, sizes)
    M_inv = np.linalg.inv(K.sum(axis=0))
    if cov_type == "bias_reduced":
        M = K.sum(axis=0)
        U = np.stack([U[i] + K[i] @ np.linalg.solve(M - K[i], U[i]) for i in range(n_clusters)])
    cov = M_inv if cov_type == "naive" else M_inv @ (U.T @ U) @ M_inv
    return GEEResult(
        formula=formula,
        group=group,
        cov_type=cov_type,
        fixed_names=tuple(names),
        params=beta,
        bse=np.sqrt(np.diag(cov)),
        cov=cov,
        working_correlation=alpha,
        nobs=int(n.sum()),
        n_clusters=n_clusters,
        notes=tuple(notes),
    )


def _cluster_terms(X, y, n, mu, clusters, n_clusters, alpha, sizes):
    """Per-cluster score U_i (k x p) and information K_i (k x p x p) at mu."""
    v = mu * (1 - mu)
    s = np.sqrt(v)
    c = alpha / (1 + (sizes - 1) * alpha)
    p = X.shape[1]
    XtR = np.stack([np.bincount(clusters, X[:, j] * (y - n * mu), n_clusters) for j in range(p)], 1)
    A = np.stack([np.bincount(clusters, X[:, j] * n * s, n_clusters) for j in range(p)], 1)
    b = np.bincount(clusters, (y - n * mu) / s, n_clusters)
    U = (XtR - c[:, None] * A * b[:, None]) / (1 - alpha)
    weighted = X * (n * v)[:, None]
    XWX = np.zeros((n_clusters, p, p))
    for j in range(p):
        for k in range(j + 1):
            XWX[:, j, k] = XWX[:, k, j] = np.bincount(
                clusters, weighted[:, j] * X[:, k], n_clusters
            )
    K = (XWX - c[:, None, None] * A[:, :, None] * A[:, None, :]) / (1 - alpha)
    return U, K


def _independence_start(X: np.ndarray, y: np.ndarray, n: np.ndarray) -> np.ndarray:
    """The logistic GLM (independence GEE) by IRLS: statsmodels' starting point too."""
    beta = np.zeros(X.shape[1])
    for _ in range(50):
        mu = special.expit(X @ beta)
        step = np.linalg.solve(X.T @ (X * (n * mu * (1 - mu))[:, None]), X.T @ (y - n * mu))
        beta = beta + step
        if np.max(np.abs(step)) < 1e-12:
            break
    return beta
