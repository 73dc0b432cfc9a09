"""Small trial tables for analysis tests, built row by row from readable specs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd


def trial_row(
    *,
    participant: str = "P0001",
    encoding: str = "chernoff",
    response_mode: str = "mark_outliers",
    n_items: int = 8,
    true_outliers: list[int] | None = None,
    selected: list[int] | None = None,
    said_present: bool | None = None,
    rt_ms: float = 1500.0,
    timed_out: bool = False,
    trial_index: int = 0,
    dataset_id: str = "d00",
    is_practice: bool = False,
    is_attention_check: bool = False,
    layout: str = "grid",
) -> dict:
    """One trial-table row as the site writes it (lists as JSON text)."""
    return {
        "participant": participant,
        "study": "S1",
        "encoding": encoding,
        "layout": layout,
        "response_mode": response_mode,
        "response_mode_version": "1",
        "is_attention_check": is_attention_check,
        "dataset_id": dataset_id,
        "stimulus_id": f"s{trial_index:04d}",
        "trial_index": trial_index,
        "is_practice": is_practice,
        "n_items": n_items,
        "true_outliers": json.dumps([3] if true_outliers is None else true_outliers),
        "selected": json.dumps([] if selected is None else selected),
        "said_present": "" if said_present is None else said_present,
        "rt_ms": rt_ms,
        "timed_out": timed_out,
        "deadline_ms": 10000.0,
        "presented_at": "2026-11-23T09:00:00Z",
        "answered_at": "2026-11-23T09:00:01.5Z",
    }


def trial_frame(rows: list[dict]) -> pd.DataFrame:
    """Number the rows' trial_index per participant and return a DataFrame."""
    frame = pd.DataFrame(rows)
    frame["trial_index"] = frame.groupby("participant").cumcount()
    frame["stimulus_id"] = [f"s{i:04d}" for i in range(len(frame))]
    return frame


def simulated_trials(
    rng: np.random.Generator,
    *,
    n_participants: int = 20,
    n_datasets: int = 10,
    encodings: tuple[str, ...] = ("chernoff", "gan_face", "plot", "table"),
    logits: tuple[float, ...] = (0.8, 1.2, 0.4, 0.0),
    participant_sd: float = 0.6,
    dataset_sd: float = 0.4,
    repeats: int = 1,
    n_items: int = 9,
) -> pd.DataFrame:
    """A scored-ready m_afc trial table whose P(correct) follows a known logistic GLMM.

    logit P(correct) = logits[encoding] + u_participant + v_dataset, so model tests can
    check recovery of the encoding effects and of the two random-effect SDs.
    """
    u = rng.normal(0.0, participant_sd, n_participants)
    v = rng.normal(0.0, dataset_sd, n_datasets)
    p_idx, d_idx, e_idx, _ = np.meshgrid(
        np.arange(n_participants),
        np.arange(n_datasets),
        np.arange(len(encodings)),
        np.arange(repeats),
        indexing="ij",
    )
    p_idx, d_idx, e_idx = p_idx.ravel(), d_idx.ravel(), e_idx.ravel()
    eta = np.asarray(logits)[e_idx] + u[p_idx] + v[d_idx]
    correct = rng.random(eta.size) < 1.0 / (1.0 + np.exp(-eta))
    outlier = rng.integers(0, n_items, eta.size)
    other = (outlier + rng.integers(1, n_items, eta.size)) % n_items
    chosen = np.where(correct, outlier, other)
    rt = np.exp(rng.normal(7.3 - 0.1 * np.asarray(logits)[e_idx] + 0.2 * u[p_idx], 0.4))
    return pd.DataFrame(
        {
            "participant": [f"P{i:04d}" for i in p_idx],
            "study": "S1",
            "encoding": np.asarray(encodings)[e_idx],
            "layout": "grid",
            "response_mode": "m_afc",
            "response_mode_version": "1",
            "is_attention_check": False,
            "dataset_id": [f"d{i:02d}" for i in d_idx],
            "stimulus_id": [f"s{i:05d}" for i in range(eta.size)],
            "trial_index": np.arange(eta.size),
            "is_practice": False,
            "n_items": n_items,
            "true_outliers": [[int(o)] for o in outlier],
            "selected": [[int(c)] for c in chosen],
            "said_present": None,
            "rt_ms": rt,
            "timed_out": False,
            "deadline_ms": 10000.0,
            "presented_at": "2026-11-23T09:00:00Z",
            "answered_at": "2026-11-23T09:00:02Z",
        }
    )
