"""Per-column transforms for real data: ``zscore``, ``minmax``, ``log``, ``log1p``,
``shift(c)``, ``clip(lo, hi)``, ``rank``.

Steps are written as short strings so they read naturally in TOML
(``transforms = {income = ["log1p", "zscore"]}``) and are applied left to right. A step
that cannot apply (log of a non-positive value, z-score of a constant column) raises
:class:`StimulusError` naming the column and, where one cell is to blame, the CSV line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from stimuli.errors import StimulusError

STEP = re.compile(r"^\s*(?P<name>[a-z0-9_]+)\s*(?:\((?P<args>[^)]*)\))?\s*$")
ARITY = {"zscore": 0, "minmax": 0, "log": 0, "log1p": 0, "rank": 0, "shift": 1, "clip": 2}


def parse_step(step: str) -> tuple[str, tuple[float, ...]]:
    """``"clip(-3, 3)"`` -> ``("clip", (-3.0, 3.0))``; unknown names are an error."""
    match = STEP.match(step)
    name = match["name"] if match else None
    if name not in ARITY:
        raise StimulusError(f"unknown transform {step!r}; use one of {sorted(ARITY)}")
    raw = [a for a in (match["args"] or "").split(",") if a.strip()]
    try:
        args = tuple(float(a) for a in raw)
    except ValueError:
        raise StimulusError(f"transform {step!r}: arguments must be numbers") from None
    if len(args) != ARITY[name]:
        raise StimulusError(f"transform {name} takes {ARITY[name]} numbers, got {step!r}")
    if name == "clip" and not args[0] < args[1]:
        raise StimulusError(f"transform {step!r}: the lower bound must be below the upper")
    return name, args


def _bad_line(values: pd.Series, mask: np.ndarray) -> int:
    """CSV line number (header = line 1) of the first masked cell."""
    return int(values.index[np.argmax(mask)]) + 2


def apply_step(values: pd.Series, step: str) -> pd.Series:
    """Apply one transform step to one numeric column (``values.name`` = column name)."""
    name, args = parse_step(step)
    column = values.name
    if name == "zscore":
        sd = values.std(ddof=0)
        if not sd > 0:
            raise StimulusError(f"column {column!r} is constant; z-score needs variation")
        return (values - values.mean()) / sd
    if name == "minmax":
        span = values.max() - values.min()
        if not span > 0:
            raise StimulusError(f"column {column!r} is constant; min-max needs variation")
        return (values - values.min()) / span
    if name in ("log", "log1p"):
        floor = 0.0 if name == "log" else -1.0
        bad = (values <= floor).to_numpy()
        if bad.any():
            raise StimulusError(
                f"column {column!r}, line {_bad_line(values, bad)}: {name} needs values above "
                f"{floor:g}, got {values[bad].iloc[0]:g}; add a shift(c) step first"
            )
        return np.log(values) if name == "log" else np.log1p(values)
    if name == "shift":
        return values + args[0]
    if name == "clip":
        return values.clip(args[0], args[1])
    return values.rank(method="average")


def apply_steps(values: pd.Series, steps: Sequence[str]) -> pd.Series:
    """Apply ``steps`` left to right."""
    for step in steps:
        values = apply_step(values, step)
    return values
