"""Wald tables of fixed effects: z, p and intervals computed in one place for every model."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats


def wald_table(
    names: Sequence[str],
    params: np.ndarray,
    bse: np.ndarray,
    *,
    level: float = 0.95,
    intervals: bool = True,
    odds_ratios: bool = False,
) -> pd.DataFrame:
    """Estimate, SE, Wald z and two-sided p per term; with ``intervals`` the ``level``
    CI, with ``odds_ratios`` exp(estimate) and its CI (log-odds models)."""
    z = params / bse
    half = stats.norm.ppf(0.5 + level / 2) * bse
    columns = {
        "term": list(names),
        "estimate": params,
        "se": bse,
        "z": z,
        "p": 2 * stats.norm.sf(np.abs(z)),
    }
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
