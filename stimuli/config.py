"""``StimulusSetConfig``: the one frozen, validated description of a stimulus set.

Built from a TOML file (``from_toml``, see ``stimuli/examples/demo.toml``) or a dict
(``from_dict``; the web side builds the same object). Its canonical JSON (sorted keys,
every default spelled out) is what ``set_id`` hashes, so the same config always names
and generates the same set, and any change names a new one.

File paths in a config (a dataset's ``csv``, an encoding's ``*_path`` options) stay as
written: a relative path starts from the config's ``base_dir`` (a TOML file's folder, the
site's data folder for the studio), which is not part of the set's identity, so the same
files give the same set wherever the folder is; a CSV is pinned by its sha256.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from stimuli.data.synthetic import OUTLIER_KINDS, outlier_count
from stimuli.data.transforms import parse_step
from stimuli.encodings.base import params_from_dict
from stimuli.errors import StimulusError
from stimuli.layouts import LAYOUTS

ROLES = ("main", "practice", "attention_check")
ORDERS = ("random", "sorted_y")
#: Attention checks get one huge, obvious outlier unless the config says otherwise.
ATTENTION_DEFAULTS = {"n_outliers": 1, "outlier_kind": "both", "magnitude_sd": 8.0}


@dataclass(frozen=True)
class DatasetSpec:
    """``count`` datasets of one kind: synthetic (default) or rows of a CSV file.

    Synthetic: ``n_items`` rows, ``n_features`` x columns (``n_informative`` drive y),
    residual SD ``noise``, outliers by ``n_outliers`` or ``outlier_fraction`` of
    ``outlier_kind`` and ``magnitude_sd``. CSV: ``csv`` path (relative to the TOML
    file), ``columns`` (x columns and ``target``), ``transforms`` per column, and
    ``outlier_column``, a 0/1 column marking the known outliers (kept out of the config
    itself, which is public in manifest.json); ``csv_sha256`` pins the file's content.
    """

    role: str = "main"
    count: int = 1
    n_items: int = 12
    n_features: int = 4
    n_informative: int = 2
    noise: float = 1.0
    n_outliers: int | None = None
    outlier_fraction: float | None = None
    outlier_kind: str = "vertical"
    magnitude_sd: float = 4.0
    csv: str | None = None
    csv_sha256: str | None = None
    columns: tuple[str, ...] = ()
    target: str = "y"
    transforms: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    outlier_column: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", tuple(self.columns))
        object.__setattr__(
            self, "transforms", {k: tuple(v) for k, v in sorted(dict(self.transforms).items())}
        )
        where = f"dataset (role {self.role!r})"
        if self.role not in ROLES:
            raise StimulusError(f"{where}: role must be one of {ROLES}")
        if not 1 <= self.count <= 10_000:
            raise StimulusError(f"{where}: count must be 1..10000, got {self.count}")
        if self.csv is not None:
            if self.count != 1:
                raise StimulusError(f"{where}: a CSV dataset has count 1")
            for steps in self.transforms.values():
                for step in steps:
                    parse_step(step)
            return
        if not 3 <= self.n_items <= 1000:
            raise StimulusError(f"{where}: n_items must be 3..1000, got {self.n_items}")
        if not 1 <= self.n_informative <= self.n_features <= 50:
            raise StimulusError(f"{where}: need 1 <= n_informative <= n_features <= 50")
        if self.outlier_kind not in OUTLIER_KINDS:
            raise StimulusError(f"{where}: outlier_kind must be one of {OUTLIER_KINDS}")
        if not (self.noise > 0 and self.magnitude_sd > 0):
            raise StimulusError(f"{where}: noise and magnitude_sd must be positive")
        count = outlier_count(self.n_items, self.n_outliers, self.outlier_fraction)
        if self.role == "attention_check" and count != 1:
            raise StimulusError(f"{where}: an attention check has exactly one outlier")


@dataclass(frozen=True)
class ConditionSpec:
    """One encoding shown in one layout, for the datasets of the listed ``roles``.

    ``order``: this condition's display order (``random`` or ``sorted_y``); empty means the
    set's ``order``, so one set can hold the same data sorted by y and unsorted.
    """

    encoding: str
    layout: str = "grid"
    roles: tuple[str, ...] = ROLES
    order: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "roles", tuple(self.roles))
        if self.order and self.order not in ORDERS:
            raise StimulusError(
                f"condition {self.encoding}: order must be one of {ORDERS}, got {self.order!r}"
            )
        if self.layout not in LAYOUTS:
            raise StimulusError(f"condition {self.encoding}: layout must be one of {LAYOUTS}")
        if not self.roles or any(r not in ROLES for r in self.roles):
            raise StimulusError(f"condition {self.encoding}: roles must be among {ROLES}")


@dataclass(frozen=True)
class StimulusSetConfig:
    """Datasets x conditions (encoding, layout) with shared ``order`` and ``frame_ms``.

    ``encoding_params`` maps an encoding name to its ``<Name>Params`` options; ``video``
    also writes an MP4 for each sequence (the animated WebP is always written).
    """

    datasets: tuple[DatasetSpec, ...]
    conditions: tuple[ConditionSpec, ...]
    seed: int = 0
    order: str = "random"
    frame_ms: int = 800
    video: bool = True
    encoding_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    name: str = ""

    @property
    def base_dir(self) -> Path | None:
        """Where relative paths start (set by ``from_dict``; not in the canonical form)."""
        return getattr(self, "_base_dir", None)

    def resolve(self, path: str | Path) -> Path:
        """``path`` as the files are found: relative ones under ``base_dir``."""
        path = Path(path)
        return path if path.is_absolute() or self.base_dir is None else self.base_dir / path

    def encoding_options(self, name: str) -> dict[str, Any]:
        """``encoding_params[name]`` with its relative ``*_path`` options resolved."""
        options = dict(self.encoding_params.get(name, {}))
        for key, value in options.items():
            if key.endswith("_path") and isinstance(value, str) and value:
                options[key] = str(self.resolve(value))
        return options

    def __post_init__(self) -> None:
        from stimuli.encodings import ENCODINGS

        object.__setattr__(self, "datasets", tuple(self.datasets))
        object.__setattr__(self, "conditions", tuple(self.conditions))
        params = {k: dict(v) for k, v in sorted(dict(self.encoding_params).items())}
        object.__setattr__(self, "encoding_params", params)
        if not self.datasets or not self.conditions:
            raise StimulusError("a stimulus set needs at least one dataset and one condition")
        if self.order not in ORDERS:
            raise StimulusError(f"order must be one of {ORDERS}, got {self.order!r}")
        if not 50 <= self.frame_ms <= 60_000:
            raise StimulusError(f"frame_ms must be 50..60000, got {self.frame_ms}")
        if not 0 <= self.seed < 2**63:
            raise StimulusError(f"seed must be a non-negative integer, got {self.seed}")
        for name in [c.encoding for c in self.conditions] + list(params):
            if name not in ENCODINGS:
                raise StimulusError(
                    f"unknown encoding {name!r}; registered encodings: {sorted(ENCODINGS)}"
                )
        for name, options in params.items():
            ENCODINGS[name]().params(options)
        if sum(s.count for s in self.datasets) > 10_000:
            raise StimulusError("at most 10000 datasets per set")

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, base_dir: Path | None = None
    ) -> StimulusSetConfig:
        """Validate plain values (TOML/JSON); relative paths start from ``base_dir`` (kept
        as written: see the module doc)."""
        data = dict(data)
        _known(cls, data, "stimulus set config")
        datasets = []
        for spec in data.pop("datasets", []):
            spec = dict(spec)
            _known(DatasetSpec, spec, "dataset")
            if spec.get("role") == "attention_check" and "outlier_fraction" not in spec:
                spec = {**ATTENTION_DEFAULTS, **spec}
            if spec.get("csv") is not None:
                written = Path(spec["csv"])
                path = written if written.is_absolute() or base_dir is None else base_dir / written
                if not path.is_file():
                    hint = (
                        ""
                        if written.is_absolute()
                        else (
                            f" (relative paths start from {base_dir or 'the working folder'}; "
                            "a studio config's from the site's data folder: --base-dir)"
                        )
                    )
                    raise StimulusError(f"dataset CSV {path} does not exist{hint}")
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                if spec.get("csv_sha256") not in (None, digest):
                    raise StimulusError(f"dataset CSV {path} changed since the config was made")
                spec.update(csv=written.as_posix(), csv_sha256=digest)
            datasets.append(params_from_dict(DatasetSpec, spec, where="dataset"))
        conditions = []
        for spec in data.pop("conditions", []):
            _known(ConditionSpec, dict(spec), "condition")
            conditions.append(params_from_dict(ConditionSpec, spec, where="condition"))
        try:
            config = cls(datasets=tuple(datasets), conditions=tuple(conditions), **data)
        except TypeError as error:
            raise StimulusError(f"stimulus set config: {error}") from None
        object.__setattr__(config, "_base_dir", None if base_dir is None else Path(base_dir))
        return config

    @classmethod
    def from_toml(cls, path: str | Path, *, base_dir: Path | None = None) -> StimulusSetConfig:
        """Read a TOML config; relative paths in it start from ``base_dir`` (default: the
        file's folder)."""
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise StimulusError(f"config file {path} does not exist") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise StimulusError(f"config file {path} is not valid TOML: {error}") from None
        return cls.from_dict(data, base_dir=path.parent if base_dir is None else base_dir)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values with every default spelled out (the canonical form)."""
        return json.loads(json.dumps(asdict(self)))

    def canonical_json(self) -> str:
        """Sorted, compact JSON: the bytes ``set_id`` hashes."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @property
    def set_id(self) -> str:
        """First 12 hex digits of sha256 of the canonical JSON."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()[:12]


def _known(cls: type, data: Mapping[str, Any], where: str) -> None:
    unknown = sorted(set(data) - {f.name for f in fields(cls)})
    if unknown:
        raise StimulusError(
            f"{where}: unknown keys {unknown}; known: {[f.name for f in fields(cls)]}"
        )
