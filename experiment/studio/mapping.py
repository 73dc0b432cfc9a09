"""The studio's mapping: which column drives which named axis, with which transforms.

A :class:`StudioMapping` is parsed from the mapping form's plain values (the page sends
them as query parameters, so a preview, a view and a download all name their mapping
in their URL) and checked against the data: an unknown axis, an axis chosen for two
columns, a transform that does not parse or cannot apply (log of a negative number:
the message names the column and the row) are one :class:`StudioError` each.
:func:`stimulus_set_config` turns a mapping into the very ``StimulusSetConfig`` the
CLI reads from TOML (``toml_text``), so web and CLI build byte-identical sets.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from experiment.studio import axes
from experiment.studio.data import StudioData, StudioError
from glyphlab.errors import GlyphlabError

MODES = ("axes", "project")
ORDERS = ("both", "random", "sorted_y")
#: the axis value that puts a column into direct projection
PROJECT = "project"


@dataclass(frozen=True)
class ColumnMap:
    """One numeric column: its axis (empty = left out) and its transform steps."""

    column: str
    axis: str
    transforms: tuple[str, ...]


@dataclass(frozen=True)
class StudioMapping:
    encoding: str
    generator: str | None
    mode: str
    columns: tuple[ColumnMap, ...]
    target: str
    strength: float = 1.0
    order: str = "both"
    frame_ms: int = 600
    seed: int = 0

    @property
    def mapped(self) -> tuple[ColumnMap, ...]:
        """The mapped columns with the target last (the order of the set's rows)."""
        chosen = [c for c in self.columns if c.axis]
        return tuple(
            [c for c in chosen if c.column != self.target]
            + [c for c in chosen if c.column == self.target]
        )


def _number(values: Mapping[str, str], name: str, default: float, label: str) -> float:
    text = (values.get(name) or "").strip()
    if not text:
        return default
    try:
        number = float(text)
    except ValueError:
        raise StudioError(f"{label} must be a number, not {text!r}") from None
    if not math.isfinite(number):
        raise StudioError(f"{label} must be a finite number")
    return number


def steps_from_text(text: str) -> tuple[str, ...]:
    """``"log, scale(2)"`` -> ``("log", "scale(2)")`` (commas inside brackets kept)."""
    steps, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            steps.append(current.strip())
            current = ""
        else:
            current += char
    steps.append(current.strip())
    return tuple(step for step in steps if step)


def parse_mapping(values: Mapping[str, str], data: StudioData, data_dir: Path) -> StudioMapping:
    """The mapping the form describes, checked against ``data`` (see the module doc)."""
    from stimuli.data.transforms import parse_step, transform_column

    choices = {choice.name: choice for choice in axes.encodings()}
    encoding = values.get("encoding") or next(iter(choices))
    if encoding not in choices:
        raise StudioError(f"unknown encoding {encoding!r}; choose one of {sorted(choices)}")
    generator = None
    if choices[encoding].latent:
        generator = values.get("generator") or choices[encoding].generators[0]
        if generator not in choices[encoding].generators:
            raise StudioError(
                f"generator {generator!r} cannot run here; choose one of "
                f"{list(choices[encoding].generators)}"
            )
    mode = values.get("mode") or "axes"
    if mode not in MODES or (mode == PROJECT and not choices[encoding].latent):
        raise StudioError(f"{encoding} maps columns to named features; it cannot project")
    allowed = (PROJECT,) if mode == PROJECT else axes.available(encoding, generator, data_dir)
    frame = data.frame()
    columns, used = [], {}
    for k, name in enumerate(data.numeric):
        axis = (values.get(f"axis_{k}") or "").strip()
        if axis and axis not in allowed:
            raise StudioError(f"column {name!r}: {axis!r} is not an axis of {encoding}")
        if axis and axis != PROJECT and axis in used:
            raise StudioError(
                f"columns {used[axis]!r} and {name!r} are both mapped to {axis!r}; "
                "map each axis from one column"
            )
        used[axis] = name
        steps = steps_from_text(values.get(f"transforms_{k}") or "")
        try:
            for step in steps:
                parse_step(step)
            if axis:
                transform_column(frame[name], steps)
        except GlyphlabError as error:
            message = str(error)
            raise StudioError(
                message if name in message else f"column {name!r}: {message}"
            ) from None
        columns.append(ColumnMap(name, axis, steps))
    mapped = [c.column for c in columns if c.axis]
    if not mapped:
        raise StudioError("map at least one column to an axis")
    target = values.get("target") or ("y" if "y" in mapped else mapped[-1])
    if target not in mapped:
        raise StudioError(
            f"the y column {target!r} is not mapped; the set's rows are the mapped columns"
        )
    strength = _number(values, "strength", 1.0, "strength")
    if not 0 < strength <= 10:
        raise StudioError("strength must be above 0 and at most 10")
    frame_ms = int(_number(values, "frame_ms", 600, "frame duration"))
    if not 50 <= frame_ms <= 60_000:
        raise StudioError("frame duration must be 50..60000 ms")
    order = values.get("order") or "both"
    if order not in ORDERS:
        raise StudioError(f"order must be one of {ORDERS}")
    seed = int(_number(values, "seed", 0, "seed"))
    if not 0 <= seed < 2**32:
        raise StudioError("seed must be a whole number from 0 to 4294967295")
    return StudioMapping(
        encoding, generator, mode, tuple(columns), target, strength, order, frame_ms, seed
    )


def column_outcomes(mapping: StudioMapping) -> dict[str, str]:
    """What each column ends up as, in words (``"log → z-score → axis smile"``)."""
    from stimuli.data.transforms import describe

    out = {}
    for column in mapping.columns:
        if not column.axis:
            out[column.column] = "left out"
            continue
        where = "projected into the latent space" if column.axis == PROJECT else column.axis
        out[column.column] = f"{describe(column.transforms)} → {where}"
    return out


def to_query(mapping: StudioMapping, data: StudioData) -> dict[str, str]:
    """The form values that describe ``mapping`` (for links to views and downloads)."""
    values = {
        "encoding": mapping.encoding,
        "mode": mapping.mode,
        "target": mapping.target,
        "strength": f"{mapping.strength:g}",
        "order": mapping.order,
        "frame_ms": str(mapping.frame_ms),
        "seed": str(mapping.seed),
    }
    if mapping.generator:
        values["generator"] = mapping.generator
    for k, column in enumerate(mapping.columns):
        values[f"axis_{k}"] = column.axis
        values[f"transforms_{k}"] = ", ".join(column.transforms)
    return values
