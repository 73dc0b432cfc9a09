"""What every face generator offers, and the shared image helpers.

A generator maps latents ``(N, D)`` to images ``(N, 3, H, W)`` in ``[-1, 1]``. Everything
downstream (directions, the ``gan_face`` encoding, photo fitting, benchmarks) talks to
this small protocol, so a new backend is one module plus one line in ``GENERATORS``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol, runtime_checkable

import numpy as np
import torch
import torch.nn.functional as F

from stimuli.errors import StimulusError


class GeneratorError(StimulusError):
    """A generator cannot be loaded or was given latents of the wrong shape."""


@runtime_checkable
class FaceGenerator(Protocol):
    """A loaded, deterministic latent -> image network (eval mode, CPU or GPU)."""

    #: registry key, stored in the manifest's "generator" entry
    backend: str
    #: length D of one latent vector
    latent_dim: int
    #: side of the square images the network makes
    image_size: int
    #: sha256 of the weights/TorchScript file the images come from
    weights_sha256: str

    def generate(self, latents: torch.Tensor) -> torch.Tensor:
        """Images (N, 3, H, W) in [-1, 1] for latents (N, D); differentiable (photo fitting)."""
        ...

    def features(self, latents: torch.Tensor) -> torch.Tensor:
        """Early-layer activations (N, F) used for GANSpace-style PCA directions."""
        ...


def manifest_entry(generator: FaceGenerator) -> dict[str, str]:
    """The manifest's ``"generator"`` entry (DESIGN.md contract)."""
    return {"backend": generator.backend, "weights_sha256": generator.weights_sha256}


def check_latents(latents: np.ndarray | torch.Tensor, latent_dim: int) -> torch.Tensor:
    """Latents as a float32 (N, D) tensor, or a GeneratorError naming the shape it got."""
    tensor = torch.as_tensor(latents, dtype=torch.float32)
    if tensor.ndim != 2 or tensor.shape[1] != latent_dim:
        raise GeneratorError(
            f"latents must have shape (N, {latent_dim}); got {tuple(tensor.shape)}"
        )
    if not torch.isfinite(tensor).all():
        raise GeneratorError("latents contain NaN or infinity; check the data columns mapped")
    return tensor


def batches(latents: torch.Tensor, batch_size: int) -> Iterator[torch.Tensor]:
    """Consecutive slices of at most ``batch_size`` rows."""
    if batch_size < 1:
        raise GeneratorError(f"batch_size must be >= 1; got {batch_size}")
    for start in range(0, latents.shape[0], batch_size):
        yield latents[start : start + batch_size]


def sample_latents(generator: FaceGenerator, n: int, *, rng: np.random.Generator) -> np.ndarray:
    """``n`` base-face latents: the generator's own prior when it has one, else N(0, I).

    StyleGAN-style backends work in w, whose distribution is the mapping network's
    output, not a standard normal; DCGAN and TorchScript latents are z ~ N(0, I).
    """
    own = getattr(generator, "sample_latents", None)
    if own is not None:
        return own(n, rng=rng)
    return rng.standard_normal((n, generator.latent_dim))


def mean_latent(generator: FaceGenerator) -> np.ndarray:
    """The mean face's latent (the anti-face's mirror): w's mean, or 0 for z ~ N(0, I)."""
    mean = getattr(generator, "mean_latent", None)
    return np.zeros(generator.latent_dim) if mean is None else np.asarray(mean)


def renders_concurrently(generator: FaceGenerator) -> bool:
    """Whether ``generate`` may be called from several threads at once, each running
    torch on one thread (an optional ``concurrent_batches`` attribute, default False).

    A small network gains from it: the 64 px DCGAN spends a sixth to a fifth of its
    CPU waiting at its own intra-op threads' barriers when one batch runs on every core
    (4.0-4.2 ms a face on one thread, 4.8-5.4 ms on two, 2 cores), so the set writer
    renders one stimulus per core instead (``stimuli.render_lanes``). A backend whose
    runtime keeps one request per network (OpenVINO's compiled models) must not
    declare it.
    """
    return bool(getattr(generator, "concurrent_batches", False))


def resize_images(images: torch.Tensor, size: int | None) -> torch.Tensor:
    """(N, 3, H, H) -> (N, 3, size, size), filtered properly when shrinking.

    An integer shrink factor (1024 -> 256) is an exact box filter (``area``: every
    output pixel is the mean of its 4x4 block, no aliasing); other shrinks use bicubic
    with antialiasing (Pillow's algorithm). Enlarging is left to :func:`to_display`.
    """
    height = images.shape[-1]
    if size is None or size >= height:
        return images
    if height % size == 0:
        return F.avg_pool2d(images, height // size)
    return F.interpolate(images, size=(size, size), mode="bicubic", antialias=True)


def generate_batched(
    generator: FaceGenerator,
    latents: np.ndarray | torch.Tensor,
    *,
    batch_size: int = 64,
    size: int | None = None,
    progress: bool = False,
) -> torch.Tensor:
    """Images for many latents, batch by batch, without autograd bookkeeping.

    With ``size`` each batch is shrunk as soon as it is made, so 1024 px outputs never
    pile up in memory; ``progress`` shows a tqdm bar counting faces.
    """
    from tqdm import tqdm

    tensor = check_latents(latents, generator.latent_dim)
    parts = []
    with (
        torch.inference_mode(),
        tqdm(
            total=len(tensor), desc=f"{generator.backend} faces", unit="face", disable=not progress
        ) as bar,
    ):
        for chunk in batches(tensor, batch_size):
            parts.append(resize_images(generator.generate(chunk), size))
            bar.update(len(chunk))
    if not parts:
        side = generator.image_size if size is None else min(size, generator.image_size)
        return torch.empty((0, 3, side, side))
    return torch.cat(parts)


def to_display(images: torch.Tensor, size: int | None = None) -> np.ndarray:
    """(N, 3, H, W) in [-1, 1] -> uint8 (N, size, size, 3), upscaled smoothly in one batch.

    We quantise at the generator's resolution, then resample uint8 channels-last with
    bicubic + antialias: torch has a vectorised kernel for exactly that case, measured
    ~5x faster than resampling float32 (1 ms vs 4-19 ms per 256 px face on a busy 2-core
    machine) and within 2 grey levels of Pillow's BICUBIC. It also avoids bicubic
    overshoot, since uint8 output saturates at 0 and 255.
    """
    with torch.inference_mode():
        scaled = ((images.clamp(-1.0, 1.0) + 1.0) * 127.5).round_().to(torch.uint8)
        if size is not None and size != images.shape[-1]:
            scaled = F.interpolate(
                scaled.contiguous(memory_format=torch.channels_last),
                size=(size, size),
                mode="bicubic",
                align_corners=False,
                antialias=True,
            )
        return scaled.permute(0, 2, 3, 1).contiguous().cpu().numpy()


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run a block with ``n`` torch intra-op threads, then restore the previous count.

    One image at a time (photo fitting) gains nothing from more threads, and on a busy
    2-core machine two threads per op were measured 7x slower than one (0.7 s vs 0.09 s
    per fitting step) because they wait on each other.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(max(1, n))
    try:
        yield
    finally:
        torch.set_num_threads(previous)
