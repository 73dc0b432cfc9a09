"""The encoding protocol: how one dataset's rows become images.

An encoding turns ``n`` data rows into pictures: one image per row (an *item*), and a
composite for the grid layout. It follows torchvision's v2 transforms: :meth:`draw` makes
every random choice (a base face, a jitter, ...) from ``rng`` and returns them as a plain
value; :meth:`render` and :meth:`grid` are deterministic functions of
``(rows, params, draws)``. So a stimulus set is reproducible bit for bit from its seed,
and the same draws can be re-rendered at another size.

Rows are standardised data (:class:`Rows`): every column is already transformed (z-scored
by default) so one unit means one SD. Feature encodings map columns to features with the
convention of :class:`MappedParams`: column ``j`` drives ``features[j]`` (or the
encoding's ``FEATURES[j]`` when ``features`` is empty), with ``scale`` feature units per
SD; features no column drives stay neutral (0).

Adding an encoding is one file and one registry line:

1. ``stimuli/encodings/<name>.py`` with a frozen ``<Name>Params`` dataclass (validate in
   ``__post_init__``, raise :class:`~stimuli.errors.StimulusError`) and a subclass of
   :class:`Encoding` setting ``name = "<name>"``, ``params_type`` and implementing
   ``draw`` and ``render`` (override ``grid`` when the composite is not a tiling of the
   item images, as for tables and plots). Declare what the site needs: ``label`` (what
   researchers read in forms), ``display`` (how a grid is shown and answered, a
   :class:`Display`) and ``bot_dprime`` (a plausible participant's sensitivity, for bots
   and the demo). Import heavy libraries (torch, matplotlib) inside methods so ``import
   stimuli`` stays light.
2. ``"<name>": <Class>,`` in ``ENCODINGS`` in ``stimuli/encodings/__init__.py``.

The contract test in ``tests/stimuli/test_encodings_contract.py`` then runs over it.
"""

from __future__ import annotations

import dataclasses
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np
from PIL import Image

from stimuli.errors import StimulusError


@dataclass(frozen=True, eq=False)
class Rows:
    """The rows one stimulus shows: ``values[i, j]`` is item ``i``'s column ``j``.

    ``values`` is float64 of shape ``(n_items, n_columns)``, each column standardised.
    ``target`` names the response column (plotted vertically), ``informative`` the
    predictors that drive it, most important first (empty when unknown, e.g. a CSV).
    """

    values: np.ndarray
    columns: tuple[str, ...]
    target: str | None = "y"
    informative: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != len(self.columns):
            raise StimulusError(
                f"rows must be a 2-D array with one column per name {list(self.columns)}; "
                f"got shape {values.shape}"
            )
        if not np.all(np.isfinite(values)):
            raise StimulusError("rows contain NaN or infinite values; clean or transform them")
        if len(set(self.columns)) != len(self.columns):
            raise StimulusError(f"column names repeat: {list(self.columns)}")
        for name in (*([self.target] if self.target else []), *self.informative):
            if name not in self.columns:
                raise StimulusError(f"column {name!r} is not among {list(self.columns)}")
        values.setflags(write=False)
        object.__setattr__(self, "values", values)

    @property
    def n_items(self) -> int:
        return self.values.shape[0]

    def column(self, name: str) -> np.ndarray:
        """One column by name."""
        return self.values[:, self.columns.index(name)]


class Display(StrEnum):
    """How the site shows one grid stimulus and how it is answered (the encoding says).

    - ``IMAGES``: one image per item (manifest ``items[].media``) at shuffled display
      positions, answered by position (faces);
    - ``ROWS``: an HTML table of display strings, ``manifest[<encoding>] = {"columns",
      "rows"}`` (rows in manifest item order), answered by row position;
    - ``COMPOSITE``: one image (manifest ``media``) with every item's pixel centre in
      ``manifest[<encoding>]["points"]`` (item order), answered by clicks mapped to the
      nearest point.

    Sequences always show one image per frame (``IMAGES``).
    """

    IMAGES = "images"
    ROWS = "rows"
    COMPOSITE = "composite"


@dataclass(frozen=True)
class Grid:
    """A grid-layout composite: the image and the extra manifest fields it needs.

    ``fields`` is merged into the stimulus entry of manifest.json under the encoding's
    own name, e.g. ``{name: {"columns": [...], "rows": [...]}}`` for a ``ROWS`` display
    or ``{name: {"points": [...], "radius": 6}}`` for a ``COMPOSITE`` one.
    """

    image: Image.Image
    fields: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class MappedParams:
    """Column -> feature mapping shared by feature encodings (faces).

    ``features[j]`` is the feature column ``j`` of the rows drives; empty means the
    encoding's ``FEATURES`` in order. ``scale`` is the feature change per data SD, in the
    encoding's feature units (each feature spans about -1..+1 over +-3 SD at scale 1).
    """

    features: tuple[str, ...] = ()
    scale: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "features", tuple(self.features))
        if not (math.isfinite(self.scale) and self.scale > 0):
            raise StimulusError(f"scale must be a positive number, got {self.scale!r}")
        if len(set(self.features)) != len(self.features):
            raise StimulusError(f"features repeat: {list(self.features)}")


