"""Named directions: landmark measures, regression on z, validation on fresh faces.

mediapipe is an optional extra, so the fitting and validation logic runs here with a
fake measurer that reads real image statistics of the generated faces.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from stimuli.directions import DirectionsError
from stimuli.directions.landmarks import (
    MEASURES,
    FaceMeshMeasurer,
    fit_named_directions,
    measure_latents,
    measures_from_landmarks,
    named_directions,
    validate_directions,
)
from stimuli.generators import load_generator


def neutral_landmarks() -> np.ndarray:
    points = np.zeros((468, 2))
    points[[33, 263]] = [[30, 40], [90, 40]]  # outer eye corners 60 px apart
    points[[13, 14]] = [[60, 80], [60, 86]]  # inner lips
    points[[61, 291]] = [[45, 83], [75, 83]]  # mouth corners
    points[[133, 362]] = [[50, 40], [70, 40]]  # inner eye corners: each eye 20 px wide
    points[[159, 145, 386, 374]] = [[40, 37], [40, 43], [80, 37], [80, 43]]  # lids 6 px apart
    return points


def test_landmark_measures_respond_to_the_right_points():
    base = measures_from_landmarks(neutral_landmarks())
    assert dict(zip(MEASURES, base.round(3), strict=True)) == {
        "mouth_open": 0.1,
        "smile": 0.0,
        "mouth_width": 0.5,
        "eye_open": 0.3,
    }
    smiling = neutral_landmarks()
    smiling[[61, 291], 1] -= 6  # corners up (image y grows downwards)
    assert measures_from_landmarks(smiling)[1] == pytest.approx(0.1)
    bigger = neutral_landmarks() * 2  # scale-free
    assert np.allclose(measures_from_landmarks(bigger), base)


def brightness_measurer(images: np.ndarray) -> np.ndarray:
    """Fake measurer: lower-half brightness and red-minus-blue, NaN for every 10th face."""
    lower = images[:, images.shape[1] // 2 :].astype(float)
    out = np.column_stack(
        [lower.mean(axis=(1, 2, 3)), (lower[..., 0] - lower[..., 2]).mean((1, 2))]
    )
    out[::10] = np.nan
    return out


@pytest.mark.slow
def test_regression_finds_directions_that_move_the_measure(rng):
    generator = load_generator("dcgan64")
    latents = rng.standard_normal((150, 100))
    measures = measure_latents(generator, latents, brightness_measurer, batch_size=150)
    directions, r2 = fit_named_directions(latents, measures, ("brightness", "warmth"))
    assert directions.names == ("brightness", "warmth") and np.all(r2 > 0.3)
    result = validate_directions(
        generator, directions, brightness_measurer, n_faces=10, step_sd=2.0, rng=rng
    )
    assert np.all(result.success_rate >= 0.9), result.summary()
    assert np.all(result.n_measured == 9)
    assert "right way" in result.summary()


def test_too_few_measured_faces_is_a_clear_error(rng):
    with pytest.raises(DirectionsError, match="generate more faces"):
        fit_named_directions(rng.standard_normal((50, 100)), rng.standard_normal((50, 4)))


def test_named_directions_without_mediapipe_says_how_to_install(monkeypatch, rng):
    monkeypatch.setitem(sys.modules, "mediapipe", None)
    monkeypatch.setitem(sys.modules, "mediapipe.python", None)
    with pytest.raises(DirectionsError, match=r"glyphlab\[landmarks\]"):
        named_directions(load_generator("dcgan64"), FaceMeshMeasurer(), n_faces=10, rng=rng)
