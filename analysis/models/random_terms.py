"""Random-effect terms in lme4's notation, and their model matrices.

A term is ``(expr | group)``: ``expr`` is ``1`` (a random intercept) or ``1 + x`` (an
intercept and slopes for ``x``, correlated: lme4's ``(1 + x | g)``), and ``group`` is a
column or an interaction of columns (``participant:encoding``: one level per observed
pair). A bare name ``"herd"`` or ``"participant:encoding"`` means ``(1 | that)``.

Each term contributes, per level of its group, ``p`` random effects ``b = L u`` with
``u ~ N(0, I)`` and ``L`` lower triangular (lme4's Cholesky parametrisation, so
``Var(b) = L L'``). Its parameters ``theta`` are the lower triangle of ``L`` column by
column, as lme4 orders them; the diagonal is bounded below by 0, the rest is free.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import patsy

from analysis.errors import AnalysisError

_TERM = re.compile(r"^\(?\s*(?P<expr>[^|()]+?)\s*\|\s*(?P<group>[\w.:]+)\s*\)?$")


@dataclass(frozen=True)
class RandomTerm:
    """One ``(expr | group)`` term."""

    expr: str
    group: str

    @property
    def label(self) -> str:
        return f"({self.expr} | {self.group})"

    @property
    def is_intercept(self) -> bool:
        return self.expr == "1"


def parse_term(spec: str) -> RandomTerm:
    """``"herd"``, ``"a:b"``, ``"(1 | herd)"`` or ``"(1 + x | g)"`` as a :class:`RandomTerm`."""
    text = str(spec).strip()
    if re.fullmatch(r"[\w.:]+", text):
        return RandomTerm("1", text)
    match = _TERM.match(text)
    if not match:
        raise AnalysisError(
            f"random term {spec!r} is not '(1 | group)', '(1 + x | group)' or a column name"
        )
    expr = re.sub(r"\s+", " ", match.group("expr"))
    if not re.match(r"^1(\s*\+|$)", expr):
        raise AnalysisError(f"random term {spec!r} must start with '1' (lme4's intercept)")
    return RandomTerm(expr, match.group("group"))


@dataclass(frozen=True)
class TermMatrix:
    """A term's columns ``X`` (n x p), their names, and each row's group level code."""

    term: RandomTerm
    X: np.ndarray
    names: tuple[str, ...]
    codes: np.ndarray
    n_levels: int

    @property
    def p(self) -> int:
        return self.X.shape[1]

    def theta_cells(self) -> list[tuple[int, int]]:
        """(row, column) of L for each theta, lme4's column-major lower triangle."""
        return [(r, c) for c in range(self.p) for r in range(c, self.p)]


def term_matrix(data: pd.DataFrame, term: RandomTerm) -> TermMatrix:
    """Evaluate ``term`` on ``data``: its model matrix and group codes."""
    columns = term.group.split(":")
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise AnalysisError(f"grouping column(s) {', '.join(missing)} not in the data")
    codes = data.groupby(columns, sort=True, observed=True).ngroup().to_numpy()
    if term.is_intercept:
        X, names = np.ones((len(data), 1)), ("(Intercept)",)
    else:
        try:
            frame = patsy.dmatrix(term.expr, data, return_type="dataframe", NA_action="raise")
        except (patsy.PatsyError, KeyError, NameError) as error:
            raise AnalysisError(f"cannot build random term {term.label}: {error}") from None
        X, names = frame.to_numpy(dtype=float), tuple(frame.columns)
    return TermMatrix(term, X, names, codes, int(codes.max()) + 1)


def varcorr(matrices: list[TermMatrix], theta: np.ndarray) -> pd.DataFrame:
    """SDs and correlations per term from theta (lme4's ``as.data.frame(VarCorr(fit))``)."""
    rows, start = [], 0
    for tm in matrices:
        cells = tm.theta_cells()
        L = np.zeros((tm.p, tm.p))
        for (r, c), value in zip(cells, theta[start : start + len(cells)], strict=True):
            L[r, c] = value
        start += len(cells)
        cov = L @ L.T
        sd = np.sqrt(np.diag(cov))
        for i, name in enumerate(tm.names):
            rows.append({"group": tm.term.group, "var1": name, "var2": "", "sdcor": sd[i]})
        for i in range(tm.p):
            for j in range(i + 1, tm.p):
                corr = cov[i, j] / (sd[i] * sd[j]) if sd[i] > 0 and sd[j] > 0 else np.nan
                rows.append(
                    {
                        "group": tm.term.group,
                        "var1": tm.names[i],
                        "var2": tm.names[j],
                        "sdcor": corr,
                    }
                )
    return pd.DataFrame(rows, columns=["group", "var1", "var2", "sdcor"])
