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
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from stimuli.encodings.base import Encoding, MappedParams, Rows
from stimuli.errors import StimulusError
from stimuli.media import STILL_FORMATS


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
    ``image_format``: ``jpeg`` (quality 92: a 256 px DCGAN face is ~9 KiB instead of
    ~62 KiB as PNG, under a grey level off on average, and cheap to encode), ``webp``
    (quality 95: as close, ~20% smaller, ~10x the encoding CPU) or ``png`` (lossless).

    Seed-faithful mapping by role instead of by column order: ``target_feature`` (the
    direction y drives), ``informative_features`` (for the x columns y depends on, in
    order) and ``other_features`` (for the remaining x columns). ``directions =
    "projection"``: no named directions, the standardised columns go straight into
    latent space through an orthonormal basis (``projection_basis``: ``pca`` of the
    latents, or ``random``), every column at the one strength ``scale``.
    ``anti_face``: reflect the base face through the mean face (every feature reversed).
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
    image_format: str = "jpeg"
    batch_size: int = 8
    target_feature: str = ""
    informative_features: tuple[str, ...] = ()
    other_features: tuple[str, ...] = ()
    projection_basis: str = "pca"
    anti_face: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        from stimuli.generators import GENERATORS

        if self.backend not in GENERATORS:
            raise StimulusError(f"gan_face backend must be one of {sorted(GENERATORS)}")
        if self.backend == "torchscript" and not (self.model_path and self.latent_dim > 0):
            raise StimulusError("gan_face backend 'torchscript' needs model_path and latent_dim")
        if not 32 <= self.size_px <= 1024:
            raise StimulusError(f"gan_face size_px must be 32..1024, got {self.size_px}")
        if self.image_format not in STILL_FORMATS:
            raise StimulusError(
                f"gan_face image_format must be one of {sorted(STILL_FORMATS)}, "
                f"not {self.image_format!r}"
            )
        if not (math.isfinite(self.clip_sd) and self.clip_sd > 0):
            raise StimulusError(f"gan_face clip_sd must be positive, got {self.clip_sd}")
        if not 1 <= self.batch_size <= 4096:
            raise StimulusError(f"gan_face batch_size must be 1..4096, got {self.batch_size}")
        for name in ("informative_features", "other_features"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if (self.informative_features or self.other_features) and not self.target_feature:
            raise StimulusError("gan_face informative/other_features need target_feature too")
        if self.target_feature and self.features:
            raise StimulusError("gan_face: give features (by column) or target_feature, not both")
        self.directions_config()  # validates the directions fields

    def directions_config(self):
        from stimuli.directions import DirectionsConfig

        return DirectionsConfig(
            method=self.directions,
            path=self.directions_path or None,
            n_components=self.n_directions,
            seed=self.directions_seed,
            orthogonalise=self.orthogonalise,
            basis=self.projection_basis,
        )

    def generator_options(self) -> dict[str, Any]:
        if self.backend == "torchscript":
            return {"path": Path(self.model_path), "latent_dim": self.latent_dim}
        return {}


class GanFace(Encoding[GanFaceParams, np.ndarray]):
    """Neural faces from a latent generator; draws = the base latent (D,)."""

    name = "gan_face"
    label = "Neural faces"
    params_type = GanFaceParams
    bot_dprime = 2.0

    def __init__(self) -> None:
        self._generators: dict[tuple, Any] = {}
        self._directions: dict[tuple, Any] = {}
        # stimuli rendered on several threads share the caches: one loads, the rest wait
        self._loading = threading.RLock()

    @classmethod
    def unavailable_reason(cls, options: Mapping[str, Any] | None = None) -> str | None:
        """Why the chosen backend cannot run here (weights wheel or runtime missing)."""
        from stimuli.generators import DEFAULT_BACKEND, GENERATORS, unavailable_reason

        backend = (options or {}).get("backend", DEFAULT_BACKEND)
        return unavailable_reason(backend) if backend in GENERATORS else None

    def item_format(self, params: GanFaceParams) -> str:
        return params.image_format

    def renders_concurrently(self, params: GanFaceParams) -> bool:
        from stimuli.generators import renders_concurrently

        return renders_concurrently(self.generator(params))

    def generator(self, params: GanFaceParams):
        """The loaded generator for ``params`` (loaded once per instance)."""
        from stimuli.generators import load_generator

        key = (params.backend, params.model_path, params.latent_dim)
        with self._loading:
            if key not in self._generators:
                options = params.generator_options()
                self._generators[key] = load_generator(params.backend, **options)
            return self._generators[key]

    def directions(self, params: GanFaceParams):
        """Calibrated directions, one per column, in column order."""
        from stimuli.directions import compute_directions, default_cache_dir

        config = params.directions_config()
        key = (params.backend, params.model_path, config)
        with self._loading:
            if key not in self._directions:
                self._directions[key] = compute_directions(
                    self.generator(params), config, cache_dir=default_cache_dir()
                )
            return self._directions[key]

    def mapped(self, rows: Rows, params: GanFaceParams):
        available = self.directions(params)
        if params.target_feature:
            return available.select(by_role(rows, params))
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
        from stimuli.directions import anti_face
        from stimuli.generators import mean_latent, sample_latents

        generator = self.generator(params)
        if params.base_latent_path:
            base = load_base_latent(Path(params.base_latent_path), generator.latent_dim)
            return anti_face(base, mean_latent(generator)) if params.anti_face else base
        if params.base_seed is not None:
            rng = np.random.default_rng(params.base_seed)
        base = sample_latents(generator, 1, rng=rng)[0]
        return anti_face(base, mean_latent(generator)) if params.anti_face else base

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


def by_role(rows: Rows, params: GanFaceParams) -> list[str]:
    """Direction per column: y -> target, informative x and other x -> their lists."""
    pools = {
        "informative": list(params.informative_features),
        "other": list(params.other_features),
    }
    chosen = []
    for column in rows.columns:
        if column == rows.target:
            chosen.append(params.target_feature)
            continue
        role = "informative" if column in rows.informative else "other"
        if not pools[role]:
            raise StimulusError(
                f"column {column!r} is {role} but gan_face {role}_features has no direction "
                f"left for it; list one per {role} column"
            )
        chosen.append(pools[role].pop(0))
    return chosen


def load_base_latent(path: Path, latent_dim: int) -> np.ndarray:
    """A base face latent saved as .npy (shape (D,) or (1, D))."""
    if not path.is_file():
        raise StimulusError(f"base latent file {path} does not exist")
    latent = np.load(path, allow_pickle=False).astype(np.float64)
    if latent.ndim == 2 and latent.shape[0] > 1 and latent.shape[1] == latent_dim:
        raise StimulusError(
            f"{path} holds a per-layer w+ latent {latent.shape}; base faces are one w "
            f"({latent_dim} numbers): use the w latent encode-photo wrote beside it "
            f"(<photo>_latent.npy)"
        )
    latent = latent.reshape(-1)
    if latent.shape != (latent_dim,) or not np.all(np.isfinite(latent)):
        raise StimulusError(f"{path} must hold {latent_dim} finite numbers; got {latent.size}")
    return latent
