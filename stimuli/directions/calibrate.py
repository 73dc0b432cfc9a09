"""Put directions on a common footing: order them by, and scale them to, image change.

Unit steps along different latent directions change a face by very different amounts,
so equal data values would not look equally different. We measure the mean absolute
pixel change (intensity 0..1) a step causes on a few base faces, then set each
direction's scale so one data SD causes ``target`` change, within ``max_scale`` latent
units so +-3 SD never leaves the region the generator was trained on.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from stimuli.directions.base import Directions
from stimuli.generators.base import FaceGenerator, generate_batched, sample_latents

#: mean |pixel change| (0..1 intensity) per data SD: clearly visible at 256 px, yet +-3 SD
#: keeps a recognisable face (judged on the contact sheets in docs/)
DEFAULT_TARGET = 0.04
DEFAULT_MAX_SCALE = 1.5
CHANGE_PX = 256


def image_change(
    generator: FaceGenerator, vectors: np.ndarray, steps: np.ndarray, base: np.ndarray
) -> np.ndarray:
    """Mean |pixel change| (0..1) from each base latent to base + steps[k] * vectors[k]."""
    vectors, base = np.asarray(vectors), np.asarray(base)
    moved = base[None, :, :] + (np.asarray(steps)[:, None, None] * vectors[:, None, :])
    # measured at <= 256 px: enough to see the change, and 1024 px batches would pile up
    before = generate_batched(generator, base, batch_size=8, size=CHANGE_PX)
    after = generate_batched(
        generator, moved.reshape(-1, base.shape[1]), batch_size=8, size=CHANGE_PX
    )
    after = after.view(len(vectors), len(base), *before.shape[1:])
    change = (after - before[None]).abs().mean(dim=(2, 3, 4)) / 2.0
    return change.mean(dim=1).to(torch.float64).numpy()


def base_latents(generator: FaceGenerator, n_faces: int, *, rng: np.random.Generator) -> np.ndarray:
    return sample_latents(generator, n_faces, rng=rng)


def order_by_change(
    generator: FaceGenerator, directions: Directions, *, rng: np.random.Generator, n_faces: int = 8
) -> Directions:
    """The same directions, largest image change per unit step first."""
    change = image_change(
        generator,
        directions.vectors,
        np.ones(len(directions)),
        base_latents(generator, n_faces, rng=rng),
    )
    return directions.select([directions.names[k] for k in np.argsort(-change, kind="stable")])


def calibrate(
    generator: FaceGenerator,
    directions: Directions,
    *,
    rng: np.random.Generator,
    target: float = DEFAULT_TARGET,
    max_scale: float = DEFAULT_MAX_SCALE,
    n_faces: int = 16,
) -> Directions:
    """Scales so one data SD gives ``target`` mean pixel change (two secant refinements)."""
    base = base_latents(generator, n_faces, rng=rng)
    scales = np.ones(len(directions))
    for _ in range(2):
        change = image_change(generator, directions.vectors, scales, base)
        scales = np.clip(scales * target / np.maximum(change, 1e-6), 0.05, max_scale)
    return dataclasses.replace(directions.with_scales(scales))
