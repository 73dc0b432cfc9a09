"""What the mapping can map to, read from the registries (never a list kept here).

An encoding is offered when its params are a :class:`~stimuli.encodings.MappedParams`
(one data column drives one named feature). Its named axes are:

- for a latent encoding (it has a ``generator`` and ``directions``: neural faces), the
  directions its generator gives by default (a generator's shipped, named directions
  where it has them, else the encoding's default method), plus the axes researchers made
  by hand (``manual_axes``), each saved as a directions file;
- otherwise the encoding module's ``FEATURES`` (Chernoff's eye size, mouth curvature...).
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from pathlib import Path

from experiment.studio.data import STUDIO_SUBDIR, StudioError
from glyphlab.errors import GlyphlabError

AXES_SUBDIR = "axes"


@dataclass(frozen=True)
class EncodingChoice:
    """An encoding the studio can map columns onto."""

    name: str
    latent: bool
    generators: tuple[str, ...]


def is_latent(encoding: str) -> bool:
    from stimuli.encodings import ENCODINGS

    cls = ENCODINGS[encoding]
    return hasattr(cls, "generator") and hasattr(cls, "directions")


def encodings() -> list[EncodingChoice]:
    """The mappable encodings, in registry order, with the generators that run here."""
    from stimuli.encodings import ENCODINGS, MappedParams

    out = []
    for name, cls in ENCODINGS.items():
        if not issubclass(cls.params_type, MappedParams):
            continue
        if is_latent(name):
            usable = generators(name)  # the default one may be missing, another not
            if usable:
                out.append(EncodingChoice(name, True, usable))
        elif cls.unavailable_reason() is None:
            out.append(EncodingChoice(name, False, ()))
    return out


def generators(encoding: str) -> tuple[str, ...]:
    """Generator backends the latent ``encoding`` can use with no extra files, the
    default one (MobileStyleGAN, the study sets' neural face) first."""
    from stimuli.encodings import ENCODINGS
    from stimuli.generators import DEFAULT_BACKEND, GENERATORS

    cls, usable = ENCODINGS[encoding], []
    for backend in sorted(GENERATORS, key=lambda name: name != DEFAULT_BACKEND):
        try:
            cls().params({"backend": backend})
        except GlyphlabError:
            continue  # needs a model file (bring your own)
        if cls.unavailable_reason({"backend": backend}) is None:
            usable.append(backend)
    return tuple(usable)


@functools.lru_cache(maxsize=16)
def _default_directions(encoding: str, backend: str):
    from stimuli.encodings import ENCODINGS

    instance = ENCODINGS[encoding]()
    return instance.directions(instance.params({"backend": backend}))


def generator_entry(encoding: str, backend: str) -> dict[str, str]:
    """The generator's manifest entry (backend, weights hash) that directions files record."""
    from stimuli.encodings import ENCODINGS
    from stimuli.generators import manifest_entry

    instance = ENCODINGS[encoding]()
    return manifest_entry(instance.generator(instance.params({"backend": backend})))


def generator_axes(encoding: str, backend: str) -> tuple[str, ...]:
    """The named directions a latent encoding's generator gives by default."""
    return tuple(_default_directions(encoding, backend).names)


def feature_axes(encoding: str) -> tuple[str, ...]:
    """A feature encoding's named features (its module's ``FEATURES``)."""
    from stimuli.encodings import ENCODINGS

    module = sys.modules[ENCODINGS[encoding].__module__]
    return tuple(getattr(ENCODINGS[encoding], "FEATURES", None) or module.FEATURES)


def axes_dir(data_dir: Path, backend: str) -> Path:
    return data_dir / STUDIO_SUBDIR / AXES_SUBDIR / backend


def manual_axes(data_dir: Path, backend: str) -> dict[str, Path]:
    """Axes made by hand for ``backend`` (truth-table directions): name -> .npz file."""
    folder = axes_dir(data_dir, backend)
    return {p.stem: p for p in sorted(folder.glob("*.npz"))} if folder.is_dir() else {}


def available(encoding: str, backend: str | None, data_dir: Path) -> tuple[str, ...]:
    """Every axis name a column may map to for this encoding (and generator)."""
    if not is_latent(encoding):
        return feature_axes(encoding)
    if backend is None:
        raise StudioError(f"choose a generator for {encoding}")
    own = generator_axes(encoding, backend)
    return own + tuple(name for name in manual_axes(data_dir, backend) if name not in own)


def combined_directions(encoding: str, backend: str, names: tuple[str, ...], data_dir: Path):
    """The chosen named directions as one :class:`Directions` (generator's + hand-made)."""
    import numpy as np

    from stimuli.directions import Directions

    default = _default_directions(encoding, backend)
    own = manual_axes(data_dir, backend)
    vectors, scales = [], []
    for name in names:
        if name in default.names:
            picked = default.select([name])
        elif name in own:
            picked = Directions.load(own[name])
        else:
            raise StudioError(f"no axis {name!r} for {backend}; choose one of the list")
        vectors.append(picked.vectors[0])
        scales.append(picked.scales[0])
    return Directions(
        vectors=np.array(vectors), names=names, scales=np.array(scales), method="studio"
    )
