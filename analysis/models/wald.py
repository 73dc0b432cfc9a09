"""Wald tables of fixed effects: z or t, p and intervals computed in one place for every model.

With ``df`` (Satterthwaite degrees of freedom per term, :mod:`analysis.models.satterthwaite`)
the statistic is referred to t(df) and the table has ``df`` and ``t`` columns; without,
to the normal distribution (``z``), as for the GEE (a sandwich with its own correction).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats


def reference_quantiles(df: np.ndarray | None, level: float, size: int) -> np.ndarray:
    """The two-sided ``level`` critical value per term: t(df), or normal without df."""
    if df is None:
        return np.full(size, stats.norm.ppf(0.5 + level / 2))
    return stats.t.ppf(0.5 + level / 2, np.asarray(df, dtype=float))


def two_sided_p(statistic: np.ndarray, df: np.ndarray | None) -> np.ndarray:
    """Two-sided p of a Wald statistic against t(df) (normal where df is None or inf)."""
    if df is None:
        return 2 * stats.norm.sf(np.abs(statistic))
    return 2 * stats.t.sf(np.abs(statistic), np.asarray(df, dtype=float))


def wald_table(
    names: Sequence[str],
    params: np.ndarray,
    bse: np.ndarray,
    *,
    level: float = 0.95,
    intervals: bool = True,
    odds_ratios: bool = False,
    df: np.ndarray | None = None,
) -> pd.DataFrame:
    """Estimate, SE, Wald z (or t with ``df``) and two-sided p per term; with
    ``intervals`` the ``level`` CI, with ``odds_ratios`` exp(estimate) and its CI."""
    statistic = params / bse
    half = reference_quantiles(df, level, len(params)) * bse
    columns = {"term": list(names), "estimate": params, "se": bse}
    if df is None:
        columns["z"] = statistic
    else:
        columns.update(df=np.asarray(df, dtype=float), t=statistic)
    columns["p"] = two_sided_p(statistic, df)
    if intervals:
        columns.update(ci_low=params - half, ci_high=params + half)
    if odds_ratios:
        with np.errstate(over="ignore"):  # a separated term's odds ratio is honestly inf
            columns.update(
                odds_ratio=np.exp(params),
                or_ci_low=np.exp(params - half),
                or_ci_high=np.exp(params + half),
            )
    return pd.DataFrame(columns)
