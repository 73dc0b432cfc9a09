"""Photo encoding with MobileStyleGAN: the torch draft, w+, and the round trip.

The round trip re-encodes faces the generator made from a known w. It descends through
the differentiable draft at 128 px for 30 steps (0.4-0.7 s a step on one core), so it
fits in CI's minute; the astronaut figure (docs/neural-faces/make_figures.py
--only photo) runs the long fit with the full-face correction.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stimuli.generators import generate_batched, load_generator, mobilestylegan_torch
from stimuli.generators.base import resize_images, torch_threads
from stimuli.generators.mobilestylegan_draft import TAP
from stimuli.photo import PhotoError, PhotoFitConfig, fit_photo, psnr


@pytest.fixture(scope="module")
def port():
    return mobilestylegan_torch.load()


def test_the_torch_draft_matches_the_openvino_draft_and_carries_gradients(port):
    openvino = load_generator("mobilestylegan")
    w = torch.as_tensor(openvino.sample_latents(1, rng=np.random.default_rng(5)))
    expected = openvino.draft(w)
    latent = w.float().clone().requires_grad_(True)
    with torch_threads(1):
        actual = port.draft(latent)
        actual.mean().backward()
    assert actual.shape == (1, 3, 256, 256)
    assert float((actual.detach() - expected).abs().max()) < 1e-3
    assert latent.grad is not None and float(latent.grad.abs().max()) > 0


def test_w_plus_has_one_row_per_style_layer_coarse_to_fine(port):
    """23 style affines; the draft reads the first 16; equal rows give the w face."""
    assert (port.style_layers, port.draft_layers) == (23, 16)
    assert port.synthesis.layers_read_by(TAP) == list(range(16))
    w = torch.as_tensor(port.mean_latent[None], dtype=torch.float32)
    plus = w[:, None].repeat(1, 23, 1)
    with torch.inference_mode(), torch_threads(1):
        same = port.draft(w)
        assert torch.equal(port.draft(plus), same)
        fine = plus.clone()
        fine[:, 16:] += 3.0  # layers after the tap: the draft does not see them
        assert torch.equal(port.draft(fine), same)
        coarse = plus.clone()
        coarse[:, 0] += 3.0
        assert float((port.draft(coarse) - same).abs().max()) > 0.05
    with pytest.raises(Exception, match=r"\(N, 23, D\)"):
        port.synthesis(plus[:, :5])


@pytest.mark.slow
def test_a_generated_face_is_re_encoded_close_to_its_own_w(port):
    """Round trip: face of a known w -> fitted w. The recovered face is the same face
    (PSNR of the full network's face) and its w lies nearer the truth than the mean face
    does and far nearer than other faces' w."""
    rng = np.random.default_rng(11)
    truth = port.sample_latents(1, rng=rng)
    target = generate_batched(load_generator("mobilestylegan"), truth, size=128)
    config = PhotoFitConfig(steps=30, lr=0.1, starts=4, fit_px=128, full_every=0)
    with torch_threads(1):
        fit = fit_photo(port, target, config, rng=rng, progress=False)
    assert fit.latent.shape == (512,) and fit.faces.shape == (1, 3, 128, 128)
    assert fit.losses[-1] < 0.5 * fit.losses[0]
    others = port.sample_latents(16, rng=np.random.default_rng(12))
    random_face = generate_batched(load_generator("mobilestylegan"), others[:1], size=128)
    # measured (seed 11, 30 steps): 17.3 dB vs 9.8 dB for a random face; |w - truth|
    # 7.5 vs 8.2 for the mean face and 10.4 (median) for other faces' w
    assert fit.psnr > 15.0 and fit.psnr > psnr(random_face, target) + 5.0
    distance = np.linalg.norm(fit.latent - truth[0])
    assert distance < np.linalg.norm(port.mean_latent - truth[0])
    assert distance < 0.8 * np.median(np.linalg.norm(others - truth[0], axis=1))


@pytest.mark.slow
def test_w_plus_steps_continue_from_the_w_fit_and_get_closer(port):
    rng = np.random.default_rng(3)
    truth = port.sample_latents(1, rng=rng)
    with torch.inference_mode():
        target = resize_images(port.draft(torch.as_tensor(truth, dtype=torch.float32)), 64)
    config = PhotoFitConfig(steps=8, plus_steps=8, starts=2, fit_px=64, full_every=0)
    with torch_threads(1):
        fit = fit_photo(port, target, config, rng=rng, progress=False)
    assert fit.latent_plus.shape == (23, 512) and len(fit.losses) == 16
    assert np.allclose(fit.latent_plus[16:], fit.latent_plus[16])  # unseen layers: shared w
    assert fit.losses[-1] < fit.losses[7]
    assert fit.psnr_plus is not None and fit.faces.shape == (2, 3, 64, 64)


def test_w_plus_needs_a_per_layer_generator():
    with pytest.raises(PhotoError, match="no per-layer latent"):
        fit_photo(
            load_generator("dcgan64"),
            torch.zeros(1, 3, 64, 64),
            PhotoFitConfig(steps=1, plus_steps=1, starts=1),
            rng=np.random.default_rng(0),
            progress=False,
        )
