"""Small trial tables for analysis tests, built row by row from readable specs."""

from __future__ import annotations

import json

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
