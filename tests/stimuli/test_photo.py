"""Photo -> base latent: recovering a face the generator made itself."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from stimuli.generators import generate_batched, load_generator, to_display
from stimuli.photo import PhotoError, PhotoFitConfig, before_after, fit_photo, load_photo


@pytest.fixture(scope="module")
def generator():
    return load_generator("dcgan64")


@pytest.mark.slow
def test_fitting_a_generated_face_reduces_the_loss_substantially(generator, rng, tmp_path):
    truth = rng.standard_normal((1, 100))
    photo = tmp_path / "face.png"
    Image.fromarray(to_display(generate_batched(generator, truth), 256)[0]).save(photo)
    target = load_photo(photo, 64)
    assert target.shape == (1, 3, 64, 64) and target.min() >= -1 and target.max() <= 1
    fit = fit_photo(
        generator, target, PhotoFitConfig(steps=60, lr=0.1, starts=4), rng=rng, progress=False
    )
    assert fit.latent.shape == (100,)
    assert fit.losses[-1] < 0.5 * fit.losses[0]
    with torch.inference_mode():
        fitted = generator.generate(torch.as_tensor(fit.latent[None], dtype=torch.float32))
    random_face = generate_batched(generator, rng.standard_normal((1, 100)))
    assert (fitted - target).pow(2).mean() < 0.5 * (random_face - target).pow(2).mean()
    sheet = before_after(generator, fit, face_px=64)
    assert sheet.size == (128, 64 + 22)


def test_unreadable_photo_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    with pytest.raises(PhotoError, match="cannot read photo"):
        load_photo(bad, 64)


def test_fit_settings_are_validated(generator, rng):
    with pytest.raises(PhotoError, match="steps"):
        PhotoFitConfig(steps=0)
    with pytest.raises(PhotoError, match="64 px square"):
        fit_photo(generator, torch.zeros(1, 3, 32, 32), rng=rng, progress=False)


def test_non_square_photos_are_centre_cropped(tmp_path):
    wide = np.zeros((40, 120, 3), dtype=np.uint8)
    wide[:, 40:80] = 255  # white centre, black sides
    Image.fromarray(wide).save(tmp_path / "wide.png")
    target = load_photo(tmp_path / "wide.png", 16)
    assert target.shape == (1, 3, 16, 16) and target.mean() > 0.9


def test_ffhq_crop_is_level_centred_and_scaled_to_the_face():
    from stimuli.photo import ffhq_quad

    quad = ffhq_quad(
        np.array([40.0, 50.0]), np.array([80.0, 50.0]), *np.array([[45.0, 90.0], [75.0, 90.0]])
    )
    top_left, bottom_left, _, top_right = quad
    assert np.allclose(top_left[1], top_right[1]) and np.allclose(top_left[0], bottom_left[0])
    side = top_right[0] - top_left[0]
    assert np.isclose(side, 2 * max(40 * 2.0, 40 * 1.8))  # 2x the half-width
    assert np.allclose(quad.mean(axis=0), [60.0, 54.0])  # a little below the eyes


def test_a_photo_without_a_face_is_a_clear_error(tmp_path):
    pytest.importorskip("mediapipe", reason="alignment uses MediaPipe (labellers extra)")
    from stimuli.photo import align_face

    Image.new("RGB", (200, 200), (90, 140, 200)).save(tmp_path / "sky.png")
    with pytest.raises(PhotoError, match="no face found"):
        align_face(tmp_path / "sky.png", 64)


def test_the_astronaut_is_aligned_and_dlib_scores_identity():
    """The labellers extra's photo and models: MediaPipe finds the face, the crop is
    the photo's face (dlib distance 0 to itself, NaN where there is no face)."""
    import importlib.util

    for module in ("skimage", "mediapipe", "dlib"):
        pytest.importorskip(module, reason="labellers extra")
    if importlib.util.find_spec("face_recognition_models") is None:  # read as files only
        pytest.skip("labellers extra (face-recognition-models)")
    import skimage.data

    from stimuli.photo import align_face, identity_distance

    crop = align_face(Image.fromarray(skimage.data.astronaut()), 256)
    assert crop.shape == (1, 3, 256, 256)
    assert identity_distance(crop, crop) < 1e-6
    assert np.isnan(identity_distance(crop, torch.zeros_like(crop)))
