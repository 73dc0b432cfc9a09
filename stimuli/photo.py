"""Encode a photo as the base face: find z whose generated face looks like the photo.

Gradient descent (Adam) on z minimises the pixel L2 distance between G(z) and the photo
shrunk to the generator's resolution, plus ``prior_weight * ||z||^2 / D``, the negative
log-density of z ~ N(0, I) up to a constant: without it z drifts to regions the generator
never saw in training and the face stops responding sensibly to the directions. Several
random starts are scored first and the best one is refined. The resulting latent (.npy)
is what ``gan_face``'s ``base_latent_path`` takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError
from tqdm import tqdm

from stimuli.errors import StimulusError
from stimuli.generators.base import FaceGenerator, to_display, torch_threads


class PhotoError(StimulusError):
    """The photo cannot be read or the fit settings are out of range."""


@dataclass(frozen=True)
class PhotoFitConfig:
    """``steps`` of Adam at learning rate ``lr`` after scoring ``starts`` random latents."""

    steps: int = 300
    lr: float = 0.05
    prior_weight: float = 0.01
    starts: int = 16

    def __post_init__(self) -> None:
        if not 1 <= self.steps <= 100_000 or not 1 <= self.starts <= 4096:
            raise PhotoError(f"steps must be 1..100000 and starts 1..4096; got {self}")
        if not (0 < self.lr <= 10 and 0 <= self.prior_weight <= 100):
            raise PhotoError(f"lr must be in (0, 10] and prior_weight in [0, 100]; got {self}")


@dataclass(frozen=True, eq=False)
class PhotoFit:
    """The fitted latent (D,), the loss after each step, and the target it was fitted to."""

    latent: np.ndarray
    losses: np.ndarray
    target: torch.Tensor


def load_photo(path: Path, size: int) -> torch.Tensor:
    """The photo centre-cropped to a square, resized to ``size``: (1, 3, size, size) in [-1, 1]."""
    try:
        with Image.open(path) as image:
            square = ImageOps.fit(image.convert("RGB"), (size, size), Image.Resampling.LANCZOS)
    except (OSError, UnidentifiedImageError) as error:
        raise PhotoError(f"cannot read photo {path}: {error}") from None
    pixels = torch.from_numpy(np.asarray(square, dtype=np.float32) / 127.5 - 1.0)
    return pixels.permute(2, 0, 1)[None]


def _loss(generator: FaceGenerator, latents, target, prior_weight: float) -> torch.Tensor:
    pixel = (generator.generate(latents) - target).pow(2).mean(dim=(1, 2, 3))
    return pixel + prior_weight * latents.pow(2).mean(dim=1)


def fit_photo(
    generator: FaceGenerator,
    target: torch.Tensor,
    config: PhotoFitConfig = PhotoFitConfig(),
    *,
    rng: np.random.Generator,
    progress: bool = True,
) -> PhotoFit:
    """Fit z to ``target`` (1, 3, H, W) in [-1, 1] at the generator's resolution."""
    if target.shape[-2:] != (generator.image_size, generator.image_size):
        raise PhotoError(f"target must be {generator.image_size} px square; got {target.shape}")
    candidates = torch.as_tensor(
        rng.standard_normal((config.starts, generator.latent_dim)), dtype=torch.float32
    )
    with torch.inference_mode():
        scores = _loss(generator, candidates, target, config.prior_weight)
    latent = candidates[int(scores.argmin())][None].clone().requires_grad_(True)
    optimiser = torch.optim.Adam([latent], lr=config.lr)
    losses = []
    bar = tqdm(range(config.steps), desc="fitting photo", unit="step", disable=not progress)
    with torch_threads(1):  # batch of one: extra threads only wait on each other
        for _ in bar:
            optimiser.zero_grad()
            loss = _loss(generator, latent, target, config.prior_weight).sum()
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
            bar.set_postfix(loss=f"{losses[-1]:.4f}", refresh=False)
    return PhotoFit(latent.detach()[0].double().numpy(), np.array(losses), target)


def before_after(generator: FaceGenerator, fit: PhotoFit, *, face_px: int = 256) -> Image.Image:
    """The photo (as the generator sees it) beside the fitted face, captioned."""
    with torch.inference_mode():
        face = generator.generate(torch.as_tensor(fit.latent[None], dtype=torch.float32))
    pair = to_display(torch.cat([fit.target, face]), face_px)
    caption = 22
    sheet = Image.new("RGB", (2 * face_px, face_px + caption), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=14)
    for i, text in enumerate(("photo (generator resolution)", "fitted face")):
        sheet.paste(Image.fromarray(pair[i]), (i * face_px, caption))
        draw.text((i * face_px + face_px // 2, 4), text, (20, 20, 20), font, "mt")
    return sheet