def feature_matrix(
    rows: Rows, params: MappedParams, available: Sequence[str], *, limit: float = 3.0
) -> np.ndarray:
    """Feature values ``(n_items, len(available))`` from rows, per the mapping convention.

    Column ``j`` goes to ``params.features[j]`` (default ``available[j]``), multiplied by
    ``params.scale / limit`` and clipped to [-1, 1], so +-``limit`` SD span a feature's
    whole range at scale 1; features no column drives stay 0 (neutral).
    """
    chosen = params.features or tuple(available[: len(rows.columns)])
    if len(chosen) < len(rows.columns):
        raise StimulusError(
            f"{len(rows.columns)} columns {list(rows.columns)} but only {len(chosen)} "
            f"features; list one feature per column (choose from {list(available)})"
        )
    unknown = [name for name in chosen if name not in available]
    if unknown:
        raise StimulusError(f"unknown features {unknown}; choose from {list(available)}")
    out = np.zeros((rows.n_items, len(available)))
    for j, name in enumerate(chosen[: len(rows.columns)]):
        out[:, available.index(name)] = rows.values[:, j] * params.scale / limit
    return np.clip(out, -1.0, 1.0)


P = TypeVar("P")
D = TypeVar("D")


class Encoding(ABC, Generic[P, D]):
    """One way to draw data rows; subclasses register in ``ENCODINGS``.

    Instances are cheap and stateless apart from caches (a loaded generator network);
    the set generator makes one per set and calls, per dataset::

        draws = enc.draw(rows, params, rng=rng)      # every random choice
        images = enc.render(rows, params, draws)     # one PIL image per row, row order
        grid = enc.grid(rows, params, draws, order)  # composite, items in display order

    and writes the grid image, ``grid.fields`` and (for an ``IMAGES`` display) one image per
    item (``item_format``) into the manifest. Sequences show ``render`` images one per frame.
    """

    #: registry key = module name = manifest ``encoding`` value
    name: ClassVar[str]
    #: the frozen ``<Name>Params`` dataclass
    params_type: ClassVar[type]
    #: what researchers read in forms and reports ("Chernoff faces")
    label: ClassVar[str]
    #: how a grid of this encoding is shown and answered; ``IMAGES`` grids store one
    #: image per item so the site can lay items out and let participants click them
    display: ClassVar[Display] = Display.IMAGES
    #: d' of a plausible participant with this encoding (bots, the demo, load tests)
    bot_dprime: ClassVar[float] = 1.5

    def item_format(self, params: Any) -> str:
        """File format of the per-item images (a key of ``stimuli.media.STILL_FORMATS``):
        PNG, lossless, unless an encoding's images compress far better otherwise."""
        return "png"

    def renders_concurrently(self, params: Any) -> bool:
        """Whether the set writer may render several stimuli of this encoding at once, one
        per core on its own thread (torch on one thread each). Only where ``draw``,
        ``render`` and ``grid`` are thread-safe and their work runs outside the GIL, so
        the threads gain; the rest render one at a time (matplotlib is not thread-safe,
        Pillow's drawing holds the GIL)."""
        return False

    @classmethod
    def unavailable_reason(cls, options: Mapping[str, Any] | None = None) -> str | None:
        """Why this encoding, with these config ``options``, cannot run here (e.g. missing
        weights), or None if it can."""
        return None

    def params(self, options: Mapping[str, Any] | None = None) -> Any:
        """Build and validate ``params_type`` from plain config values (TOML/JSON)."""
        return params_from_dict(self.params_type, options or {}, where=f"encoding {self.name}")

    def provenance(self, params: Any) -> dict[str, Any] | None:
        """What the manifest records about the generator behind it (gan_face), or None."""
        return None

    @abstractmethod
    def draw(self, rows: Rows, params: P, *, rng: np.random.Generator) -> D:
        """Make every random choice this rendering needs; return them as a value."""

    @abstractmethod
    def render(self, rows: Rows, params: P, draws: D) -> list[Image.Image]:
        """One RGB image per row, in row order, all the same size; deterministic."""

    def grid(
        self,
        rows: Rows,
        params: P,
        draws: D,
        order: Sequence[int],
        *,
        images: Sequence[Image.Image] | None = None,
    ) -> Grid:
        """The grid composite with items in display ``order``.

        The default tiles the item images; ``images`` passes ones already rendered (the
        set generator renders once for the per-item images and the composite).
        """
        from stimuli.layouts.grid import tile

        images = self.render(rows, params, draws) if images is None else images
        return Grid(tile([images[i] for i in order]))


def params_from_dict(cls: type, options: Mapping[str, Any], *, where: str) -> Any:
    """Make frozen dataclass ``cls`` from plain values; lists become tuples.

    Unknown keys are an error naming ``where`` and the known keys, so a typo in a TOML
    file does not silently fall back to a default.
    """
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise StimulusError(f"{where}: unknown options {unknown}; known: {sorted(known)}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}
    try:
        return cls(**values)
    except TypeError as error:
        raise StimulusError(f"{where}: {error}") from None
