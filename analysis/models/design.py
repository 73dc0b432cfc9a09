"""Shared model plumbing: design matrices from formulas, finite-difference Hessians.

Formulas are patsy's (statsmodels depends on patsy): ``"y ~ C(encoding) + layout"``.
Only the right-hand side goes through patsy; the left-hand side is a column name, so the
response can be a count with its binomial size given separately.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import patsy

from analysis.errors import AnalysisError


def design_matrix(data: pd.DataFrame, formula: str) -> tuple[str, np.ndarray, list[str], object]:
    """Split "lhs ~ rhs"; return (lhs column, X, column names, patsy DesignInfo)."""
    if formula.count("~") != 1:
        raise AnalysisError(f"formula {formula!r} must look like 'response ~ terms'")
    lhs, rhs = (part.strip() for part in formula.split("~"))
    try:
        X = patsy.dmatrix(rhs, data, return_type="dataframe", NA_action="raise")
    except (patsy.PatsyError, KeyError, NameError) as error:
        raise AnalysisError(f"cannot build the design of {formula!r}: {error}") from None
    matrix = X.to_numpy(dtype=float)
    if np.linalg.matrix_rank(matrix) < matrix.shape[1]:
        raise AnalysisError(
            f"the fixed effects of {formula!r} are not estimable from these data (rank "
            "deficient design): drop a term or a level that never occurs"
        )
    return lhs, matrix, list(X.columns), X.design_info


def hessian(f: Callable[[np.ndarray], float], x: np.ndarray, step: float = 1e-4) -> np.ndarray:
    """Central finite-difference Hessian with steps ``step * max(1, |x_i|)``."""
    n = x.size
    h = step * np.maximum(1.0, np.abs(x))
    center = f(x)
    H = np.empty((n, n))

    def at(i: int, si: float, j: int, sj: float) -> float:
        point = x.copy()
        point[i] += si * h[i]
        point[j] += sj * h[j]
        return f(point)

    for i in range(n):
        H[i, i] = (at(i, 1, i, 0) - 2 * center + at(i, -1, i, 0)) / h[i] ** 2
        for j in range(i):
            value = at(i, 1, j, 1) - at(i, 1, j, -1) - at(i, -1, j, 1) + at(i, -1, j, -1)
            H[i, j] = H[j, i] = value / (4 * h[i] * h[j])
    return H


def gradient_hessian(
    gradient: Callable[[np.ndarray], np.ndarray], x: np.ndarray, step: float = 1e-5
) -> np.ndarray:
    """Hessian as central differences of an exact gradient, symmetrised."""
    h = step * np.maximum(1.0, np.abs(x))
    columns = []
    for i in range(x.size):
        up, down = x.copy(), x.copy()
        up[i] += h[i]
        down[i] -= h[i]
        columns.append((gradient(up) - gradient(down)) / (2 * h[i]))
    H = np.column_stack(columns)
    return (H + H.T) / 2
