"""Random-intercept LMM by profiled (RE)ML from per-group sums: lme4's deviance, fast.

For y = X beta + b_group + e, b ~ N(0, theta^2 sigma^2), e ~ N(0, sigma^2), the marginal
covariance per group is sigma^2 (I + tau 11'), tau = theta^2, whose inverse is
I - w 11' with w = tau / (1 + n_g tau). So X'V^-1 X, X'V^-1 y and y'V^-1 y need only the
per-group counts and sums, and for each theta beta and sigma are profiled out exactly as in
lme4 (Bates et al. 2015, eq. 34 and 41):

    ML:   -2 l = n (1 + log(2 pi RSS / n)) + sum log(1 + n_g tau)
    REML: -2 l = (n - p)(1 + log(2 pi RSS / (n - p))) + sum log(1 + n_g tau) + log|X'V^-1 X|

leaving a one-dimensional bounded minimisation over theta >= 0. statsmodels' MixedLM
loops over groups in Python (seconds for a few hundred participants); this is O(n).
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

_THETA_MAX = 1e3


class InterceptLMM:
    """Sufficient statistics of one fit; :meth:`deviance` and :meth:`estimates` per theta."""

    def __init__(self, y: np.ndarray, X: np.ndarray, codes: np.ndarray, reml: bool) -> None:
        self.n, self.p = X.shape
        self.reml = reml
        n_groups = int(codes.max()) + 1
        self.sizes = np.bincount(codes, minlength=n_groups).astype(float)
        self.sum_x = np.stack([np.bincount(codes, X[:, j], n_groups) for j in range(self.p)], 1)
        self.sum_y = np.bincount(codes, y, n_groups)
        self.xtx, self.xty, self.yty = X.T @ X, X.T @ y, float(y @ y)

    def _solve(self, theta: float):
        tau = theta * theta
        w = tau / (1.0 + self.sizes * tau)
        A = self.xtx - (self.sum_x * w[:, None]).T @ self.sum_x
        b = self.xty - self.sum_x.T @ (w * self.sum_y)
        beta = np.linalg.solve(A, b)
        rss = self.yty - float(np.sum(w * self.sum_y**2)) - float(b @ beta)
        return A, beta, rss, float(np.sum(np.log1p(self.sizes * tau)))

    def deviance(self, theta: float) -> float:
        A, _, rss, logdet_v = self._solve(theta)
        dof = self.n - self.p if self.reml else self.n
        value = dof * (1.0 + np.log(2.0 * np.pi * rss / dof)) + logdet_v
        if self.reml:
            value += np.linalg.slogdet(A)[1]
        return float(value)

    def fit(self) -> dict:
        """theta by bounded Brent (and the boundary 0), then beta, its covariance, SDs."""
        found = optimize.minimize_scalar(
            self.deviance, bounds=(0.0, _THETA_MAX), method="bounded", options={"xatol": 1e-10}
        )
        theta = float(found.x) if self.deviance(found.x) < self.deviance(0.0) else 0.0
        A, beta, rss, _ = self._solve(theta)
        sigma2 = rss / (self.n - self.p if self.reml else self.n)
        return {
            "beta": beta,
            "cov": sigma2 * np.linalg.inv(A),
            "sigma": float(np.sqrt(sigma2)),
            "group_sd": theta * float(np.sqrt(sigma2)),
            "loglik": -0.5 * self.deviance(theta),
            "at_boundary": theta < 1e-6,
        }
