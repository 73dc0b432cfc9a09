"""Synthetic data from the studio's form: regression rows with planted outliers, as a CSV.

The rows come from ``stimuli.data.synthetic.make_regression`` (the generator the CLI's
synthetic datasets use) with the form's settings and seed, and are written as a CSV with
columns ``x1..xk``, ``y`` and ``outlier`` (0/1), so the studio treats them like an upload
whose outliers are known.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from experiment.studio.data import MAX_ROWS, OUTLIER_COLUMN, StudioError


@dataclass(frozen=True)
class SyntheticParams:
    """The form's settings; outliers by ``outliers`` (a count) or ``outlier_share``."""

    rows: int = 24
    features: int = 3
    informative: int = 2
    noise: float = 1.0
    seed: int = 1
    outliers: int | None = 1
    outlier_share: float | None = None
    kind: str = "vertical"
    size_sd: float = 4.0

    def __post_init__(self) -> None:
        if not 3 <= self.rows <= MAX_ROWS:
            raise StudioError(f"rows must be 3..{MAX_ROWS}, got {self.rows}")
        if not 1 <= self.informative <= self.features <= 20:
            raise StudioError("need 1 <= informative features <= features <= 20")
        if not (math.isfinite(self.noise) and self.noise > 0):
            raise StudioError("noise must be a positive number (the residual SD)")
        if not (math.isfinite(self.size_sd) and self.size_sd > 0):
            raise StudioError("outlier size must be a positive number of SDs")
        if not 0 <= self.seed < 2**32:
            raise StudioError("seed must be a whole number from 0 to 4294967295")


def synthetic_csv(params: SyntheticParams) -> bytes:
    """The rows as CSV bytes (same params, same bytes)."""
    from stimuli.data.synthetic import make_regression

    data = make_regression(
        n_samples=params.rows,
        n_features=params.features,
        n_informative=params.informative,
        noise=params.noise,
        n_outliers=params.outliers,
        outlier_fraction=params.outlier_share,
        outlier_kind=params.kind,
        magnitude_sd=params.size_sd,
        rng=np.random.default_rng(params.seed),
    )
    frame = pd.DataFrame(data.X, columns=[f"x{j + 1}" for j in range(params.features)])
    frame["y"] = data.y
    frame[OUTLIER_COLUMN] = 0
    frame.loc[list(data.outliers), OUTLIER_COLUMN] = 1
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, float_format="%.6g", lineterminator="\n")
    return buffer.getvalue().encode("utf-8")
