"""A studio mapping as a ``StimulusSetConfig``, and that config as TOML for the CLI.

The config is the one ``glyphlab stimuli generate`` reads: the stored CSV (its path
relative to the site's data folder, which is the config's ``base_dir``, and its
sha256), the mapped columns with their transforms, the encoding's features, and
grid and sequence conditions in the chosen orders. Files the encoding needs besides the
CSV are written next to it, named by their content, so the same mapping names the same
files: the chosen named directions when some were made by hand. "Project directly" is
the encoding's own ``projection`` directions (an orthonormal basis, one strength).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import MISSING, asdict, fields
from pathlib import Path
from typing import Any

from experiment.studio import axes
from experiment.studio.data import STUDIO_SUBDIR, StudioData
from experiment.studio.mapping import PROJECT, StudioMapping

DIRECTIONS_SUBDIR = "directions"
#: the directions method that puts standardised columns through an orthonormal basis
PROJECTION = "projection"


def _save_directions(directions, generator_entry: dict[str, str], data_dir: Path) -> Path:
    """Write directions under a name made from their bytes (same content, same file)."""
    folder = data_dir / STUDIO_SUBDIR / DIRECTIONS_SUBDIR
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, suffix=".npz", delete=False) as tmp:
        written = directions.save(Path(tmp.name), generator=generator_entry)
    path = folder / f"{hashlib.sha256(written.read_bytes()).hexdigest()[:16]}.npz"
    os.replace(written, path)
    return path


def _encoding_params(mapping: StudioMapping, data_dir: Path) -> dict[str, Any]:
    ordered = mapping.mapped
    params: dict[str, Any] = {"scale": mapping.strength}
    if mapping.generator is None:
        return {**params, "features": [c.axis for c in ordered]}
    params["backend"] = mapping.generator
    if mapping.mode == PROJECT:  # the encoding's own orthonormal basis, one strength
        return {**params, "directions": PROJECTION, "n_directions": max(len(ordered), 1)}
    features = [c.axis for c in ordered]
    own = axes.generator_axes(mapping.encoding, mapping.generator)
    if all(name in own for name in features):
        return {**params, "features": features}
    chosen = axes.combined_directions(
        mapping.encoding, mapping.generator, tuple(features), data_dir
    )
    path = _save_directions(
        chosen, axes.generator_entry(mapping.encoding, mapping.generator), data_dir
    )
    return {
        **params,
        "directions": "file",
        "directions_path": path.relative_to(data_dir).as_posix(),
        "features": features,
    }


def stimulus_set_config(mapping: StudioMapping, data: StudioData, data_dir: Path):
    """The ``StimulusSetConfig`` for ``mapping`` over ``data`` (see the module doc)."""
    from stimuli import StimulusSetConfig

    orders = ("random", "sorted_y") if mapping.order == "both" else (mapping.order,)
    columns = [c.column for c in mapping.columns if c.axis]
    dataset: dict[str, Any] = {
        "csv": data.csv.relative_to(data_dir).as_posix(),
        "columns": columns,
        "target": mapping.target,
        "transforms": {
            c.column: list(c.transforms) for c in mapping.columns if c.axis and c.transforms
        },
    }
    if data.outlier_column:
        dataset["outlier_column"] = data.outlier_column
    conditions = [{"encoding": mapping.encoding, "layout": "grid", "order": orders[0]}]
    conditions += [
        {"encoding": mapping.encoding, "layout": "sequence", "order": order} for order in orders
    ]
    return StimulusSetConfig.from_dict(
        {
            "name": f"studio: {data.name}",
            "seed": mapping.seed,
            "frame_ms": mapping.frame_ms,
            "datasets": [dataset],
            "conditions": conditions,
            "encoding_params": {mapping.encoding: _encoding_params(mapping, data_dir)},
        },
        base_dir=data_dir,
    )


BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(name: str) -> str:
    return name if BARE_KEY.match(name) else json.dumps(name)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items() if v is not None)
        return "{" + items + "}"
    raise TypeError(f"no TOML form for {value!r}")


def _table(data: dict[str, Any]) -> list[str]:
    return [f"{_key(k)} = {_value(v)}" for k, v in data.items() if v is not None]


def _non_default(spec: dict[str, Any], cls: type) -> dict[str, Any]:
    """``spec`` without the values its dataclass would fill in anyway (a CSV dataset then
    shows no synthetic settings); reading it back gives the same config."""
    defaults = json.loads(json.dumps(asdict(cls(**_required(cls, spec)))))
    return {k: v for k, v in spec.items() if k in _required(cls, spec) or defaults[k] != v}


def _required(cls: type, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        f.name: spec[f.name]
        for f in fields(cls)
        if f.default is MISSING and f.default_factory is MISSING
    }


def toml_text(config) -> str:
    """``config`` as TOML that ``StimulusSetConfig.from_toml`` reads back to the same set
    id (absent values are left out: TOML has no null, and absent means the default)."""
    from stimuli.config import ConditionSpec, DatasetSpec

    data = config.to_dict()
    datasets, conditions = data.pop("datasets"), data.pop("conditions")
    params = data.pop("encoding_params")
    lines = [
        f"# glyphlab stimulus set {config.set_id}, made in the studio. Its paths are relative",
        "# to the site's data folder: glyphlab stimuli generate THIS.toml --base-dir DATA_DIR",
        "# --out DIR builds the same set, byte for byte.",
        *_table(data),
    ]
    for name, options in params.items():
        lines += ["", f"[encoding_params.{_key(name)}]", *_table(options)]
    for spec in datasets:
        lines += ["", "[[datasets]]", *_table(_non_default(spec, DatasetSpec))]
    for spec in conditions:
        lines += ["", "[[conditions]]", *_table(_non_default(spec, ConditionSpec))]
    return "\n".join(lines) + "\n"
