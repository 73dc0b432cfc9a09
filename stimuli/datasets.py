"""Turn a config's dataset specs into concrete datasets: rows to draw, raw data, truth.

Every dataset gets its own random stream ``default_rng([seed, 0, index])``, so adding a
dataset or a condition never changes the data of the others.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stimuli.config import DatasetSpec, StimulusSetConfig
from stimuli.data.csv_source import load_csv, read_text
from stimuli.data.synthetic import make_regression
from stimuli.data.transforms import describe
from stimuli.encodings.base import Rows
from stimuli.errors import StimulusError


@dataclass(frozen=True, eq=False)
class Dataset:
    """One dataset of a set: ``rows`` (standardised) for encodings, ``raw`` for
    data/<dataset_id>.csv, and ``truth`` for truth.json."""

    dataset_id: str
    index: int
    role: str
    rows: Rows
    raw: pd.DataFrame
    truth: dict[str, Any]


def iter_datasets(config: StimulusSetConfig) -> Iterator[Dataset]:
    """Datasets in config order, ids ``d00``, ``d01``, ... (zero-padded to the count)."""
    total = sum(spec.count for spec in config.datasets)
    width = max(2, len(str(total - 1)))
    index = 0
    for spec in config.datasets:
        if spec.csv:
            spec = replace(spec, csv=str(config.resolve(spec.csv)))
        for _ in range(spec.count):
            rng = np.random.default_rng([config.seed, 0, index])
            build = _from_csv if spec.csv else _synthetic
            yield build(f"d{index:0{width}d}", index, spec, rng)
            index += 1


def column_report(config: StimulusSetConfig) -> list[str]:
    """What each column of each CSV dataset ends up as, one line each (for the CLI)."""
    lines = []
    for spec in config.datasets:
        if not spec.csv:
            continue
        header = read_text(config.resolve(spec.csv)).splitlines()[0]
        names = spec.columns or tuple(
            n.strip() for n in header.split(",") if n.strip() != spec.outlier_column
        )
        for name in names:
            lines.append(
                f"{Path(spec.csv).name} column {name}: {describe(spec.transforms.get(name, ()))}"
            )
    return lines


def standardise(values: np.ndarray) -> np.ndarray:
    """Z-score each column (a constant column becomes 0)."""
    sd = values.std(axis=0)
    return (values - values.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def _synthetic(dataset_id: str, index: int, spec: DatasetSpec, rng) -> Dataset:
    data = make_regression(
        n_samples=spec.n_items,
        n_features=spec.n_features,
        n_informative=spec.n_informative,
        noise=spec.noise,
        n_outliers=spec.n_outliers,
        outlier_fraction=spec.outlier_fraction,
        outlier_kind=spec.outlier_kind,
        magnitude_sd=spec.magnitude_sd,
        rng=rng,
    )
    columns = (*(f"x{j + 1}" for j in range(spec.n_features)), "y")
    raw = np.column_stack([data.X, data.y])
    by_weight = sorted(data.informative, key=lambda j: -abs(data.coef[j]))
    rows = Rows(standardise(raw), columns, "y", tuple(columns[j] for j in by_weight))
    truth = {
        "outliers": list(data.outliers),
        "outlier_kind": spec.outlier_kind,
        "magnitude_sd": spec.magnitude_sd,
        "role": spec.role,
    }
    return Dataset(dataset_id, index, spec.role, rows, pd.DataFrame(raw, columns=columns), truth)


def _from_csv(dataset_id: str, index: int, spec: DatasetSpec, rng) -> Dataset:
    hidden = [spec.outlier_column] if spec.outlier_column else []
    frame = load_csv(
        spec.csv, columns=spec.columns or None, transforms=spec.transforms, exclude=hidden
    )
    if spec.target not in frame.columns:
        raise StimulusError(f"dataset CSV {spec.csv}: target column {spec.target!r} not chosen")
    outliers: list[int] = []
    if spec.outlier_column is not None:
        if spec.outlier_column in frame.columns:
            raise StimulusError(f"dataset CSV {spec.csv}: the outlier column cannot be shown")
        labels = load_csv(
            spec.csv, columns=[spec.outlier_column], transforms={spec.outlier_column: ["raw"]}
        )[spec.outlier_column]
        if not labels.isin([0, 1]).all():
            raise StimulusError(
                f"dataset CSV {spec.csv}: outlier column {spec.outlier_column!r} must hold 0 or 1"
            )
        outliers = [int(i) for i in np.flatnonzero(labels.to_numpy() == 1)]
    frame = frame[[c for c in frame.columns if c != spec.target] + [spec.target]]
    rows = Rows(frame.to_numpy(float), tuple(frame.columns), spec.target)
    truth = {
        "outliers": outliers,
        "outlier_kind": "labelled",
        "magnitude_sd": None,
        "role": spec.role,
    }
    return Dataset(dataset_id, index, spec.role, rows, frame, truth)
