"""Named face directions in w by the truth-table method, made conditional.

Each axis is defined by a rule that splits labelled faces into those with the attribute
and those without (``AXES``: e.g. ``smile``: p(happy) >= 0.8 against <= 0.2; ``age``:
the oldest 30% against the youngest 30%). The raw direction is the mean w of the first
group minus the mean w of the second. Raw directions are entangled (in the bank, "older"
also adds glasses and "smile" also feminises), so each is projected orthogonal to its
nuisance axes' raw directions (InterFaceGAN's conditional manipulation): moving along
``smile`` then leaves the gender and age projections unchanged.

Scale: one data SD = the SD of the labelled faces' projections on the direction, so
+-3 SD spans what real faces cover along it: visible, and bounded by the generator's
own distribution.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from stimuli.directions.base import Directions, DirectionsError
from stimuli.directions.labellers import MEASURES

#: measures (N, M) -> (with, without) boolean masks
Split = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def _column(name: str) -> int:
    return MEASURES.index(name)


def quantiles(measure: str, low: float, high: float) -> Split:
    """With: the top ``1 - high`` share of ``measure``; without: the bottom ``low``."""

    def split(measures: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values = measures[:, _column(measure)]
        finite = np.isfinite(values)
        lo, hi = np.nanquantile(values, [low, high])
        return finite & (values >= hi), finite & (values <= lo)

    return split


def thresholds(measure: str, without_below: float, with_above: float) -> Split:
    """With: ``measure >= with_above``; without: ``measure <= without_below``."""

    def split(measures: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values = measures[:, _column(measure)]
        finite = np.isfinite(values)
        return finite & (values >= with_above), finite & (values <= without_below)

    return split


def inverted(split: Split) -> Split:
    def swapped(measures: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with_, without = split(measures)
        return without, with_

    return swapped


#: p(male) 0.3 and 0.7 on the labeller's log-odds scale
LOGIT_30, LOGIT_70 = float(np.log(0.3 / 0.7)), float(np.log(0.7 / 0.3))


@dataclass(frozen=True)
class Axis:
    """A named axis: how faces split, the measure it should move (and which way)."""

    name: str
    split: Split
    measure: str
    sign: int = 1
    nuisance: tuple[str, ...] = ("gender", "age")


#: hair colour must not change the skin (or the light on it): see ``SKIN``
HAIR_NUISANCE = ("gender", "age", "skin_tone")
AXES: tuple[Axis, ...] = (
    Axis("age", quantiles("age", 0.3, 0.7), "age", nuisance=("gender", "glasses")),
    Axis("gender", thresholds("male_logit", LOGIT_30, LOGIT_70), "male_logit", nuisance=("age",)),
    Axis("smile", thresholds("smile", 0.2, 0.8), "smile"),
    Axis(
        "eye_size",
        quantiles("eye_open", 0.3, 0.7),
        "eye_open",
        nuisance=("gender", "age", "glasses"),  # dark glasses hide the eyes: "small eyes"
    ),
    Axis(
        "mouth_open",
        quantiles("mouth_open", 0.3, 0.7),
        "mouth_open",
        nuisance=("gender", "age", "smile"),
    ),
    Axis(
        "hair_black",
        inverted(quantiles("hair_lightness", 0.2, 0.2)),
        "hair_lightness",
        -1,
        nuisance=HAIR_NUISANCE,
    ),
    Axis(
        "hair_blond",
        quantiles("hair_lightness", 0.8, 0.8),
        "hair_lightness",
        nuisance=HAIR_NUISANCE,
    ),
    Axis("hair_red", quantiles("hair_redness", 0.85, 0.85), "hair_redness", nuisance=HAIR_NUISANCE),
    Axis("glasses", quantiles("glasses", 0.88, 0.95), "glasses"),
)
AXIS_NAMES = tuple(axis.name for axis in AXES)
#: head pose, which every named axis is made orthogonal to (and none is named after):
#: turned heads hide smiles and age from the labellers, so without this "smile" and
#: "age" learned to turn the head (a frontal/profile split and a left/right split)
POSE: tuple[Axis, ...] = (
    Axis("head_turn", quantiles("head_turn", 0.5, 0.85), "head_turn"),
    Axis("yaw", quantiles("yaw", 0.15, 0.85), "yaw"),
)
POSE_NAMES = tuple(axis.name for axis in POSE)
#: skin lightness: a nuisance of the hair axes only (in the 5,000-face bank the raw red
#: hair direction has cosine 0.33 with it; black and blond about 0.05); the validation
#: table reports every axis's skin change
SKIN = Axis("skin_tone", quantiles("skin_lightness", 0.3, 0.7), "skin_lightness")
NUISANCE: tuple[Axis, ...] = (*POSE, SKIN)
NUISANCE_NAMES = tuple(axis.name for axis in NUISANCE)
#: faces with and without an attribute a direction needs at the least
MIN_GROUP = 10


def raw_directions(latents: np.ndarray, measures: np.ndarray) -> dict[str, np.ndarray]:
    """Mean w with minus mean w without, per axis (unnormalised)."""
    raw = {}
    for axis in AXES + NUISANCE:
        with_, without = axis.split(measures)
        if with_.sum() < MIN_GROUP or without.sum() < MIN_GROUP:
            raise DirectionsError(
                f"axis {axis.name!r}: only {int(with_.sum())} faces with and "
                f"{int(without.sum())} without; label more faces (at least {MIN_GROUP} each)"
            )
        raw[axis.name] = latents[with_].mean(axis=0) - latents[without].mean(axis=0)
    return raw


def conditional(vector: np.ndarray, nuisance: list[np.ndarray]) -> np.ndarray:
    """``vector`` minus its projection on the span of ``nuisance`` (orthonormalised)."""
    if not nuisance:
        return vector
    basis, _ = np.linalg.qr(np.array(nuisance).T)
    return vector - basis @ (basis.T @ vector)


def named_directions(latents: np.ndarray, measures: np.ndarray) -> tuple[Directions, dict]:
    """Conditional, scaled directions for every axis, and the raw cosines between axes."""
    raw = raw_directions(latents, measures)
    vectors, scales = [], []
    for axis in AXES:
        nuisance = [raw[n] for n in (*axis.nuisance, *POSE_NAMES)]
        vector = conditional(raw[axis.name], nuisance)
        vector /= np.linalg.norm(vector)
        vectors.append(vector)
        scales.append(float(np.std(latents @ vector)))
    unit = {name: v / np.linalg.norm(v) for name, v in raw.items()}
    names = AXIS_NAMES + NUISANCE_NAMES
    cosines = {
        f"{a}~{b}": float(unit[a] @ unit[b]) for i, a in enumerate(names) for b in names[i + 1 :]
    }
    directions = Directions(
        vectors=np.array(vectors), names=AXIS_NAMES, scales=np.array(scales), method="labelled"
    )
    return directions, cosines
