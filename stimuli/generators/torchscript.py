"""Bring-your-own generator: any network exported as TorchScript.

The file must map latents ``(N, D)`` to images ``(N, 3, H, W)`` in ``[-1, 1]`` (e.g. a
StyleGAN2/3 generator wrapped and exported with ``torch.jit.trace``). Directions come with
it as a ``.npy`` of shape ``(K, D)``. The network is probed once on load (two fixed random
latents) so a wrong export fails here with a message, not deep inside stimulus
generation. This is the path for uses the default DCGAN's DigiFace-1M licence forbids
(commercial use).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from stimuli.generators.base import GeneratorError
from stimuli.generators.dcgan64 import sha256_of

BACKEND = "torchscript"
#: PCA features for a scripted net without a ``features`` method: its images pooled to 16 px
FALLBACK_FEATURE_SIZE = 16


class TorchScriptGenerator:
    """A scripted generator; ``features`` uses its own method when it exports one."""

    backend = BACKEND

    def __init__(self, module: torch.jit.ScriptModule, *, latent_dim: int, sha256: str) -> None:
        self.module = module.eval()
        self.latent_dim = latent_dim
        self.weights_sha256 = sha256
        self.has_features = hasattr(module, "features")
        with torch.inference_mode():
            probe = self.module(
                torch.randn(2, latent_dim, generator=torch.Generator().manual_seed(0))
            )
        check_images(probe, n=2)
        self.image_size = int(probe.shape[-1])

    def generate(self, latents: torch.Tensor) -> torch.Tensor:
        return self.module(latents)

    def features(self, latents: torch.Tensor) -> torch.Tensor:
        if self.has_features:
            return self.module.features(latents).flatten(1)
        pooled = torch.nn.functional.adaptive_avg_pool2d(
            self.module(latents), FALLBACK_FEATURE_SIZE
        )
        return pooled.flatten(1)


def check_images(images: object, *, n: int) -> None:
    """Raise GeneratorError unless ``images`` is a square (n, 3, H, H) tensor in [-1, 1]."""
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        raise GeneratorError(
            "a TorchScript generator must return one tensor of shape (N, 3, H, W); got "
            f"{type(images).__name__} {getattr(images, 'shape', '')}"
        )
    if images.shape[0] != n or images.shape[1] != 3 or images.shape[2] != images.shape[3]:
        raise GeneratorError(
            f"a TorchScript generator must return square RGB images (N={n}, 3, H, H); "
            f"got {tuple(images.shape)}"
        )
    low, high = float(images.min()), float(images.max())
    if low < -1.0001 or high > 1.0001:
        raise GeneratorError(
            f"a TorchScript generator must return values in [-1, 1] (end it with tanh); "
            f"got [{low:.3g}, {high:.3g}]"
        )


def load_torchscript(path: Path, *, latent_dim: int, device: str = "cpu") -> TorchScriptGenerator:
    """Load ``path`` with ``torch.jit.load`` and probe it with two zero latents."""
    path = Path(path)
    if not path.is_file():
        raise GeneratorError(f"TorchScript generator {path} does not exist")
    if latent_dim < 1:
        raise GeneratorError(f"latent_dim must be >= 1; got {latent_dim}")
    try:
        with warnings.catch_warnings():
            # torch 2.13 deprecates TorchScript in favour of torch.export; DESIGN.md's
            # bring-your-own contract is TorchScript, which still loads and runs.
            warnings.filterwarnings("ignore", r"`torch\.jit\.", DeprecationWarning)
            module = torch.jit.load(str(path), map_location=device)
    except RuntimeError as error:
        raise GeneratorError(
            f"{path} is not a TorchScript file (export it with torch.jit.script or "
            f"torch.jit.trace and torch.jit.save): {str(error).splitlines()[0]}"
        ) from None
    try:
        return TorchScriptGenerator(module, latent_dim=latent_dim, sha256=sha256_of(path))
    except RuntimeError as error:
        raise GeneratorError(
            f"{path} failed on latents of shape (2, {latent_dim}); is latent_dim right? "
            f"{str(error).splitlines()[0]}"
        ) from None


def load(path: Path, *, latent_dim: int, device: str = "cpu") -> TorchScriptGenerator:
    """Registry entry point (``GENERATORS["torchscript"]``)."""
    return load_torchscript(path, latent_dim=latent_dim, device=device)


def unavailable_reason() -> str | None:
    """Always available: the file itself is checked when it loads."""
    return None
