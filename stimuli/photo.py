"""Encode a photo as the base face: find the latent whose generated face looks like it.

Gradient descent (Adam) on the latent (z for DCGAN, w for MobileStyleGAN through its
torch port) minimises the pixel L2 distance between G(latent), shrunk to ``fit_px``,
and the photo, plus ``prior_weight * ||latent - mean||^2 / D`` (for z ~ N(0, I) the
negative log-density up to a constant; for w a pull towards the mean face): without it
the latent drifts to regions the generator
never saw in training and the face stops responding sensibly to the directions. Several
random starts (and, in w, the mean face) are scored first and the best one is refined. The
resulting latent (.npy) is what ``gan_face``'s ``base_latent_path`` takes.

StyleGAN generators were trained on FFHQ-aligned faces, so ``align_face`` first crops
and rotates the photo the way FFHQ was made (eyes level, face centred, from MediaPipe's
face mesh in the optional labellers extra); a photo without a face is an error.
:func:`psnr` scores the reconstruction.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError
from tqdm import tqdm

from stimuli.errors import StimulusError
from stimuli.generators.base import (
    FaceGenerator,
    mean_latent,
    resize_images,
    sample_latents,
    to_display,
    torch_threads,
)


class PhotoError(StimulusError):
    """The photo cannot be read or the fit settings are out of range."""


@dataclass(frozen=True)
class PhotoFitConfig:
    """``steps`` of Adam at learning rate ``lr`` after scoring ``starts`` random latents;
    the loss compares images at ``fit_px`` (at most the generator's size)."""

    steps: int = 300
    lr: float = 0.05
    prior_weight: float = 0.01
    starts: int = 16
    fit_px: int = 256

    def __post_init__(self) -> None:
        if not 1 <= self.steps <= 100_000 or not 1 <= self.starts <= 4096:
            raise PhotoError(f"steps must be 1..100000 and starts 1..4096; got {self}")
        if not (0 < self.lr <= 10 and 0 <= self.prior_weight <= 100):
            raise PhotoError(f"lr must be in (0, 10] and prior_weight in [0, 100]; got {self}")


@dataclass(frozen=True, eq=False)
class PhotoFit:
    """The fitted latent (D,), the loss after each step, the target it was fitted to and
    the reconstruction's PSNR (dB) against it."""

    latent: np.ndarray
    losses: np.ndarray
    target: torch.Tensor
    psnr: float


def load_photo(path: Path, size: int) -> torch.Tensor:
    """The photo centre-cropped to a square, resized to ``size``: (1, 3, size, size) in [-1, 1]."""
    try:
        with Image.open(path) as image:
            square = ImageOps.fit(image.convert("RGB"), (size, size), Image.Resampling.LANCZOS)
    except (OSError, UnidentifiedImageError) as error:
        raise PhotoError(f"cannot read photo {path}: {error}") from None
    pixels = torch.from_numpy(np.asarray(square, dtype=np.float32) / 127.5 - 1.0)
    return pixels.permute(2, 0, 1)[None]


#: MediaPipe face-mesh landmarks: eye corners (left, right eye) and mouth corners
EYE_LEFT, EYE_RIGHT, MOUTH = (33, 133), (362, 263), (61, 291)
ALIGN_HINT = "bash scripts/bootstrap.sh --labellers (MediaPipe), or pass --no-align"


def ffhq_quad(eye_left, eye_right, mouth_left, mouth_right) -> np.ndarray:
    """The FFHQ crop (4 corners, clockwise from top left) for these landmarks.

    FFHQ's recipe: centre a little below the eyes, towards the mouth; side from the
    larger of 2x the eye distance and 1.8x the eye-to-mouth distance; rotated so the
    eyes are level.
    """
    eye_avg = (eye_left + eye_right) / 2
    eye_to_eye = eye_right - eye_left
    eye_to_mouth = (mouth_left + mouth_right) / 2 - eye_avg
    x = eye_to_eye - np.array([-eye_to_mouth[1], eye_to_mouth[0]])
    x /= np.hypot(*x)
    x *= max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8)
    y = np.array([-x[1], x[0]])
    c = eye_avg + eye_to_mouth * 0.1
    return np.array([c - x - y, c - x + y, c + x + y, c + x - y])


