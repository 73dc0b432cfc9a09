"""Per-column transforms for real data: ``zscore``, ``minmax``, ``log``, ``log1p``,
``shift(c)``, ``scale(c)``, ``flip``, ``clip(lo, hi)``, ``rank`` and ``raw``.

Steps are written as short strings so they read naturally in TOML
(``transforms = {income = ["log1p", "scale(2)"]}``) and are applied left to right.

The default z-score stays unless it is replaced (:func:`effective_steps`): a column's
steps end standardised, so one unit means one SD whatever its raw units, unless they
already contain ``zscore`` or ``minmax`` or say ``raw`` (keep the values as they come).
The automatic ``zscore`` goes after the steps that shape the values (log, shift, clip,
rank) and before trailing ``scale``/``flip`` steps, so ``["log", "scale(2)"]`` is
log -> z-score -> x2: two SD of the face per SD of log income. :func:`describe` says so
in words for the CLI and the studio. A step that cannot apply (log of a non-positive
value, z-score of a constant column) raises :class:`StimulusError` naming the column
and, where one cell is to blame, its data row and CSV line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from stimuli.errors import StimulusError

STEP = re.compile(r"^\s*(?P<name>[a-z0-9_]+)\s*(?:\((?P<args>[^)]*)\))?\s*$")
ARITY = {
    "zscore": 0,
    "minmax": 0,
    "raw": 0,
    "log": 0,
    "log1p": 0,
    "rank": 0,
    "flip": 0,
    "shift": 1,
    "scale": 1,
    "clip": 2,
}
#: steps that decide a column's units, so no automatic z-score is added
STANDARDISING = frozenset({"zscore", "minmax", "raw"})
#: steps that only change units after standardising (they go after the automatic z-score)
UNIT_STEPS = frozenset({"scale", "flip"})
WORDS = {"zscore": "z-score", "minmax": "min-max to 0..1", "rank": "rank", "flip": "sign flip"}


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
    if not all(math.isfinite(a) for a in args):
        raise StimulusError(f"transform {step!r}: arguments must be finite numbers")
    if name == "clip" and not args[0] < args[1]:
        raise StimulusError(f"transform {step!r}: the lower bound must be below the upper")
    if name == "scale" and args[0] == 0:
        raise StimulusError(f"transform {step!r}: a scale factor of 0 erases the column")
    return name, args


def effective_steps(steps: Sequence[str]) -> tuple[str, ...]:
    """The steps a column really gets: ``steps`` plus the default z-score unless replaced.

    ``[]`` -> ``zscore``; ``["shift(100)", "log"]`` -> shift, log, zscore;
    ``["log", "scale(2)"]`` -> log, zscore, scale(2); ``["raw"]`` -> nothing.
    """
    steps = tuple(step.strip() for step in steps)
    names = [parse_step(step)[0] for step in steps]
    if STANDARDISING & set(names):
        return tuple(step for step, name in zip(steps, names, strict=True) if name != "raw")
    cut = len(steps)
    while cut and names[cut - 1] in UNIT_STEPS:
        cut -= 1
    return (*steps[:cut], "zscore", *steps[cut:])


def describe(steps: Sequence[str]) -> str:
    """What a column ends up as, in words: ``"log -> z-score -> x2"``."""
    effective = effective_steps(steps)
    if not effective:
        return "raw values (no transform)"
    words = []
    for step in effective:
        name, args = parse_step(step)
        if name == "shift":
            words.append(f"{args[0]:+g}")
        elif name == "scale":
            words.append(f"×{args[0]:g}")
        elif name == "clip":
            words.append(f"clip to {args[0]:g}..{args[1]:g}")
        else:
            words.append(WORDS.get(name, name))
    return " → ".join(words)


def _bad_cell(values: pd.Series, mask: np.ndarray) -> str:
    """Where the first masked cell is: data row (1-based) and CSV line (header = 1)."""
    row = int(values.index[np.argmax(mask)]) + 1
    return f"row {row} (CSV line {row + 1})"


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
                f"column {column!r}, {_bad_cell(values, bad)}: {name} needs values above "
                f"{floor:g}, got {values[bad].iloc[0]:g}; add a shift(c) step first"
            )
        return np.log(values) if name == "log" else np.log1p(values)
    if name == "shift":
        return values + args[0]
    if name == "scale":
        return values * args[0]
    if name == "flip":
        return -values
    if name == "clip":
        return values.clip(args[0], args[1])
    if name == "raw":
        return values
    return values.rank(method="average")


def apply_steps(values: pd.Series, steps: Sequence[str]) -> pd.Series:
    """Apply ``steps`` exactly as given, left to right (see :func:`effective_steps`)."""
    for step in steps:
        values = apply_step(values, step)
    return values


def transform_column(values: pd.Series, steps: Sequence[str]) -> pd.Series:
    """A column's values after its effective steps (the default z-score included)."""
    return apply_steps(values, effective_steps(steps))
