"""What every response mode declares (jsPsych-plugin style) and the shared helpers.

A mode is one module with a :class:`ResponseMode` instance: ``name`` (registry key,
database value, template name), ``version`` (stamped on every response row), the
layouts it works with, a frozen ``Params`` dataclass with defaults, ``parse`` (the
browser's JSON -> :class:`ParsedResponse` in item indices, bad input -> 400) and
``simulate`` (what a simulated participant would send). Modes never see truth when
parsing: the :class:`TrialContext` given to ``parse`` has ``true_outliers=None``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Protocol

import numpy as np

from experiment.errors import BadRequest


class ResponseError(BadRequest):
    """The answer JSON does not fit the trial's response mode."""


@dataclass(frozen=True)
class TrialContext:
    """A trial as a mode sees it: display positions mapped to items, server side only."""

    encoding: str
    layout: str
    #: item index (dataset row) at each display position (grid cell, table row, frame)
    item_at_position: tuple[int, ...]
    #: plot encodings: pixel centre of each display position, for click mapping
    plot_points: tuple[tuple[float, float], ...] | None = None
    plot_radius: float = 6.0
    #: only for ``simulate``; ``parse`` never gets truth
    true_outliers: tuple[int, ...] | None = None

    @property
    def n_items(self) -> int:
        return len(self.item_at_position)

    def item(self, position: Any) -> int:
        if isinstance(position, bool) or not isinstance(position, int):
            raise ResponseError(f"a position must be a whole number, not {position!r}")
        if not 0 <= position < self.n_items:
            raise ResponseError(
                f"position {position} is out of range: this trial shows {self.n_items} items "
                f"(positions 0 to {self.n_items - 1})"
            )
        return self.item_at_position[position]

    def position_of(self, item: int) -> int:
        return self.item_at_position.index(item)

    def nearest_item(self, click: Any) -> int:
        """Map a click (image pixels) to the nearest plotted item."""
        if self.plot_points is None:
            raise ResponseError("this trial has no plot; answer with positions, not clicks")
        if not isinstance(click, Mapping):
            raise ResponseError('a click must be an object like {"x": 120.5, "y": 80}')
        x, y = number(click.get("x"), "click x"), number(click.get("y"), "click y")
        distances = [math.hypot(px - x, py - y) for px, py in self.plot_points]
        return self.item_at_position[int(np.argmin(distances))]


@dataclass(frozen=True)
class ParsedResponse:
    selected: list[int]
    said_present: bool | None = None


class Observer(Protocol):
    """``analysis.simulate.ModelObserver``'s interface, as far as bots need it."""

    def respond(
        self,
        *,
        n_items: int,
        true_outliers: list[int],
        encoding: str,
        response_mode: str,
        rng: np.random.Generator,
    ) -> Any: ...


def observe(
    mode_name: str, trial: TrialContext, observer: Observer, rng: np.random.Generator
) -> Any:
    """What ``observer`` answers on ``trial`` (truth included) in response mode
    ``mode_name``; each mode's ``simulate`` turns it into that mode's JSON."""
    return observer.respond(
        n_items=trial.n_items,
        true_outliers=list(trial.true_outliers or ()),
        encoding=trial.encoding,
        response_mode=mode_name,
        rng=rng,
    )


@dataclass(frozen=True)
class SimulatedAnswer:
    response: dict[str, Any]
    rt_ms: float


def number(value: Any, what: str) -> float:
    """``value`` as a float, if it is a JSON number that fits one (an integer too big
    for a float, like 1 followed by 400 zeros, is refused, not an OverflowError)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ResponseError(f"{what} must be a finite number, not {value!r}")
    try:
        result = float(value)
    except OverflowError:
        raise ResponseError(f"{what} is too large; it must be a finite number") from None
    if not math.isfinite(result):
        raise ResponseError(f"{what} must be a finite number, not {value!r}")
    return result


def require_object(payload: Any) -> Mapping[str, Any]:
    if not isinstance(payload, Mapping):
        raise ResponseError('"response" must be a JSON object')
    return payload


def require_list(payload: Mapping[str, Any], key: str, limit: int) -> list[Any]:
    value = payload.get(key, [])
    if not isinstance(value, list):
        raise ResponseError(f'"{key}" must be a list')
    if len(value) > limit:
        raise ResponseError(f'"{key}" has {len(value)} entries; at most {limit} are allowed')
    return value


def params_from_dict(cls: type, values: Mapping[str, Any] | None) -> Any:
    """Fill a Params dataclass from a dict, refusing unknown names (jsPsych does too)."""
    values = dict(values or {})
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ResponseError(f"unknown parameters {unknown}; known: {sorted(known)}")
    return cls(**values)


class ResponseMode(Protocol):
    name: str
    version: str
    layouts: tuple[str, ...]
    Params: type

    def eligible(self, n_outliers: int) -> bool:
        """Whether a dataset with this many outliers can be shown in this mode."""

    def parse(self, payload: Any, trial: TrialContext, params: Any) -> ParsedResponse: ...

    def simulate(
        self, trial: TrialContext, observer: Observer, rng: np.random.Generator
    ) -> SimulatedAnswer: ...
