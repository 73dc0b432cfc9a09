"""Small real data for stimulus tests: a synthetic dataset and a tiny config."""

import numpy as np

from stimuli import StimulusSetConfig
from stimuli.data.synthetic import make_regression
from stimuli.datasets import standardise
from stimuli.encodings import Rows


def small_rows(seed: int, n_items: int = 8, n_features: int = 3) -> Rows:
    """Standardised rows of a regression dataset with one vertical outlier."""
    data = make_regression(
        n_samples=n_items,
        n_features=n_features,
        n_informative=2,
        n_outliers=1,
        rng=np.random.default_rng(seed),
    )
    columns = (*(f"x{j + 1}" for j in range(n_features)), "y")
    values = standardise(np.column_stack([data.X, data.y]))
    return Rows(values, columns, "y", tuple(columns[j] for j in data.informative))


def small_config(seed: int, **overrides) -> StimulusSetConfig:
    """Two main datasets + one attention check, all core encodings, one sequence."""
    data = {
        "seed": seed,
        "frame_ms": 300,
        "datasets": [
            {"role": "main", "count": 2, "n_items": 6, "n_features": 3, "n_outliers": 1},
            {"role": "attention_check", "n_items": 6, "n_features": 3},
        ],
        "conditions": [
            {"encoding": "chernoff", "layout": "grid"},
            {"encoding": "table", "layout": "grid"},
            {"encoding": "plot", "layout": "grid"},
            {"encoding": "table", "layout": "sequence", "roles": ["main"]},
        ],
        "encoding_params": {
            "chernoff": {"size_px": 64},
            "plot": {"width_px": 320, "height_px": 240},
        },
    }
    data.update(overrides)
    return StimulusSetConfig.from_dict(data)
