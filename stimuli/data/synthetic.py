"""Synthetic regression data with planted outliers, in the style of make_regression.

``y = X @ coef + noise`` with ``n_informative`` non-zero coefficients. Outliers are
planted at random row indices (so their position says nothing) and are exact:

- ``vertical``: the row's residual is set to ``+-magnitude_sd`` residual SDs (``noise``);
  x is untouched, so only the x-y relation gives it away.
- ``leverage``: one informative column is set to ``+-magnitude_sd`` (x is standard
  normal, so x SDs) and y follows the line: an extreme but consistent row.
- ``both``: the leverage shift and the vertical residual together (a bad leverage point).

Written with numpy alone: scikit-learn's make_regression does not plant outliers and
would be a large dependency for ten lines of algebra.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stimuli.errors import StimulusError

OUTLIER_KINDS = ("vertical", "leverage", "both")


@dataclass(frozen=True, eq=False)
class SyntheticData:
    """One generated dataset; ``outliers`` are sorted row indices (the ground truth)."""

    X: np.ndarray
    y: np.ndarray
    coef: np.ndarray
    informative: tuple[int, ...]
    outliers: tuple[int, ...]
    outlier_kind: str
    magnitude_sd: float
    noise: float

    def residuals(self) -> np.ndarray:
        """``y - X @ coef``: noise for ordinary rows, the planted shift for outliers."""
        return self.y - self.X @ self.coef


def outlier_count(n_samples: int, n_outliers: int | None, outlier_fraction: float | None) -> int:
    """How many outliers a count or a fraction asks for (fractions round to nearest)."""
    if n_outliers is not None and outlier_fraction is not None:
        raise StimulusError("give n_outliers or outlier_fraction, not both")
    if outlier_fraction is not None:
        if not 0 <= outlier_fraction <= 0.5:
            raise StimulusError(f"outlier_fraction must be in [0, 0.5], got {outlier_fraction}")
        return round(outlier_fraction * n_samples)
    count = 0 if n_outliers is None else n_outliers
    if not 0 <= count <= n_samples // 2:
        raise StimulusError(
            f"n_outliers must be 0..{n_samples // 2} (half of n_samples), got {count}"
        )
    return count


def make_regression(
    *,
    n_samples: int,
    n_features: int,
    n_informative: int,
    noise: float = 1.0,
    n_outliers: int | None = None,
    outlier_fraction: float | None = None,
    outlier_kind: str = "vertical",
    magnitude_sd: float = 4.0,
    rng: np.random.Generator,
) -> SyntheticData:
    """Regression rows with planted outliers; the same ``rng`` state gives the same data.

    Coefficients of informative columns are drawn uniformly from +-[0.5, 2] so every
    informative column visibly matters; ``noise`` is the residual SD (> 0).
    """
    if n_samples < 3:
        raise StimulusError(f"n_samples must be at least 3, got {n_samples}")
    if not 1 <= n_informative <= n_features:
        raise StimulusError(
            f"need 1 <= n_informative <= n_features, got {n_informative} and {n_features}"
        )
    if not (np.isfinite(noise) and noise > 0):
        raise StimulusError(f"noise (the residual SD) must be positive, got {noise}")
    if outlier_kind not in OUTLIER_KINDS:
        raise StimulusError(f"outlier_kind must be one of {OUTLIER_KINDS}, got {outlier_kind!r}")
    if not (np.isfinite(magnitude_sd) and magnitude_sd > 0):
        raise StimulusError(f"magnitude_sd must be positive, got {magnitude_sd}")
    count = outlier_count(n_samples, n_outliers, outlier_fraction)

    X = rng.standard_normal((n_samples, n_features))
    informative = np.sort(rng.choice(n_features, size=n_informative, replace=False))
    coef = np.zeros(n_features)
    coef[informative] = rng.uniform(0.5, 2.0, n_informative) * rng.choice(
        [-1.0, 1.0], n_informative
    )
    residual = rng.standard_normal(n_samples) * noise

    outliers = np.sort(rng.choice(n_samples, size=count, replace=False))
    signs = rng.choice([-1.0, 1.0], size=count)
    columns = rng.choice(informative, size=count)
    if outlier_kind in ("leverage", "both"):
        X[outliers, columns] = signs * magnitude_sd
    if outlier_kind in ("vertical", "both"):
        residual[outliers] = signs * magnitude_sd * noise
    y = X @ coef + residual
    return SyntheticData(
        X=X,
        y=y,
        coef=coef,
        informative=tuple(int(i) for i in informative),
        outliers=tuple(int(i) for i in outliers),
        outlier_kind=outlier_kind,
        magnitude_sd=float(magnitude_sd),
        noise=float(noise),
    )
