"""GEE logistic regression with participant clusters: the model-light robustness check.

A marginal (population-averaged) model of P(correct): exchangeable working correlation
within participant, and the Mancl-DeRouen bias-reduced sandwich covariance (statsmodels
``cov_type="bias_reduced"``), which keeps Wald tests honest with few clusters (small N).
Its odds ratios are population-averaged, so they are smaller in magnitude than the
GLMM's subject-specific ones; the signs and tests should agree.

Fitted on trial-level 0/1 outcomes: statsmodels' bias-reduced covariance does not accept
frequency weights, so aggregated counts cannot be used here.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import AnalysisError


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
        z = self.params / self.bse
        half = stats.norm.ppf(0.5 + level / 2) * self.bse
        return pd.DataFrame(
            {
                "term": self.fixed_names,
                "estimate": self.params,
                "se": self.bse,
                "z": z,
                "p": 2 * stats.norm.sf(np.abs(z)),
                "odds_ratio": np.exp(self.params),
                "or_ci_low": np.exp(self.params - half),
                "or_ci_high": np.exp(self.params + half),
            }
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


def fit_gee(
    data: pd.DataFrame, formula: str, *, group: str, cov_type: str = "bias_reduced"
) -> GEEResult:
    """Fit ``formula`` (0/1 or boolean response) with clusters ``group``."""
    import statsmodels.api as sm  # heavy: only when a model is fitted
    import statsmodels.formula.api as smf

    if group not in data.columns:
        raise AnalysisError(f"cluster column {group!r} not in the data")
    if data.empty:
        raise AnalysisError("no rows to fit the GEE to")
    n_clusters = int(data[group].nunique())
    if n_clusters < 2:
        raise AnalysisError("GEE needs at least two clusters (participants)")
    frame = data.reset_index(drop=True)
    response = formula.split("~")[0].strip()
    if response in frame.columns and frame[response].dtype == bool:
        frame[response] = frame[response].astype(int)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = smf.gee(
                formula,
                groups=group,
                data=frame,
                family=sm.families.Binomial(),
                cov_struct=sm.cov_struct.Exchangeable(),
            )
            fit = model.fit(cov_type=cov_type)
        except (ValueError, np.linalg.LinAlgError, KeyError) as error:
            raise AnalysisError(f"the GEE {formula!r} failed: {error}") from None
    notes = tuple(dict.fromkeys(f"statsmodels: {w.message}" for w in caught))
    cov = np.asarray(fit.cov_params())
    return GEEResult(
        formula=formula,
        group=group,
        cov_type=cov_type,
        fixed_names=tuple(fit.params.index),
        params=fit.params.to_numpy(),
        bse=np.sqrt(np.diag(cov)),
        cov=cov,
        working_correlation=float(model.cov_struct.dep_params),
        nobs=int(fit.nobs),
        n_clusters=n_clusters,
        notes=notes,
    )
