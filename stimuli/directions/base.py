"""Latent directions: the unit vectors a neural face moves along, and their scales.

A :class:`Directions` holds ``K`` unit vectors in latent space, a name for each, and a
per-direction ``scale`` (latent units per data SD) calibrated so one SD of data gives a
visible but bounded image change whatever the direction. Every method (PCA, difference of
means, landmarks, a file) ends here; ``save``/``load`` round-trip it as ``.npz`` so a
computed set can be cached and shipped with a stimulus set's config.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stimuli.errors import StimulusError


class DirectionsError(StimulusError):
    """Directions that cannot be used: wrong shape, zero vector, unreadable file."""


@dataclass(frozen=True, eq=False)
class Directions:
    """``vectors`` (K, D) unit rows; ``scales`` (K,) latent units per data SD."""

    vectors: np.ndarray
    names: tuple[str, ...]
    scales: np.ndarray
    method: str

    def __post_init__(self) -> None:
        vectors = np.asarray(self.vectors, dtype=np.float64)
        if vectors.ndim != 2 or vectors.shape[0] < 1:
            raise DirectionsError(f"directions must have shape (K, D); got {vectors.shape}")
        norms = np.linalg.norm(vectors, axis=1)
        if not np.all(np.isfinite(vectors)) or np.any(norms < 1e-12):
            raise DirectionsError("directions contain a zero, NaN or infinite vector")
        scales = np.broadcast_to(np.asarray(self.scales, dtype=np.float64), norms.shape).copy()
        if not np.all(np.isfinite(scales) & (scales > 0)):
            raise DirectionsError(f"direction scales must be positive; got {scales}")
        if len(self.names) != len(vectors) or len(set(self.names)) != len(self.names):
            raise DirectionsError(f"need {len(vectors)} distinct names; got {list(self.names)}")
        unit = vectors / norms[:, None]
        for array in (unit, scales):
            array.setflags(write=False)
        object.__setattr__(self, "vectors", unit)
        object.__setattr__(self, "scales", scales)
        object.__setattr__(self, "names", tuple(self.names))

    @property
    def latent_dim(self) -> int:
        return self.vectors.shape[1]

    def __len__(self) -> int:
        return self.vectors.shape[0]

    def select(self, names: tuple[str, ...] | list[str]) -> Directions:
        """The named subset, in the order given (unknown names are an error)."""
        missing = [name for name in names if name not in self.names]
        if missing:
            raise DirectionsError(f"unknown directions {missing}; have {list(self.names)}")
        index = [self.names.index(name) for name in names]
        return dataclasses.replace(
            self, vectors=self.vectors[index], names=tuple(names), scales=self.scales[index]
        )

    def with_scales(self, scales: np.ndarray) -> Directions:
        return dataclasses.replace(self, scales=np.asarray(scales, dtype=np.float64))

    def orthogonalised(self) -> Directions:
        """Gram-Schmidt in the listed order (QR), so earlier directions keep their meaning.

        Moving along one direction then leaves the others' projections unchanged; the
        scales are kept (recalibrate if the vectors changed much).
        """
        if len(self) > self.latent_dim:
            raise DirectionsError(
                f"cannot orthogonalise {len(self)} directions in {self.latent_dim} dimensions"
            )
        q, r = np.linalg.qr(self.vectors.T)
        q = q * np.sign(np.where(np.diag(r) == 0, 1.0, np.diag(r)))
        if np.any(np.abs(np.diag(r)) < 1e-8):
            raise DirectionsError(
                "directions are linearly dependent; drop one before orthogonalising"
            )
        return dataclasses.replace(self, vectors=q.T, method=f"{self.method}+orthogonal")

    def offsets(self, values: np.ndarray) -> np.ndarray:
        """Latent offsets (N, D) for data values (N, K): sum_k value_k * scale_k * d_k."""
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != len(self):
            raise DirectionsError(
                f"{values.shape[1] if values.ndim == 2 else values.shape} data columns for "
                f"{len(self)} directions {list(self.names)}; map one column per direction"
            )
        return (values * self.scales) @ self.vectors

    def save(self, path: Path, *, generator: dict[str, str] | None = None) -> Path:
        """Write ``.npz`` (vectors, names, scales, method); deterministic bytes.

        ``generator`` (a manifest entry: backend, weights_sha256) records which network
        the directions belong to, so :meth:`load` can refuse them for another.
        """
        path = Path(path)
        extra = {f"generator_{k}": np.array(v) for k, v in (generator or {}).items()}
        with path.open("wb") as handle:
            np.savez(
                handle,
                vectors=self.vectors,
                names=np.array(self.names),
                scales=self.scales,
                method=np.array(self.method),
                **extra,
            )
        return path

    @classmethod
    def load(cls, path: Path, *, generator: dict[str, str] | None = None) -> Directions:
        """Read ``.npz`` written by :meth:`save`, or a bare ``.npy`` (K, D) array (scale 1).

        With ``generator`` (its manifest entry), a file recorded for other weights is an
        error rather than faces that move along meaningless directions (backends running
        the same weights, e.g. MobileStyleGAN on OpenVINO and in torch, share files).
        """
        path = Path(path)
        if not path.is_file():
            raise DirectionsError(f"directions file {path} does not exist")
        try:
            loaded = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise DirectionsError(f"{path} is not a .npy/.npz array file: {error}") from None
        if isinstance(loaded, np.ndarray):
            return from_array(loaded, method=f"file:{path.name}")
        with loaded:
            made_for = {
                key.removeprefix("generator_"): str(loaded[key])
                for key in loaded.files
                if key.startswith("generator_")
            }
            expected = (generator or {}).get("weights_sha256")
            recorded = made_for.get("weights_sha256")
            if expected and recorded and recorded != expected:
                raise DirectionsError(
                    f"directions file {path} was made for the {made_for.get('backend')} "
                    f"generator (weights {recorded[:12]}...), not {generator['backend']} "
                    f"(weights {expected[:12]}...); compute directions for this generator "
                    f"(glyphlab stimuli directions)"
                )
            return cls(
                vectors=loaded["vectors"],
                names=tuple(str(name) for name in loaded["names"]),
                scales=loaded["scales"],
                method=str(loaded["method"]),
            )


def from_array(vectors: np.ndarray, *, method: str = "file", prefix: str = "d") -> Directions:
    """Directions from a raw (K, D) array, named d01, d02, ... with scale 1."""
    vectors = np.asarray(vectors)
    if vectors.ndim != 2:
        raise DirectionsError(f"a directions array must have shape (K, D); got {vectors.shape}")
    names = tuple(f"{prefix}{k + 1:02d}" for k in range(vectors.shape[0]))
    return Directions(vectors=vectors, names=names, scales=np.ones(len(names)), method=method)


def anti_face(latents: np.ndarray, mean: np.ndarray | None = None) -> np.ndarray:
    """Reflect latents through the mean face (0 for z ~ N(0, I)): every feature reversed."""
    latents = np.asarray(latents, dtype=np.float64)
    centre = np.zeros(latents.shape[-1]) if mean is None else np.asarray(mean, dtype=np.float64)
    return 2.0 * centre - latents
