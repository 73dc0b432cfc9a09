"""gan_face mapping modes: seed-faithful roles, direct projection, anti-face."""

from __future__ import annotations

import numpy as np
import pytest

from stimuli.directions import DirectionsError
from stimuli.encodings.gan_face import GanFace
from stimuli.errors import StimulusError
from stimuli.generators import load_generator, mean_latent

from .helpers import small_rows

DCGAN = {"backend": "dcgan64", "size_px": 64, "n_directions": 6}


@pytest.fixture(scope="module", autouse=True)
def private_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(scope="module")
def encoding():
    return GanFace()


def test_roles_map_y_informative_and_other_columns(encoding, seed):
    rows = small_rows(seed, n_features=4)
    params = encoding.params(
        DCGAN
        | {
            "target_feature": "pc01",
            "informative_features": ["pc02", "pc03"],
            "other_features": ["pc04", "pc05", "pc06"],
        }
    )
    names = encoding.mapped(rows, params).names
    expected = {rows.target: "pc01"}
    informative = iter(["pc02", "pc03"])
    other = iter(["pc04", "pc05", "pc06"])
    for column in rows.columns[:-1]:
        expected[column] = next(informative if column in rows.informative else other)
    assert names == tuple(expected[c] for c in rows.columns)


def test_roles_with_too_few_directions_say_which(encoding, seed):
    rows = small_rows(seed, n_features=4)
    params = encoding.params(DCGAN | {"target_feature": "pc01", "informative_features": ["pc02"]})
    with pytest.raises(StimulusError, match="other_features has no direction left"):
        encoding.mapped(rows, params)
    with pytest.raises(StimulusError, match="need target_feature"):
        encoding.params(DCGAN | {"other_features": ["pc02"]})


def test_unknown_axis_lists_the_known_ones(encoding, seed):
    rows = small_rows(seed, n_features=2)
    params = encoding.params(DCGAN | {"features": ["pc01", "smile", "pc02"]})
    with pytest.raises(StimulusError, match=r"unknown directions \['smile'\]; have \['pc01'"):
        encoding.mapped(rows, params)


@pytest.mark.parametrize("basis", ["pca", "random"])
def test_projection_uses_an_orthonormal_basis_at_one_strength(encoding, seed, basis):
    rows = small_rows(seed, n_features=3)
    params = encoding.params(
        DCGAN | {"directions": "projection", "projection_basis": basis, "scale": 0.7}
    )
    mapped = encoding.mapped(rows, params)
    assert mapped.names == ("b01", "b02", "b03", "b04")
    assert np.allclose(mapped.vectors @ mapped.vectors.T, np.eye(4), atol=1e-10)
    base = np.zeros(100)
    offsets = encoding.latents(rows, params, base)
    assert np.allclose(offsets, 0.7 * rows.values @ mapped.vectors)


def test_unknown_projection_basis_is_refused(encoding):
    with pytest.raises(DirectionsError, match="unknown projection basis 'ica'"):
        encoding.params(DCGAN | {"directions": "projection", "projection_basis": "ica"})


def test_anti_face_reflects_the_base_through_the_mean(encoding, seed):
    rows = small_rows(seed)
    face = encoding.draw(rows, encoding.params(DCGAN | {"base_seed": 5}), rng=None)
    anti = encoding.draw(
        rows, encoding.params(DCGAN | {"base_seed": 5, "anti_face": True}), rng=None
    )
    mean = mean_latent(load_generator("dcgan64"))
    assert np.allclose((face + anti) / 2, mean) and not np.allclose(face, anti)
