"""Latent directions: validation, orthogonalisation, files, PCA, calibration, means, cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from stimuli.directions import (
    Directions,
    DirectionsConfig,
    DirectionsError,
    anti_face,
    compute_directions,
    from_array,
)
from stimuli.directions.calibrate import calibrate, image_change, order_by_change
from stimuli.directions.means import latent_bank, mean_difference_directions, read_labels
from stimuli.directions.pca import _sampled_pca, affine_jacobian, pca_directions
from stimuli.generators import load_generator


@pytest.fixture(scope="module")
def generator():
    return load_generator("dcgan64")


def test_directions_are_unit_rows_and_validated(rng):
    directions = from_array(rng.standard_normal((3, 5)) * 7)
    assert np.allclose(np.linalg.norm(directions.vectors, axis=1), 1)
    assert directions.names == ("d01", "d02", "d03")
    with pytest.raises(DirectionsError, match="zero"):
        from_array(np.zeros((2, 5)))
    with pytest.raises(DirectionsError, match="distinct names"):
        Directions(np.eye(2), ("a", "a"), np.ones(2), "file")
    with pytest.raises(DirectionsError, match="positive"):
        Directions(np.eye(2), ("a", "b"), np.array([1.0, -1.0]), "file")


def test_orthogonalised_keeps_the_first_direction_and_spans_the_same_space(rng):
    raw = from_array(rng.standard_normal((4, 10)))
    orthogonal = raw.orthogonalised()
    assert np.allclose(orthogonal.vectors @ orthogonal.vectors.T, np.eye(4), atol=1e-10)
    assert np.allclose(orthogonal.vectors[0], raw.vectors[0])
    projection = orthogonal.vectors.T @ orthogonal.vectors
    assert np.allclose(raw.vectors @ projection, raw.vectors, atol=1e-10)
    with pytest.raises(DirectionsError, match="linearly dependent"):
        from_array(np.array([[1.0, 0, 0], [2.0, 0, 0]])).orthogonalised()


def test_offsets_follow_value_times_scale_times_direction():
    directions = Directions(np.eye(3)[:2], ("a", "b"), np.array([0.5, 2.0]), "file")
    assert np.allclose(directions.offsets(np.array([[2.0, 1.0]])), [[1.0, 2.0, 0.0]])
    with pytest.raises(DirectionsError, match="one column per direction"):
        directions.offsets(np.zeros((1, 3)))


def test_save_and_load_round_trip_npz_and_npy(tmp_path, rng):
    directions = from_array(rng.standard_normal((3, 6))).with_scales(np.array([1.0, 2.0, 3.0]))
    loaded = Directions.load(directions.save(tmp_path / "d.npz"))
    assert loaded.names == directions.names and np.array_equal(loaded.scales, directions.scales)
    assert np.array_equal(loaded.vectors, directions.vectors)
    np.save(tmp_path / "raw.npy", rng.standard_normal((2, 6)))
    assert Directions.load(tmp_path / "raw.npy").vectors.shape == (2, 6)
    (tmp_path / "bad.npy").write_text("nope")
    with pytest.raises(DirectionsError, match=r"not a \.npy"):
        Directions.load(tmp_path / "bad.npy")


def test_anti_face_reflects_through_the_mean(rng):
    latents = rng.standard_normal((3, 4))
    mean = rng.standard_normal(4)
    assert np.allclose(anti_face(latents), -latents)
    assert np.allclose(anti_face(anti_face(latents, mean), mean), latents)
    assert np.allclose((anti_face(latents, mean) + latents) / 2, mean)


def test_pca_of_the_first_layer_is_not_isotropic(generator, rng):
    directions, explained = pca_directions(generator, n_components=8, rng=rng)
    assert directions.vectors.shape == (8, 100)
    assert np.allclose(directions.vectors @ directions.vectors.T, np.eye(8), atol=1e-6)
    assert np.all(np.diff(explained) <= 0)
    assert explained[0] > 0.05  # PCA over z itself would give ~0.01 per component


@pytest.mark.slow
def test_exact_and_sampled_pca_agree(generator, rng):
    assert affine_jacobian(generator, rng=rng) is not None
    exact, _ = pca_directions(generator, n_components=2, rng=rng)
    back, _ = _sampled_pca(generator, 2, 500, rng=rng)
    sampled = back / np.linalg.norm(back, axis=1, keepdims=True)
    assert abs(sampled[0] @ exact.vectors[0]) > 0.85


def test_directions_ordered_by_change_and_calibrated(generator, rng):
    directions, _ = pca_directions(generator, n_components=3, rng=rng)
    ordered = order_by_change(generator, directions, rng=rng, n_faces=4)
    base = rng.standard_normal((4, 100))
    change = image_change(generator, ordered.vectors, np.ones(3), base)
    assert change[0] == pytest.approx(change.max(), rel=0.15)
    scaled = calibrate(generator, ordered, rng=rng, target=0.04, n_faces=4)
    reached = image_change(generator, scaled.vectors, scaled.scales, base)
    free = scaled.scales < 1.5
    assert np.allclose(reached[free], 0.04, rtol=0.3)


def test_compute_directions_is_deterministic_and_cached(generator, tmp_path):
    config = DirectionsConfig(n_components=2, seed=5, calibration_faces=4)
    first = compute_directions(generator, config, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 1
    again = compute_directions(generator, config, cache_dir=tmp_path)
    fresh = compute_directions(generator, config)
    assert np.array_equal(first.vectors, again.vectors)
    assert np.allclose(first.vectors, fresh.vectors) and np.allclose(first.scales, fresh.scales)


def test_config_errors_say_what_is_missing():
    with pytest.raises(DirectionsError, match="needs path"):
        DirectionsConfig(method="means")
    with pytest.raises(DirectionsError, match="unknown directions method"):
        DirectionsConfig(method="ica")


def test_difference_of_means_recovers_a_planted_attribute(tmp_path):
    truth = np.zeros(100)
    truth[:3] = [1.0, -1.0, 0.5]
    bank = latent_bank(400, 100, seed=0)
    labels = (bank @ truth > 0).astype(int)
    csv = tmp_path / "labels.csv"
    csv.write_text("latent_id,smiling\n" + "".join(f"{i},{v}\n" for i, v in enumerate(labels)))
    directions = mean_difference_directions(read_labels(csv), seed=0, latent_dim=100)
    assert directions.names == ("smiling",)
    assert directions.vectors[0] @ truth / np.linalg.norm(truth) > 0.8


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("latent_id,smiling\n0,1\n1,yes\n", r"line 3, column 'smiling'"),
        ("latent_id,smiling\n0.5,1\n", r"line 2, column 'latent_id'"),
        ("id,smiling\n0,1\n", "needs a column 'latent_id'"),
        ("", "cannot read labels CSV"),
    ],
)
def test_bad_labels_csv_names_the_place(tmp_path, text, message):
    csv = tmp_path / "labels.csv"
    csv.write_text(text)
    with pytest.raises(DirectionsError, match=message):
        read_labels(csv)


def test_a_direction_step_changes_the_face(generator, rng):
    directions, _ = pca_directions(generator, n_components=1, rng=rng)
    base = torch.as_tensor(rng.standard_normal((1, 100)), dtype=torch.float32)
    step = torch.as_tensor(directions.vectors[:1] * 2, dtype=torch.float32)
    with torch.inference_mode():
        change = (generator.generate(base + step) - generator.generate(base)).abs().mean()
    assert change > 0.02


def test_the_cache_folder_is_the_explicit_setting(directions_cache):
    from stimuli.directions import CACHE_DIR_VARIABLE, default_cache_dir

    assert CACHE_DIR_VARIABLE == "GLYPHLAB_DIRECTIONS_CACHE"
    assert default_cache_dir() == directions_cache
    assert not str(directions_cache).startswith(str(Path.home() / ".cache"))
