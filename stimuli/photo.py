"""Encode a photo as the base face: find the latent whose generated face looks like it.

Adam minimises the pixel L2 distance between G(latent), shrunk to ``fit_px``, and the
photo, plus ``prior_weight`` times the mean square of the latent in coordinates where
the generator's prior is N(0, I) (z for DCGAN; w for MobileStyleGAN whitened by PCA of
its own base faces, see ``_Whitening``): without it the latent drifts to regions the
generator never saw and the face stops responding sensibly to the directions. Several
random starts (and, in w, the mean face) are scored first and the best one is refined;
the learning rate ramps down (cosine) over the last quarter.

MobileStyleGAN at 1024 px costs seconds a step on two cores, so most steps run through
its differentiable **draft** (the network up to 128 px plus a fitted head: 256 px faces,
about 26 dB from the full face, ~0.3-0.6 s a step). The optimiser would exploit where
the draft and the full face differ (fitted faces came out brighter and bluer-eyed than
the draft they were fitted through), so every ``full_every`` steps the full network's
face is made once without gradients and the loss compares ``draft + (full - draft)``
frozen at that latent: the full face's value, the draft's gradient.

With ``plus_steps`` the fit continues in **w+** (one w per style layer, the draft's 16
coarse-to-fine layers free, the rest kept at the shared w) pulled towards the shared w
by ``layer_weight``: closer to the photo, further from the faces the directions were
computed on. The w fit is what ``gan_face``'s ``base_latent_path`` takes; the w+ one
(``(23, 512)``) is saved beside it for the torch port. PSNR and the reconstructions
are always the full network's.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from tqdm import tqdm

from stimuli.generators.base import (
    FaceGenerator,
    mean_latent,
    resize_images,
    sample_latents,
    to_display,
    torch_threads,
)
from stimuli.photo_align import (  # re-exported: the photo API lives here
    ALIGN_HINT,
    PhotoError,
    align_face,
    ffhq_quad,
    load_photo,
    open_photo,
)

__all__ = [
    "ALIGN_HINT",
    "PhotoError",
    "PhotoFit",
    "PhotoFitConfig",
    "align_face",
    "before_after",
    "ffhq_quad",
    "fit_photo",
    "fit_size",
    "identity_distance",
    "load_photo",
    "open_photo",
    "psnr",
]


@dataclass(frozen=True)
class PhotoFitConfig:
    """``steps`` of Adam in w (then ``plus_steps`` in w+) at learning rate ``lr`` after
    scoring ``starts`` random latents; images are compared at ``fit_px`` (at most the
    generator's size). ``draft``: descend through the generator's differentiable draft
    where it has one, correcting it by the full face every ``full_every`` steps (0:
    never; the draft alone)."""

    steps: int = 300
    lr: float = 0.05
    prior_weight: float = 0.01
    starts: int = 16
    fit_px: int = 256
    plus_steps: int = 0
    layer_weight: float = 0.1
    draft: bool = True
    full_every: int = 10

    def __post_init__(self) -> None:
        if not 1 <= self.steps <= 100_000 or not 1 <= self.starts <= 4096:
            raise PhotoError(f"steps must be 1..100000 and starts 1..4096; got {self}")
        if not 0 <= self.plus_steps <= 100_000 or self.full_every < 0:
            raise PhotoError(f"plus_steps must be 0..100000 and full_every >= 0; got {self}")
        if not (0 < self.lr <= 10 and 0 <= self.prior_weight <= 100):
            raise PhotoError(f"lr must be in (0, 10] and prior_weight in [0, 100]; got {self}")
        if not 0 <= self.layer_weight <= 100 or self.fit_px < 8:
            raise PhotoError(f"layer_weight must be in [0, 100] and fit_px >= 8; got {self}")


@dataclass(frozen=True, eq=False)
class PhotoFit:
    """The fitted w (D,) and, after ``plus_steps``, w+ (L, D); the loss after each step;
    the target; the full network's reconstructions (1 or 2, 3, S, S) and their PSNR (dB);
    the fit's wall-clock seconds."""

    latent: np.ndarray
    losses: np.ndarray
    target: torch.Tensor
    psnr: float
    faces: torch.Tensor
    latent_plus: np.ndarray | None = None
    psnr_plus: float | None = None
    seconds: float = 0.0


def fit_size(generator: FaceGenerator, config: PhotoFitConfig) -> int:
    """The side images are compared at: ``fit_px``, at most the generator's own."""
    return min(config.fit_px, generator.image_size)


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB of two images in [-1, 1] (peak-to-peak 2)."""
    mse = float((a.clamp(-1, 1) - b.clamp(-1, 1)).pow(2).mean())
    return float("inf") if mse == 0 else 10.0 * np.log10(4.0 / mse)


def _draft(generator: FaceGenerator, config: PhotoFitConfig) -> Callable | None:
    """The generator's differentiable draft, when it has one and the fit wants it."""
    if config.draft and getattr(generator, "draft_differentiable", False):
        return generator.draft
    return None


WHITEN_SAMPLES, WHITEN_SEED = 4096, 20261201


class _Whitening:
    """Coordinates in which the latent prior is N(0, I): Adam moves each by about ``lr``
    a step. z already is; w is whitened by PCA of the generator's own base faces, so
    directions the faces never vary along (most of w's 512) barely move: fitted in raw
    w, the round trip's w went further from the truth than the mean face is."""

    def __init__(self, generator: FaceGenerator) -> None:
        dim = generator.latent_dim
        self.mean = torch.as_tensor(mean_latent(generator), dtype=torch.float32)
        self.basis = self.inverse = torch.eye(dim)
        if hasattr(generator, "mean_latent"):
            w = sample_latents(generator, WHITEN_SAMPLES, rng=np.random.default_rng(WHITEN_SEED))
            centred = torch.as_tensor(w - w.mean(axis=0), dtype=torch.float64)
            _, singular, vt = torch.linalg.svd(centred, full_matrices=False)
            sd = singular / (len(w) - 1) ** 0.5
            sd = sd.clamp_min(1e-3 * float(sd[0]))
            self.basis = (sd[:, None] * vt).float()
            self.inverse = (vt.T / sd).float()

    def latent(self, coords: torch.Tensor) -> torch.Tensor:
        return self.mean + coords @ self.basis

    def coords(self, latent: torch.Tensor) -> torch.Tensor:
        return (latent - self.mean) @ self.inverse


class _Descent:
    """Adam on whitened coordinates; the loss compares ``side`` px images, through the
    draft corrected by the full face when there is one, plus the prior on them."""

    def __init__(self, generator, target, config, draft) -> None:
        self.generator, self.target, self.config, self.draft = generator, target, config, draft
        self.side = target.shape[-1]
        self.space = _Whitening(generator)
        self.losses: list[float] = []

    def full(self, latent: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return resize_images(self.generator.generate(latent.detach()), self.side).clone()

    def images(self, latent: torch.Tensor) -> torch.Tensor:
        model = self.draft or self.generator.generate
        return resize_images(model(latent), self.side)

    def loss(self, images: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
        pixel = (images - self.target).pow(2).mean(dim=(1, 2, 3))
        return pixel + self.config.prior_weight * coords.pow(2).flatten(1).mean(dim=1)

    def run(self, params, latent_of, steps: int, extra=None, *, desc: str, progress: bool):
        config = self.config
        optimiser = torch.optim.Adam(params, lr=config.lr)
        residual = 0.0
        bar = tqdm(range(steps), desc=desc, unit="step", disable=not progress)
        for step in bar:
            ramp = max(0.0, (step / steps - 0.75) / 0.25)
            for group in optimiser.param_groups:
                group["lr"] = config.lr * 0.5 * (1 + math.cos(math.pi * ramp))
            if self.draft is not None and config.full_every and step % config.full_every == 0:
                latent = latent_of().detach()
                with torch.inference_mode():
                    residual = (self.full(latent) - self.images(latent)).clone()
            optimiser.zero_grad()
            latent = latent_of()
            loss = self.loss(self.images(latent) + residual, params[0]).sum()
            if extra is not None:
                loss = loss + extra()
            loss.backward()
            optimiser.step()
            self.losses.append(loss.item())
            bar.set_postfix(loss=f"{self.losses[-1]:.4f}", refresh=False)
        return latent_of().detach()


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
    draft = _draft(generator, config)
    layers = getattr(generator, "style_layers", 0)
    if config.plus_steps and not layers:
        raise PhotoError(f"{generator.backend} has no per-layer latent (w+); set plus_steps 0")
    started = time.perf_counter()
    descent = _Descent(generator, target, config, draft)
    space = descent.space
    starts = sample_latents(generator, config.starts, rng=rng)
    if hasattr(generator, "mean_latent"):  # w: the mean face is StyleGAN's usual start
        starts[0] = generator.mean_latent
    candidates = torch.as_tensor(starts, dtype=torch.float32)
    # one image at a time gains nothing from more threads on a small network (they
    # wait on each other); MobileStyleGAN's large convolutions do use them
    small = generator.image_size <= 128
    with torch_threads(1 if small else torch.get_num_threads()):
        with torch.inference_mode():
            scores = torch.cat(
                [descent.loss(descent.images(c[None]), space.coords(c[None])) for c in candidates]
            )
        c = space.coords(candidates[int(scores.argmin())][None]).clone().requires_grad_(True)
        fitted = descent.run(
            [c], lambda: space.latent(c), config.steps, desc="fitting w", progress=progress
        )
        faces = [descent.full(fitted)]
        plus = None
        if config.plus_steps:
            # the draft never sees the last layers: they stay at the shared w
            width = generator.draft_layers if draft is not None else layers
            delta = torch.zeros(1, width, fitted.shape[-1], requires_grad=True)
            c = space.coords(fitted).clone().requires_grad_(True)

            def latent_plus():
                rows = torch.cat([c[:, None] + delta, c[:, None].expand(-1, layers - width, -1)], 1)
                return space.latent(rows)

            def spread():
                return config.layer_weight * delta.pow(2).mean() * width

            plus = descent.run(
                [c, delta], latent_plus, config.plus_steps, spread, desc="fitting w+",
                progress=progress,
            )  # fmt: skip
            faces.append(descent.full(plus))
    scores = [psnr(face, target) for face in faces]
    return PhotoFit(
        latent=fitted[0].double().numpy(),
        losses=np.array(descent.losses),
        target=target,
        psnr=scores[0],
        faces=torch.cat(faces),
        latent_plus=None if plus is None else plus[0].double().numpy(),
        psnr_plus=scores[1] if plus is not None else None,
        seconds=time.perf_counter() - started,
    )


def identity_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """dlib's face-descriptor distance of two images (1, 3, S, S) in [-1, 1] (< 0.6: the
    same person, by dlib's threshold); NaN where dlib finds no face. Needs the
    labellers extra (dlib + face-recognition-models)."""
    descriptor = _identity_descriptor()
    faces = to_display(torch.cat([a, b]), max(a.shape[-1], 256))
    first, second = descriptor(faces)
    return float(np.linalg.norm(first - second))


@cache
def _identity_descriptor():
    from stimuli.directions.labellers import IdentityDescriptor

    return IdentityDescriptor()


def before_after(
    generator: FaceGenerator,
    fit: PhotoFit,
    *,
    face_px: int = 256,
    identity: list[float] | None = None,
) -> Image.Image:
    """The photo (as the generator sees it) beside its reconstructions, captioned with
    PSNR and, when given, the dlib distance of each reconstruction from the photo."""
    side = fit.target.shape[-1]
    panels = to_display(torch.cat([fit.target, fit.faces]), face_px)
    scores = [fit.psnr, *([fit.psnr_plus] if fit.psnr_plus is not None else [])]
    texts = [f"photo ({side} px, as fitted)"]
    for i, (space, score) in enumerate(zip(("w", "w+"), scores, strict=False)):
        text = f"in {space}: PSNR {score:.1f} dB"
        if identity is not None and i < len(identity):
            text += f", dlib {identity[i]:.2f}"
        texts.append(text)
    caption = 22
    sheet = Image.new("RGB", (len(panels) * face_px, face_px + caption), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=13 if face_px < 256 else 14)
    for i, text in enumerate(texts):
        sheet.paste(Image.fromarray(panels[i]), (i * face_px, caption))
        draw.text((i * face_px + face_px // 2, 4), text, (20, 20, 20), font, "mt")
    return sheet
