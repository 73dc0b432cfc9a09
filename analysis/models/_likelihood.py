"""Marginal likelihood of a binomial-logit GLMM with random intercepts (the numerics).

Model, in lme4's spherical form: eta = X beta + Z Lambda u, u ~ N(0, I), Lambda = diag of
one SD (theta_k) per grouping factor, y_i ~ Binomial(n_i, logistic(eta_i)).

For fixed (theta, beta) the conditional mode u_hat maximises
h(u) = log p(y | u) - |u|^2 / 2 (concave: Newton with step halving, like lme4's PIRLS but
iterated to a gradient of 1e-10, where lme4's default tolPwrss stops earlier).
Then, as in lme4:

- Laplace: deviance = -2 log p(y | u_hat) + |u_hat|^2 + log det A,
  A = Lambda Z'WZ Lambda + I, W = n mu (1 - mu) at u_hat; any number of crossed factors.
- adaptive Gauss-Hermite (one factor): each group's integral is centred at its mode and
  scaled by s_j = A_jj^(-1/2), then integrated with ``nagq`` nodes; nagq = 1 is Laplace.

A is handled in blocks: the first factor's block is diagonal (one intercept per level,
each row in one level), the other factors' block is small and dense, so solves and log
determinants go through its Schur complement: O(q1 q_rest^2) instead of O(q^3). Put the
factor with most levels first (:func:`analysis.models.glmm.fit_glmm` does).

``log p(y | u)`` includes log C(n, y): the log-likelihood is the full binomial one.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg, special

_NEWTON_TOL = 1e-10
_MAX_NEWTON = 100


def _cross_counts(gk: np.ndarray, nk: int, gl: np.ndarray, nl: int, w: np.ndarray) -> np.ndarray:
    """sum of w over rows in level pair (a, b) of factors k and l, as an nk x nl array."""
    return np.bincount(gk * nl + gl, w, nk * nl).reshape(nk, nl)


class BlockSystem:
    """A = [[diag(d), C], [C', E]] with its Schur complement S = E - C' diag(d)^-1 C."""

    def __init__(self, d: np.ndarray, C: np.ndarray, E: np.ndarray) -> None:
        self.d, self.C = d, C
        self.G = C / d[:, None]
        self.rest = E.shape[0]
        self.chol = linalg.cho_factor(E - C.T @ self.G) if self.rest else None
        self.logdet = float(np.sum(np.log(d)))
        if self.rest:
            self.logdet += 2.0 * float(np.sum(np.log(np.diag(self.chol[0]))))

    def solve(self, b: np.ndarray) -> np.ndarray:
        q1 = self.d.size
        if not self.rest:
            return b / self.d
        y2 = linalg.cho_solve(self.chol, b[q1:] - self.G.T @ b[:q1])
        return np.concatenate([(b[:q1] - self.C @ y2) / self.d, y2])

    def inverse_blocks(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """diag of the first block of A^-1, the off-diagonal block, and the dense block."""
        if not self.rest:
            return 1.0 / self.d, np.zeros((self.d.size, 0)), np.zeros((0, 0))
        S_inv = linalg.cho_solve(self.chol, np.eye(self.rest))
        GS = self.G @ S_inv
        return 1.0 / self.d + np.sum(GS * self.G, axis=1), -GS, S_inv


class BinomialProblem:
    """Data of one fit; ``groups[k]`` holds integer level codes 0..n_k-1 of factor k per row."""

    def __init__(
        self,
        successes: np.ndarray,
        trials: np.ndarray,
        X: np.ndarray,
        groups: list[np.ndarray],
        nagq: int = 1,
    ) -> None:
        self.successes, self.trials, self.X, self.groups, self.nagq = (
            successes,
            trials,
            X,
            groups,
            nagq,
        )
        self.n_levels = [int(codes.max()) + 1 for codes in groups]
        self.offsets = np.concatenate([[0], np.cumsum(self.n_levels)]).astype(int)
        self.q = int(self.offsets[-1])
        self.columns = [codes + offset for codes, offset in zip(groups, self.offsets, strict=False)]
        self._all_columns = np.concatenate(self.columns)
        self.log_choose = float(
            np.sum(
                special.gammaln(trials + 1)
                - special.gammaln(successes + 1)
                - special.gammaln(trials - successes + 1)
            )
        )
        # The optimiser's view (shared with _dense_likelihood): one SD per factor, >= 0.
        self.n_theta = len(groups)
        self.theta_lower = np.zeros(self.n_theta)
        self.diagonal = np.arange(self.n_theta)
        nodes, weights = np.polynomial.hermite_e.hermegauss(nagq)
        self.nodes, self.log_weights = nodes, np.log(weights / np.sqrt(2.0 * np.pi))
        self._u = np.zeros(self.q)

    def _z(self, values: np.ndarray) -> np.ndarray:
        """Z @ values (n rows) for random intercepts."""
        return sum(values[cols] for cols in self.columns)

    def _zt(self, values: np.ndarray) -> np.ndarray:
        """Z' @ values (q levels)."""
        return np.bincount(self._all_columns, np.tile(values, len(self.groups)), self.q)

    def _loglik_terms(self, eta: np.ndarray) -> np.ndarray:
        """Per-row log p(y | eta) without log C(n, y)."""
        return self.successes * eta - self.trials * np.logaddexp(0.0, eta)

    def _system(self, lam: np.ndarray, weights: np.ndarray) -> BlockSystem:
        """A = Lambda Z'WZ Lambda + I in blocks (first factor diagonal)."""
        g, n = self.groups, self.n_levels
        q1 = n[0]
        d = 1.0 + lam[:q1] ** 2 * np.bincount(g[0], weights, q1)
        rest = self.q - q1
        C, E = np.zeros((q1, rest)), np.eye(rest)
        for k in range(1, len(g)):
            ok = self.offsets[k] - q1
            C[:, ok : ok + n[k]] = _cross_counts(g[0], q1, g[k], n[k], weights)
            E[ok : ok + n[k], ok : ok + n[k]] += np.diag(np.bincount(g[k], weights, n[k]))
            for m in range(k + 1, len(g)):
                om = self.offsets[m] - q1
                block = _cross_counts(g[k], n[k], g[m], n[m], weights)
                E[ok : ok + n[k], om : om + n[m]] = block
                E[om : om + n[m], ok : ok + n[k]] = block.T
        lam_rest = lam[q1:]
        C *= lam[:q1, None] * lam_rest[None, :]
        E = lam_rest[:, None] * (E - np.eye(rest)) * lam_rest[None, :] + np.eye(rest)
        return BlockSystem(d, C, E)

    def conditional_modes(self, theta: np.ndarray, beta: np.ndarray):
        """Newton for u_hat; returns (u_hat, eta, W, A as a BlockSystem)."""
        lam = np.repeat(theta, self.n_levels)
        fixed = self.X @ beta
        u = self._u.copy()

        def objective(u: np.ndarray) -> tuple[float, np.ndarray]:
            eta = fixed + self._z(lam * u)
            return float(self._loglik_terms(eta).sum() - 0.5 * u @ u), eta

        value, eta = objective(u)
        for _ in range(_MAX_NEWTON):
            mu = special.expit(eta)
            weights = self.trials * mu * (1.0 - mu)
            gradient = lam * self._zt(self.successes - self.trials * mu) - u
            if np.max(np.abs(gradient)) < _NEWTON_TOL:
                break
            step = self._system(lam, weights).solve(gradient)
            for _ in range(40):
                new_value, new_eta = objective(u + step)
                if new_value >= value - 1e-12 * abs(value):
                    break
                step = step / 2.0
            u, value, eta = u + step, new_value, new_eta
        mu = special.expit(eta)
        weights = self.trials * mu * (1.0 - mu)
        self._u = u
        return u, eta, weights, self._system(lam, weights)

    def fixed_information(self, theta: np.ndarray, beta: np.ndarray) -> np.ndarray:
        """X'WX - X'WZ Lambda A^-1 Lambda Z'WX at the conditional modes (lme4's RX'RX):
        the inverse is the covariance of beta given theta."""
        theta = np.abs(theta)
        _, _, W, A = self.conditional_modes(theta, beta)
        lam = np.repeat(theta, self.n_levels)
        WX = W[:, None] * self.X
        LZWX = np.column_stack([lam * self._zt(column) for column in WX.T])
        solved = np.column_stack([A.solve(column) for column in LZWX.T])
        return self.X.T @ WX - LZWX.T @ solved

    def deviance(self, params: np.ndarray) -> float:
        """-2 x (approximate) marginal log-likelihood at params = (theta..., beta...)."""
        k = len(self.groups)
        theta, beta = np.abs(params[:k]), params[k:]
        u, eta, _, A = self.conditional_modes(theta, beta)
        if self.nagq == 1:
            conditional = float(self._loglik_terms(eta).sum()) + self.log_choose
            return -2.0 * conditional + float(u @ u) + A.logdet
        return -2.0 * self._agq_loglik(float(theta[0]), u, eta, A.d)

    def laplace_objective(self, params: np.ndarray) -> tuple[float, np.ndarray]:
        """Laplace deviance and its exact gradient over (theta, beta).

        With r = y - n mu, W' = W (1 - 2 mu), B = A^-1 and v_i = z_i' Lambda B Lambda z_i,
        the implicit-function theorem on the mode equation Lambda Z'r = u gives
        d/dbeta = X'(-2r + a - W Z Lambda t) with a = W' v, t = B Lambda Z'a, and per level
        j of factor k: d/dtheta_k = sum_j [-2 u_j (Z'r)_j + 2 (1 - B_jj) / lambda_j
        + (Z'a)_j u_j - (M Lambda t)_j u_j + t_j (Z'r)_j], M = Z'WZ (using
        B Lambda M = (I - B) Lambda^-1). Checked against finite differences in the tests.
        """
        k = len(self.groups)
        sign = np.where(params[:k] < 0, -1.0, 1.0)
        theta, beta = np.abs(params[:k]), params[k:]
        u, eta, W, A = self.conditional_modes(theta, beta)
        lam = np.repeat(theta, self.n_levels)
        mu = special.expit(eta)
        r = self.successes - self.trials * mu
        diag1, B12, B22 = A.inverse_blocks()
        q1 = self.n_levels[0]
        first = self.groups[0]
        v = lam[first] ** 2 * diag1[first]
        for cols_l in self.columns[1:]:
            v += 2.0 * lam[first] * lam[cols_l] * B12[first, cols_l - q1]
            for cols_m in self.columns[1:]:
                v += lam[cols_l] * lam[cols_m] * B22[cols_l - q1, cols_m - q1]
        a = W * (1.0 - 2.0 * mu) * v
        Ztr, Zta = self._zt(r), self._zt(a)
        t = A.solve(lam * Zta)
        ZLt = self._z(lam * t)
        MLt = self._zt(W * ZLt)
        B_diag = np.concatenate([diag1, np.diag(B22)])
        with np.errstate(divide="ignore", invalid="ignore"):
            trace = np.where(lam > 0, (1.0 - B_diag) / lam, 0.0)
        per_level = -2.0 * u * Ztr + 2.0 * trace + Zta * u - MLt * u + t * Ztr
        grad_theta = np.add.reduceat(per_level, self.offsets[:-1]) * sign
        grad_beta = self.X.T @ (-2.0 * r + a - W * ZLt)
        conditional = float(self._loglik_terms(eta).sum()) + self.log_choose
        value = -2.0 * conditional + float(u @ u) + A.logdet
        return value, np.concatenate([grad_theta, grad_beta])

    def _agq_loglik(self, theta: float, u: np.ndarray, eta: np.ndarray, a_diag: np.ndarray):
        """Sum over groups of log ∫ p(y_j | u) φ(u) du by adaptive Gauss-Hermite."""
        codes = self.groups[0]
        scale = 1.0 / np.sqrt(a_diag)
        shift = scale[:, None] * self.nodes[None, :]  # (groups, nodes) offsets of u
        eta_nodes = eta[:, None] + theta * shift[codes]
        per_row = self.successes[:, None] * eta_nodes - self.trials[:, None] * np.logaddexp(
            0.0, eta_nodes
        )
        per_group = np.stack(
            [np.bincount(codes, per_row[:, j], self.q) for j in range(self.nagq)], axis=1
        )
        u_nodes = u[:, None] + shift
        log_h = per_group - 0.5 * u_nodes**2 + 0.5 * self.nodes[None, :] ** 2
        integral = special.logsumexp(log_h + self.log_weights[None, :], axis=1) + np.log(scale)
        return float(integral.sum()) + self.log_choose
