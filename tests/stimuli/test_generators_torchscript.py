"""Bring-your-own TorchScript generator, exercised with a tiny network built here."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from stimuli.generators import generate_batched, load_generator
from stimuli.generators.base import GeneratorError

LATENT_DIM = 8
#: torch 2.13 deprecates torch.jit.script/trace; the contract still uses TorchScript files.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")


class TinyGenerator(nn.Module):
    """latents (N, 8) -> images (N, 3, 16, 16) in [-1, 1], with a features() method."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.linear = nn.Linear(LATENT_DIM, 3 * 16 * 16)

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.linear(latents)).view(-1, 3, 16, 16)

    @torch.jit.export
    def features(self, latents: torch.Tensor) -> torch.Tensor:
        return self.linear(latents)


class Unbounded(nn.Module):
    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        return latents.sum(1).view(-1, 1, 1, 1).expand(-1, 3, 4, 4) * 10


def save_scripted(module: nn.Module, path: Path, *, trace: bool = False) -> Path:
    scripted = (
        torch.jit.trace(module, torch.zeros(2, LATENT_DIM)) if trace else torch.jit.script(module)
    )
    scripted.save(str(path))
    return path


@pytest.mark.parametrize("trace", [False, True], ids=["script", "trace"])
def test_scripted_generator_round_trip(tmp_path, rng, trace):
    path = save_scripted(TinyGenerator(), tmp_path / "tiny.pt", trace=trace)
    generator = load_generator("torchscript", path=path, latent_dim=LATENT_DIM)
    latents = rng.standard_normal((5, LATENT_DIM))
    images = generate_batched(generator, latents, batch_size=2)
    assert images.shape == (5, 3, 16, 16)
    assert generator.image_size == 16 and len(generator.weights_sha256) == 64
    assert torch.allclose(images, generate_batched(generator, latents, batch_size=5), atol=1e-6)
    assert generator.features(torch.zeros(2, LATENT_DIM)).shape == (2, 3 * 16 * 16)


def test_wrong_latent_dim_is_a_clear_error(tmp_path):
    path = save_scripted(TinyGenerator(), tmp_path / "tiny.pt")
    with pytest.raises(GeneratorError, match="is latent_dim right"):
        load_generator("torchscript", path=path, latent_dim=5)


def test_images_outside_the_range_are_refused(tmp_path):
    path = save_scripted(Unbounded(), tmp_path / "unbounded.pt")
    with pytest.raises(GeneratorError, match=r"\[-1, 1\]"):
        load_generator("torchscript", path=path, latent_dim=LATENT_DIM)


def test_not_a_torchscript_file(tmp_path):
    path = tmp_path / "junk.pt"
    path.write_bytes(b"junk")
    with pytest.raises(GeneratorError, match="not a TorchScript file"):
        load_generator("torchscript", path=path, latent_dim=LATENT_DIM)
