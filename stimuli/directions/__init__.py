"""Latent directions for neural faces: compute, order, scale, cache.

``DirectionsConfig`` says where directions come from (``default`` | ``pca`` | ``means`` |
``file`` | ``landmarks``) and with which seed; ``default`` is the generator's shipped,
precomputed directions where it has them (MobileStyleGAN: named axes and GANSpace PCA,
no labeller or calibration run needed) and GANSpace PCA otherwise.
:func:`compute_directions` turns it into calibrated :class:`Directions` for one
generator. Results are cached under the user cache folder, keyed by the generator's
weights hash and the config (plus the input file's hash), so the same config gives the
same directions, computed once; shipped directions are read from the package each time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stimuli.directions.base import Directions, DirectionsError, anti_face, from_array
from stimuli.generators.base import FaceGenerator, manifest_entry

METHODS = ("default", "pca", "means", "file", "landmarks", "projection")
BASES = ("pca", "random")
#: bump when the computation changes so stale cache entries are not reused
CACHE_VERSION = 1


@dataclass(frozen=True)
class DirectionsConfig:
    """Where directions come from. ``path``: labels CSV (means) or .npy/.npz (file)."""

    method: str = "default"
    path: str | None = None
    n_components: int = 10
    n_faces: int = 3000
    seed: int = 0
    orthogonalise: bool = False
    calibrate: bool = True
    target_change: float = 0.04
    calibration_faces: int = 16
    basis: str = "pca"

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise DirectionsError(
                f"unknown directions method {self.method!r}; use one of {METHODS}"
            )
        if self.method in ("means", "file") and not self.path:
            what = "labels CSV (latent_id,label)" if self.method == "means" else ".npy/.npz file"
            raise DirectionsError(f"directions method {self.method!r} needs path = a {what}")
        if self.basis not in BASES:
            raise DirectionsError(f"unknown projection basis {self.basis!r}; use one of {BASES}")
        if not 1 <= self.n_components <= 100:
            raise DirectionsError(f"n_components must be 1..100; got {self.n_components}")
        if not 1 <= self.calibration_faces <= 1000:
            raise DirectionsError(
                f"calibration_faces must be 1..1000; got {self.calibration_faces}"
            )
        if not 0 < self.target_change <= 0.5:
            raise DirectionsError(f"target_change must be in (0, 0.5]; got {self.target_change}")


#: the setting that names the directions cache folder explicitly (tests isolate it)
CACHE_DIR_VARIABLE = "GLYPHLAB_DIRECTIONS_CACHE"


def default_cache_dir() -> Path:
    """``$GLYPHLAB_DIRECTIONS_CACHE`` when set, else the user cache folder's glyphlab/."""
    explicit = os.environ.get(CACHE_DIR_VARIABLE)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "glyphlab" / "directions"


def cache_key(generator: FaceGenerator, config: DirectionsConfig) -> str:
    fields = dataclasses.asdict(config)
    if config.path:
        fields["path"] = hashlib.sha256(Path(config.path).read_bytes()).hexdigest()
    fields.update(
        backend=generator.backend, weights=generator.weights_sha256, version=CACHE_VERSION
    )
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:20]


def compute_directions(
    generator: FaceGenerator, config: DirectionsConfig, *, cache_dir: Path | None = None
) -> Directions:
    """Directions for ``generator`` per ``config``; cached in ``cache_dir`` when given."""
    shipped = shipped_directions(generator) if config.method == "default" else None
    if shipped is not None:  # read from the package each time: never a stale cached copy
        return shipped.orthogonalised() if config.orthogonalise else shipped
    if config.path and not Path(config.path).is_file():
        raise DirectionsError(f"directions {config.method} input {config.path} does not exist")
    cached = None if cache_dir is None else Path(cache_dir) / f"{cache_key(generator, config)}.npz"
    if cached is not None and cached.is_file():
        return Directions.load(cached)
    directions = _compute(generator, config)
    if directions.latent_dim != generator.latent_dim:
        raise DirectionsError(
            f"directions have {directions.latent_dim} dimensions but the {generator.backend} "
            f"generator takes {generator.latent_dim}"
        )
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=cached.parent, suffix=".npz", delete=False) as tmp:
            directions.save(Path(tmp.name))
        os.replace(tmp.name, cached)
    return directions


def shipped_directions(generator: FaceGenerator) -> Directions | None:
    """The precomputed directions a generator ships (``shipped_directions_path``), if any."""
    path = getattr(generator, "shipped_directions_path", None)
    if path is None:
        return None
    return Directions.load(path, generator=manifest_entry(generator))


def _compute(generator: FaceGenerator, config: DirectionsConfig) -> Directions:
    from stimuli.directions import calibrate

    rng = np.random.default_rng([config.seed, 7])
    if config.method in ("pca", "default"):
        from stimuli.directions.pca import pca_directions

        directions, _ = pca_directions(generator, n_components=config.n_components, rng=rng)
        directions = calibrate.order_by_change(
            generator, directions, rng=rng, n_faces=max(1, config.calibration_faces // 2)
        )
    elif config.method == "means":
        from stimuli.directions.means import mean_difference_directions, read_labels

        directions = mean_difference_directions(
            read_labels(Path(config.path)),
            seed=config.seed,
            latent_dim=generator.latent_dim,
            generator=generator,
        )
    elif config.method == "projection":
        from stimuli.directions.projection import projection_basis

        return projection_basis(generator, config.n_components, basis=config.basis, rng=rng)
    elif config.method == "file":
        directions = Directions.load(Path(config.path), generator=manifest_entry(generator))
    else:
        from stimuli.directions.landmarks import FaceMeshMeasurer, named_directions

        directions, _ = named_directions(
            generator, FaceMeshMeasurer(), n_faces=config.n_faces, rng=rng
        )
    if config.orthogonalise:
        directions = directions.orthogonalised()
    if config.calibrate:
        directions = calibrate.calibrate(
            generator,
            directions,
            rng=rng,
            target=config.target_change,
            n_faces=config.calibration_faces,
        )
    return directions


__all__ = [
    "METHODS",
    "Directions",
    "DirectionsConfig",
    "DirectionsError",
    "anti_face",
    "compute_directions",
    "default_cache_dir",
    "from_array",
    "shipped_directions",
]
