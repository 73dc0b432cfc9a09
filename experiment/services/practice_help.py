"""Practice that teaches: where the outliers of a practice display are, and why they
are odd, in plain words (service layer: no Flask).

Truth leaves the server only here, and only for practice data: in the reply to a
practice answer (``odd_marks`` + ``why_odd``, after the answer is stored) and in the
instructions' worked examples, which are drawn from the set's practice datasets
(``worked_examples``), preferring datasets the participant does not get as practice
trials. Main and attention-check trials never get either.

Why a row is odd is read from the set's private data (``data/<dataset_id>.csv``, the
target column last): a least-squares fit of the target on the other columns over the
ordinary rows says how the columns go together; the outlier breaks that relation (its
target is far from what its other values give), while none of its values needs to be
extreme. The text says which, in words a participant can follow.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiment.stimulus_sets import LoadedStimulusSet
from stimuli.encodings import Display, display_of, encoding_named
from stimuli.media import media_type

#: what one item of a display is called in the feedback
ITEM_NOUN = {Display.IMAGES: "picture", Display.ROWS: "row", Display.COMPOSITE: "point"}
#: how the display marks it
MARK_WORD = {Display.IMAGES: "outlined", Display.ROWS: "highlighted", Display.COMPOSITE: "ringed"}
#: a value this many SDs from the other rows' mean counts as extreme on its own
EXTREME_SD = 2.5


@functools.lru_cache(maxsize=256)
def _data(folder: Path, dataset_id: str) -> pd.DataFrame | None:
    path = folder / "data" / f"{dataset_id}.csv"
    return pd.read_csv(path) if path.is_file() else None


def _fit(values: np.ndarray, rows: Sequence[int]) -> tuple[np.ndarray, float]:
    """Least-squares coefficients (intercept first) of the last column on the others,
    over ``rows``, and the SD of their residuals."""
    X = np.column_stack([np.ones(len(rows)), values[rows, :-1]])
    coef, *_ = np.linalg.lstsq(X, values[rows, -1], rcond=None)
    residuals = values[rows, -1] - X @ coef
    sd = float(np.sqrt(np.sum(residuals**2) / max(1, len(rows) - X.shape[1]))) or 1e-9
    return coef, sd


def _join(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def why_odd(stimulus_set: LoadedStimulusSet, dataset_id: str, display: Display) -> str:
    """Why the outliers of ``dataset_id`` are odd (or that there is none), in plain words."""
    outliers = stimulus_set.true_outliers(dataset_id)
    noun = ITEM_NOUN[display]
    if not outliers:
        return f"There was no outlier here: every {noun} follows the same pattern as the others."
    frame = _data(stimulus_set.folder, dataset_id)
    each = "it" if len(outliers) == 1 else "each of them"
    general = (
        f"An outlier is a {noun} whose values do not go together the way they do in the "
        f"others: {each} breaks the relation between the columns."
    )
    if frame is None or frame.shape[1] < 2:
        return general
    values = frame.to_numpy(float)
    columns = [str(c) for c in frame.columns]
    ordinary = [i for i in range(len(values)) if i not in set(outliers)]
    if len(ordinary) < values.shape[1] + 1:
        return general
    coef, sd = _fit(values, ordinary)
    spread = values[ordinary].std(axis=0)
    spread[spread == 0] = 1.0
    strength = np.abs(coef[1:]) * spread[:-1]
    strongest = [j for j in np.argsort(-strength)[:2] if strength[j] >= 0.25 * strength.max()]
    target = columns[-1]
    trend = _join(
        [
            f"rises with {columns[j]}" if coef[1 + j] > 0 else f"falls as {columns[j]} rises"
            for j in strongest
        ]
    )
    sentences = [f"In the other {noun}s, {target} {trend}."]
    if display is Display.IMAGES:  # the columns are not written on a picture
        sentences.insert(
            0, "Each picture draws one row of the data, its features set by the columns."
        )
    for index in outliers[:3]:
        row = values[index]
        predicted = coef[0] + row[:-1] @ coef[1:]
        off = (row[-1] - predicted) / sd
        which = "the marked one" if len(outliers) == 1 else f"one marked {noun}"
        given = _join([columns[j] for j in strongest])
        if abs(off) >= 2:
            sentences.append(
                f"In {which}, {target} is much {'higher' if off > 0 else 'lower'} than its "
                f"{given} would give (about {abs(off):.0f} times the usual scatter)."
            )
        z = np.abs(row - values[ordinary].mean(axis=0)) / spread
        extreme = [columns[j] for j in np.flatnonzero(z > EXTREME_SD)]
        if extreme:
            verb = "is" if len(extreme) == 1 else "are"
            sentences.append(f"Its {_join(extreme)} {verb} also unusually far from the others'.")
        elif abs(off) >= 2:
            sentences.append(
                "None of its values is extreme on its own: it is odd because its values do "
                "not fit together."
            )
    return " ".join(sentences)


def odd_marks(
    *,
    display: Display,
    display_order: Sequence[int],
    outliers: Iterable[int],
    points: Sequence[tuple[float, float]] | None = None,
) -> dict[str, Any]:
    """Where the outliers are on the participant's display: display ``positions`` (and,
    for a composite image, the ``points`` in image pixels to ring)."""
    truth = set(outliers)
    positions = [p for p, item in enumerate(display_order) if item in truth]
    marks: dict[str, Any] = {"positions": positions}
    if display is Display.COMPOSITE and points is not None:
        marks["points"] = [{"x": points[p][0], "y": points[p][1]} for p in positions]
    return marks


@dataclass(frozen=True)
class WorkedExample:
    """One encoding's worked example for the instructions page: a practice display with
    its outliers marked and the reason in words. ``images`` are data: URIs (one per item,
    or the one composite), ``rows`` the table, ``marks`` as for ``odd_marks``."""

    label: str
    display: str
    images: list[str]
    columns: list[str]
    rows: list[list[str]]
    marks: dict[str, Any]
    width: int | None
    height: int | None
    why: str


def _inline(stimulus_set: LoadedStimulusSet, name: str) -> str:
    data = base64.b64encode(stimulus_set.media.read(name)).decode()
    return f"data:{media_type(name)};base64,{data}"


def worked_examples(
    stimulus_set: LoadedStimulusSet,
    encodings: Iterable[str],
    *,
    avoid_datasets: Iterable[str] = (),
) -> list[WorkedExample]:
    """A worked example per encoding (in the order given) that the set has a practice
    grid with an outlier for: from a practice dataset outside ``avoid_datasets`` (the
    participant's own practice trials) where there is one."""
    avoid = set(avoid_datasets)
    examples = []
    for encoding in encodings:
        candidates = [
            s
            for s in stimulus_set.stimuli.values()
            if s["encoding"] == encoding
            and s["layout"] == "grid"
            and stimulus_set.role(s) == "practice"
            and stimulus_set.true_outliers(s["dataset_id"])
        ]
        if not candidates:
            continue
        candidates.sort(key=lambda s: (s["dataset_id"] in avoid, s["stimulus_id"]))
        examples.append(_example(stimulus_set, candidates[0]))
    return examples


def _example(stimulus_set: LoadedStimulusSet, stimulus: dict[str, Any]) -> WorkedExample:
    encoding = stimulus["encoding"]
    display = display_of(encoding, "grid")
    order = [int(e["item"]) for e in stimulus["items"]]
    outliers = stimulus_set.true_outliers(stimulus["dataset_id"])
    images: list[str] = []
    columns: list[str] = []
    rows: list[list[str]] = []
    points = None
    if display is Display.IMAGES:
        images = [_inline(stimulus_set, e["media"]) for e in stimulus["items"]]
    elif display is Display.ROWS:
        view = stimulus[encoding]
        columns = list(view["columns"])
        rows = [list(r) for r in view["rows"]]  # manifest item order = ``order``
    else:
        images = [_inline(stimulus_set, stimulus["media"])]
        view = stimulus[encoding]
        points = [(float(p["x"]), float(p["y"])) for p in view["points"]]
    return WorkedExample(
        label=encoding_named(encoding).label,
        display=display.value,
        images=images,
        columns=columns,
        rows=rows,
        marks=odd_marks(display=display, display_order=order, outliers=outliers, points=points),
        width=stimulus.get("width"),
        height=stimulus.get("height"),
        why=why_odd(stimulus_set, stimulus["dataset_id"], display),
    )