def align_face(path: Path, size: int) -> torch.Tensor:
    """The photo's face cropped FFHQ-style to ``size``: (1, 3, size, size) in [-1, 1]."""
    try:
        from mediapipe.python.solutions import face_mesh
    except ImportError:
        raise PhotoError(f"face alignment needs MediaPipe; install it: {ALIGN_HINT}") from None
    try:
        with Image.open(path) as opened:
            image = opened.convert("RGB")
    except (OSError, UnidentifiedImageError) as error:
        raise PhotoError(f"cannot read photo {path}: {error}") from None
    with face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1) as mesh:
        found = mesh.process(np.asarray(image)).multi_face_landmarks
    if not found:
        raise PhotoError(
            f"no face found in {path}; use a photo with one clearly visible face "
            f"(or --no-align to fit the centre crop as it is)"
        )
    points = np.array([(p.x * image.width, p.y * image.height) for p in found[0].landmark])
    eye_l, eye_r = points[list(EYE_LEFT)].mean(axis=0), points[list(EYE_RIGHT)].mean(axis=0)
    quad = ffhq_quad(eye_l, eye_r, points[MOUTH[0]], points[MOUTH[1]])
    # Pillow's QUAD maps the corners (top-left, bottom-left, bottom-right, top-right)
    corners = quad[[0, 1, 2, 3]].reshape(-1)
    crop = image.transform((size, size), Image.Transform.QUAD, tuple(corners), Image.BICUBIC)
    pixels = torch.from_numpy(np.asarray(crop, dtype=np.float32) / 127.5 - 1.0)
    return pixels.permute(2, 0, 1)[None]


def _loss(generator: FaceGenerator, latents, target, prior_weight: float) -> torch.Tensor:
    images = resize_images(generator.generate(latents), target.shape[-1])
    pixel = (images - target).pow(2).mean(dim=(1, 2, 3))
    centre = torch.as_tensor(mean_latent(generator), dtype=latents.dtype)
    return pixel + prior_weight * (latents - centre).pow(2).mean(dim=1)


def fit_size(generator: FaceGenerator, config: PhotoFitConfig) -> int:
    """The side images are compared at: ``fit_px``, at most the generator's own."""
    return min(config.fit_px, generator.image_size)


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB of two images in [-1, 1] (peak-to-peak 2)."""
    mse = float((a.clamp(-1, 1) - b.clamp(-1, 1)).pow(2).mean())
    return float("inf") if mse == 0 else 10.0 * np.log10(4.0 / mse)


def fit_photo(
    generator: FaceGenerator,
    target: torch.Tensor,
    config: PhotoFitConfig = PhotoFitConfig(),
    *,
    rng: np.random.Generator,
    progress: bool = True,
) -> PhotoFit:
    """Fit a latent to ``target`` (1, 3, S, S) in [-1, 1], S = :func:`fit_size`."""
    side = fit_size(generator, config)
    if target.shape[-2:] != (side, side):
        raise PhotoError(f"target must be {side} px square; got {tuple(target.shape)}")
    starts = sample_latents(generator, config.starts, rng=rng)
    if hasattr(generator, "mean_latent"):  # w: the mean face is StyleGAN's usual start
        starts[0] = generator.mean_latent
    candidates = torch.as_tensor(starts, dtype=torch.float32)
    with torch.inference_mode():
        scores = torch.cat(
            [_loss(generator, c[None], target, config.prior_weight) for c in candidates]
        )
    latent = candidates[int(scores.argmin())][None].clone().requires_grad_(True)
    optimiser = torch.optim.Adam([latent], lr=config.lr)
    losses = []
    bar = tqdm(range(config.steps), desc="fitting photo", unit="step", disable=not progress)
    # a small network on a batch of one gains nothing from more threads (they wait on
    # each other); MobileStyleGAN's 1024 px convolutions do use them
    with torch_threads(1 if generator.image_size <= 128 else torch.get_num_threads()):
        for _ in bar:
            optimiser.zero_grad()
            loss = _loss(generator, latent, target, config.prior_weight).sum()
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
            bar.set_postfix(loss=f"{losses[-1]:.4f}", refresh=False)
    with torch.inference_mode():
        fitted = resize_images(generator.generate(latent.detach()), side)
    return PhotoFit(
        latent.detach()[0].double().numpy(), np.array(losses), target, psnr(fitted, target)
    )


def before_after(generator: FaceGenerator, fit: PhotoFit, *, face_px: int = 256) -> Image.Image:
    """The photo (as the generator sees it) beside the fitted face, captioned."""
    side = fit.target.shape[-1]
    with torch.inference_mode():
        latent = torch.as_tensor(fit.latent[None], dtype=torch.float32)
        face = resize_images(generator.generate(latent), side)
    pair = to_display(torch.cat([fit.target, face]), face_px)
    caption = 22
    sheet = Image.new("RGB", (2 * face_px, face_px + caption), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=14)
    score = f"fitted face, PSNR {fit.psnr:.1f} dB"
    for i, text in enumerate((f"photo ({side} px, as fitted)", score)):
        sheet.paste(Image.fromarray(pair[i]), (i * face_px, caption))
        draw.text((i * face_px + face_px // 2, 4), text, (20, 20, 20), font, "mt")
    return sheet
