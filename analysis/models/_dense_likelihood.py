"""Laplace likelihood of a binomial-logit GLMM with vector-valued (correlated) random effects.

Model, in lme4's spherical form: eta = X beta + Z Lambda u, u ~ N(0, I); Lambda is block
diagonal, one lower-triangular ``L_k`` per level of term k (see
:mod:`analysis.models.random_terms`). This is the general case (random slopes such as
``(1 + encoding | participant)``, and any model with several terms; a single random
intercept, and adaptive quadrature, use :mod:`analysis.models._likelihood`). A =
Lambda'Z'WZ Lambda + I is factorised through its nesting (:mod:`analysis.models._clustered`:
one small block per participant, a dense Schur complement for the crossed dataset terms),
whose symbolic structure is built once per fit.

The conditional modes u_hat come from Newton with step halving to a gradient of 1e-10
(lme4's PIRLS with a tight tolPwrss); the Laplace deviance is
-2 log p(y | u_hat) + |u_hat|^2 + log det A, with log C(n, y) in log p (the full binomial
likelihood, as lme4 reports it).

Gradient (exact, by the implicit-function theorem on the mode equation
Lambda'Z'r = u with r = y - n mu; B = A^-1, ZL = Z Lambda, v_i = (ZL B ZL')_ii,
a = W' v with W' = n mu (1 - mu)(1 - 2 mu), t = B ZL'a):

- d/dbeta = X'(-2 r + a - W ZL t);
- d/dtheta_m = (a - 2 r - W ZL t)'(Z Lambda_m u) + r'(Z Lambda_m t)
  + 2 sum_i W_i (Z Lambda_m B ZL')_ii, with Lambda_m = dLambda/dtheta_m (0/1 pattern).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from analysis.models._clustered import ClusteredStructure, ClusteredSystem, cluster_layout
from analysis.models.random_terms import TermMatrix

_NEWTON_TOL = 1e-10
_MAX_NEWTON = 100


class DenseBinomialProblem:
    """Data of one fit with random terms ``matrices`` (any number of columns each).

    Z Lambda is kept as its nonzeros: row i has ``width`` entries (term k's p_k columns at
    its level), at columns ``self._cols[i]`` with values ``values[i]``; products with it
    are gathers and bincounts, and A is one bincount over the rows' outer products.
    """

    nagq = 1

    def __init__(
        self, successes: np.ndarray, trials: np.ndarray, X: np.ndarray, matrices: list[TermMatrix]
    ) -> None:
        self.successes, self.trials, self.X = successes, trials, X
        offsets = np.cumsum([0] + [tm.n_levels * tm.p for tm in matrices])
        self.q = int(offsets[-1])
        cols, self._blocks, lower, diagonal = [], [], [], []
        theta_start = position = 0
        for tm, offset in zip(matrices, offsets, strict=False):
            cols.append(offset + tm.codes[:, None] * tm.p + np.arange(tm.p)[None, :])
            cells = tm.theta_cells()
            self._blocks.append((tm, theta_start, cells, position))
            for index, (r, c) in enumerate(cells):
                lower.append(0.0 if r == c else -np.inf)
                if r == c:
                    diagonal.append(theta_start + index)
            theta_start += len(cells)
            position += tm.p
        self.n_theta = theta_start
        self.theta_lower = np.array(lower)
        self.diagonal = np.array(diagonal, dtype=int)
        self._cols = np.concatenate(cols, axis=1)
        self._flat = self._cols.ravel()
        self._structure = ClusteredStructure(cluster_layout(matrices, offsets), self._cols)
        self.log_choose = float(
            np.sum(
                special.gammaln(trials + 1)
                - special.gammaln(successes + 1)
                - special.gammaln(trials - successes + 1)
            )
        )
        self._u = np.zeros(self.q)

    def _values(self, theta: np.ndarray) -> np.ndarray:
        """The nonzeros of Z Lambda: per term, the rows' term columns times L_k."""
        values = []
        for tm, start, cells, _ in self._blocks:
            L = np.zeros((tm.p, tm.p))
            for (r, c), value in zip(cells, theta[start : start + len(cells)], strict=True):
                L[r, c] = value
            values.append(tm.X @ L)
        return np.concatenate(values, axis=1)

    def _times(self, values: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Z Lambda @ u."""
        return np.einsum("ip,ip->i", values, u[self._cols])

    def _transposed(self, values: np.ndarray, x: np.ndarray) -> np.ndarray:
        """(Z Lambda)' @ x."""
        return np.bincount(self._flat, (values * x[:, None]).ravel(), self.q)

    def _loglik(self, eta: np.ndarray) -> float:
        return float(np.sum(self.successes * eta - self.trials * np.logaddexp(0.0, eta)))

    def _cholesky(self, products: np.ndarray, weights: np.ndarray) -> ClusteredSystem:
        """A = Lambda'Z'WZ Lambda + I, factorised through its nesting (_clustered)."""
        return self._structure.system(weights, products)

    def conditional_modes(self, theta: np.ndarray, beta: np.ndarray):
        """Newton for u_hat; returns (u_hat, eta, W, Z Lambda's values, Cholesky of A)."""
        values = self._values(theta)
        products = self._structure.pair_products(values)
        fixed = self.X @ beta
        u = self._u.copy()
        eta = fixed + self._times(values, u)
        value = self._loglik(eta) - 0.5 * u @ u
        for _ in range(_MAX_NEWTON):
            mu = special.expit(eta)
            weights = self.trials * mu * (1.0 - mu)
            gradient = self._transposed(values, self.successes - self.trials * mu) - u
            if np.max(np.abs(gradient)) < _NEWTON_TOL:
                break
            step = self._cholesky(products, weights).solve(gradient)
            for _ in range(40):
                new_eta = fixed + self._times(values, u + step)
                new_value = self._loglik(new_eta) - 0.5 * (u + step) @ (u + step)
                if new_value >= value - 1e-12 * abs(value):
                    break
                step = step / 2.0
            u, value, eta = u + step, new_value, new_eta
        mu = special.expit(eta)
        weights = self.trials * mu * (1.0 - mu)
        self._u = u
        return u, eta, weights, values, self._cholesky(products, weights)

    def fixed_information(self, theta: np.ndarray, beta: np.ndarray) -> np.ndarray:
        """X'WX - X'WZ Lambda A^-1 Lambda'Z'WX at the conditional modes (lme4's RX'RX):
        the inverse is the covariance of beta given theta."""
        _, _, W, values, chol = self.conditional_modes(theta, beta)
        WX = W[:, None] * self.X
        LZWX = np.column_stack([self._transposed(values, column) for column in WX.T])
        return self.X.T @ WX - LZWX.T @ chol.solve(LZWX)

    def _value(self, u: np.ndarray, eta: np.ndarray, chol: ClusteredSystem) -> float:
        return -2.0 * (self._loglik(eta) + self.log_choose) + float(u @ u) + chol.logdet

    def deviance(self, params: np.ndarray) -> float:
        """-2 x Laplace log-likelihood at params = (theta..., beta...)."""
        u, eta, _, _, chol = self.conditional_modes(params[: self.n_theta], params[self.n_theta :])
        return self._value(u, eta, chol)

    def laplace_objective(self, params: np.ndarray) -> tuple[float, np.ndarray]:
        """Laplace deviance and its exact gradient over (theta, beta) (module docstring).

        Only B's entries at each row's own columns are needed: with
        ``M[i] = values[i] @ B[cols_i, cols_i]``, ``(ZL B ZL')_ii = M[i] . values[i]`` and
        ``(Z Lambda_m B ZL')_ii = x_ir M[i, position of column c]``.
        """
        theta, beta = params[: self.n_theta], params[self.n_theta :]
        u, eta, W, values, chol = self.conditional_modes(theta, beta)
        mu = special.expit(eta)
        r = self.successes - self.trials * mu
        M = np.einsum("ip,ipq->iq", values, chol.row_blocks())
        v = np.einsum("ip,ip->i", M, values)
        a = W * (1.0 - 2.0 * mu) * v
        t = chol.solve(self._transposed(values, a))
        ZLt = self._times(values, t)
        common = a - 2.0 * r - W * ZLt
        grad_theta = np.empty(self.n_theta)
        for tm, start, cells, position in self._blocks:
            for index, (row, col) in enumerate(cells):
                x, where = tm.X[:, row], self._cols[:, position + col]
                trace = float(np.sum(W * x * M[:, position + col]))
                grad_theta[start + index] = (
                    common @ (x * u[where]) + r @ (x * t[where]) + 2.0 * trace
                )
        grad_beta = self.X.T @ (-2.0 * r + a - W * ZLt)
        return self._value(u, eta, chol), np.concatenate([grad_theta, grad_beta])
