"""Satterthwaite degrees of freedom for Wald t tests of mixed-model fixed effects.

Why not the normal reference (Wald z, lme4's default for GLMMs): the SE of an encoding
effect is estimated from the participant x encoding and dataset x encoding variances,
which 20 participants and 12 datasets pin down with few effective degrees of freedom. z
ignores that uncertainty, so it rejects too often in small studies (Bolker et al., 2009,
Trends Ecol. Evol. 24: 127-135; the GLMM FAQ). Likelihood-ratio tests of fixed effects
are anti-conservative too with few groups (Pinheiro & Bates, 2000, section 2.4.2).

The approximation (Satterthwaite, 1946; as lmerTest implements it for lmer fits,
Kuznetsova, Brockhoff & Christensen, 2017, J. Stat. Softw. 82(13)): for a contrast c,
with V(phi) the fixed-effect covariance as a function of the variance parameters phi and
A the asymptotic covariance of phi-hat (2 x the inverse Hessian of the deviance),

    df = 2 (c'Vc)^2 / (g' A g),   g_j = c' (dV/dphi_j) c,

and t = c'beta / sqrt(c'Vc) is referred to t(df). For a GLMM V(phi) is the conditional
covariance of beta given theta (lme4's RX form: (X'WX - X'WZ Lambda A^-1 Lambda Z'WX)^-1
at the conditional modes), phi = theta, and the df use 2 / Var(log c'Vc), which does not
depend on V's scale, so the test's SE stays lme4's Hessian-based one. Variance
parameters at the boundary (an SD of 0) are held fixed, as in the SEs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: df below this are reported as this (a contrast carried by one group's variance).
MIN_DF = 1.0


@dataclass(frozen=True)
class Satterthwaite:
    """What the df of any contrast need: V, dV/dphi and Cov(phi-hat)."""

    cov: np.ndarray
    jacobian: np.ndarray
    varpar_cov: np.ndarray

    def df(self, contrast: np.ndarray) -> float:
        """Satterthwaite df of ``contrast``' beta (inf when no variance parameter is free)."""
        c = np.asarray(contrast, dtype=float)
        value = float(c @ self.cov @ c)
        if self.jacobian.shape[0] == 0 or not value > 0:
            return np.inf
        g = np.einsum("i,kij,j->k", c, self.jacobian, c)
        variance = float(g @ self.varpar_cov @ g)
        if not np.isfinite(variance):
            return np.nan
        if variance <= 0:
            return np.inf
        return max(MIN_DF, 2.0 * value**2 / variance)

    def term_df(self) -> np.ndarray:
        """df of each coefficient."""
        return np.array([self.df(row) for row in np.eye(self.cov.shape[0])])


def satterthwaite(
    cov_at: Callable[[np.ndarray], np.ndarray],
    varpar: np.ndarray,
    varpar_cov: np.ndarray,
    *,
    step: float = 1e-4,
) -> Satterthwaite:
    """From ``cov_at(phi)`` (the fixed-effect covariance at variance parameters phi),
    the estimate ``varpar`` and its covariance: dV/dphi by central differences."""
    phi = np.asarray(varpar, dtype=float)
    cov = cov_at(phi)
    jacobian = np.empty((phi.size, *cov.shape))
    for j in range(phi.size):
        h = step * max(1.0, abs(phi[j]))
        up, down = phi.copy(), phi.copy()
        up[j] += h
        down[j] -= h
        jacobian[j] = (cov_at(up) - cov_at(down)) / (2.0 * h)
    return Satterthwaite(cov, jacobian, np.asarray(varpar_cov, dtype=float))
