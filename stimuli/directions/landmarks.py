"""Named directions found automatically with a face-landmark model.

We generate thousands of faces, measure each with MediaPipe's face mesh (468 landmarks;
``mediapipe==0.10.21`` is the last release shipping the mesh inside its wheel, hence the
optional extra ``glyphlab[landmarks]``), regress every measure on z, and take the
regression weights as that measure's direction. Then we check on fresh faces how often
an edit along the direction moves the measure the right way: that rate, not the fit, is
what says a direction is usable. The measurer is a plain callable so the fitting and
validation logic is tested without mediapipe.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from stimuli.directions.base import Directions, DirectionsError
from stimuli.generators.base import FaceGenerator, generate_batched, to_display

MEASURES = ("mouth_open", "smile", "mouth_width", "eye_open")
INSTALL_HINT = "pip install 'glyphlab[landmarks]' (mediapipe==0.10.21)"
#: MediaPipe face-mesh landmark indices
LIP_INNER_TOP, LIP_INNER_BOTTOM, MOUTH_LEFT, MOUTH_RIGHT = 13, 14, 61, 291
EYE_OUTER_LEFT, EYE_OUTER_RIGHT = 33, 263
EYES = ((159, 145, 33, 133), (386, 374, 362, 263))  # top, bottom, corner, corner
MEASURE_PX = 256

#: images uint8 (N, H, W, 3) -> measures (N, len(MEASURES)), NaN where no face was found
Measurer = Callable[[np.ndarray], np.ndarray]


def measures_from_landmarks(points: np.ndarray) -> np.ndarray:
    """The four measures from (468, 2) landmark coordinates, in eye-distance units.

    Dividing by the outer-eye distance makes them independent of face size; image y
    grows downwards, so a smile (corners above the lip centre) is positive.
    """
    eye_distance = np.linalg.norm(points[EYE_OUTER_RIGHT] - points[EYE_OUTER_LEFT])
    top, bottom = points[LIP_INNER_TOP], points[LIP_INNER_BOTTOM]
    left, right = points[MOUTH_LEFT], points[MOUTH_RIGHT]
    centre_y = (top[1] + bottom[1]) / 2
    eye_open = np.mean(
        [
            np.linalg.norm(points[a] - points[b]) / np.linalg.norm(points[c] - points[d])
            for a, b, c, d in EYES
        ]
    )
    return np.array(
        [
            np.linalg.norm(top - bottom) / eye_distance,
            (centre_y - (left[1] + right[1]) / 2) / eye_distance,
            np.linalg.norm(left - right) / eye_distance,
            eye_open,
        ]
    )


class FaceMeshMeasurer:
    """MediaPipe face mesh on still images (imported lazily: it is an optional extra)."""

    def __init__(self, min_detection_confidence: float = 0.3) -> None:
        try:
            from mediapipe.python.solutions import face_mesh
        except ImportError:
            raise DirectionsError(
                f"landmark directions need mediapipe's face mesh; install it: {INSTALL_HINT}"
            ) from None
        self.mesh = face_mesh.FaceMesh(
            static_image_mode=True,
            max_num_faces=1,
            min_detection_confidence=min_detection_confidence,
        )

    def __call__(self, images: np.ndarray) -> np.ndarray:
        out = np.full((len(images), len(MEASURES)), np.nan)
        for i, image in enumerate(images):
            found = self.mesh.process(np.ascontiguousarray(image)).multi_face_landmarks
            if found:
                height, width = image.shape[:2]
                points = np.array([(p.x * width, p.y * height) for p in found[0].landmark])
                out[i] = measures_from_landmarks(points)
        return out


def measure_latents(
    generator: FaceGenerator, latents: np.ndarray, measurer: Measurer, *, batch_size: int = 256
) -> np.ndarray:
    """Measures (N, M) of the faces for ``latents``, upscaled to MEASURE_PX for the mesh."""
    parts = []
    for start in range(0, len(latents), batch_size):
        images = generate_batched(generator, latents[start : start + batch_size])
        parts.append(measurer(to_display(images, MEASURE_PX)))
    return np.concatenate(parts)


def fit_named_directions(
    latents: np.ndarray, measures: np.ndarray, names: tuple[str, ...] = MEASURES
) -> tuple[Directions, np.ndarray]:
    """Least-squares regression of each measure on z; returns directions and each R^2."""
    vectors, r2 = [], []
    for k, name in enumerate(names):
        valid = np.isfinite(measures[:, k])
        if valid.sum() <= latents.shape[1] + 1:
            raise DirectionsError(
                f"only {int(valid.sum())} faces had a measurable {name}; need more than "
                f"{latents.shape[1] + 1} (generate more faces)"
            )
        design = np.column_stack([np.ones(valid.sum()), latents[valid]])
        target = measures[valid, k]
        coefficients, *_ = np.linalg.lstsq(design, target, rcond=None)
        residual = target - design @ coefficients
        r2.append(1.0 - residual.var() / target.var())
        vectors.append(coefficients[1:])
    directions = Directions(
        vectors=np.array(vectors), names=names, scales=np.ones(len(names)), method="landmarks"
    )
    return directions, np.array(r2)


@dataclass(frozen=True)
class ValidationResult:
    """Per direction: the share of fresh faces whose measure moved the right way."""

    names: tuple[str, ...]
    success_rate: np.ndarray
    n_measured: np.ndarray

    def summary(self) -> str:
        return "\n".join(
            f"{name:12s} {rate:6.1%} right way ({n} faces measured before and after)"
            for name, rate, n in zip(self.names, self.success_rate, self.n_measured, strict=True)
        )


def validate_directions(
    generator: FaceGenerator,
    directions: Directions,
    measurer: Measurer,
    *,
    n_faces: int,
    step_sd: float = 2.0,
    rng: np.random.Generator,
) -> ValidationResult:
    """Edit fresh faces by +``step_sd`` data SD along each direction; did its measure rise?

    Direction ``k`` is checked against measure ``k`` of the measurer (same order).
    """
    base = rng.standard_normal((n_faces, directions.latent_dim))
    before = measure_latents(generator, base, measurer)
    rates, counts = [], []
    for k in range(len(directions)):
        step = step_sd * directions.scales[k] * directions.vectors[k]
        after = measure_latents(generator, base + step, measurer)[:, k]
        both = np.isfinite(before[:, k]) & np.isfinite(after)
        counts.append(int(both.sum()))
        rates.append(float(np.mean(after[both] > before[both, k])) if both.any() else np.nan)
    return ValidationResult(directions.names, np.array(rates), np.array(counts))


def named_directions(
    generator: FaceGenerator,
    measurer: Measurer,
    *,
    n_faces: int = 3000,
    rng: np.random.Generator,
) -> tuple[Directions, np.ndarray]:
    """Generate, measure and regress: one direction per measure, with each fit's R^2."""
    latents = rng.standard_normal((n_faces, generator.latent_dim))
    return fit_named_directions(latents, measure_latents(generator, latents, measurer))
