"""Keypress during a sequence: press the key whenever the frame on screen is odd.

The runner records which frame (display position) was on screen at each press,
from its requestAnimationFrame timestamps. Answer JSON:
``{"presses": [{"frame": 4, "t_ms": 2210.5}]}``. ``selected`` = the items of those
frames (per-item decisions, like mark_outliers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from experiment.response_modes.base import (
    Observer,
    ParsedResponse,
    ResponseError,
    SimulatedAnswer,
    TrialContext,
    number,
    observe,
    require_list,
    require_object,
)


@dataclass(frozen=True)
class KeypressParams:
    """``key``: the key to press (``" "`` = space bar)."""

    key: str = " "


class Keypress:
    name = "keypress"
    version = "1.0"
    layouts = ("sequence",)
    Params = KeypressParams

    def eligible(self, n_outliers: int) -> bool:
        return True

    def parse(self, payload: Any, trial: TrialContext, params: KeypressParams) -> ParsedResponse:
        presses = require_list(require_object(payload), "presses", 4 * trial.n_items)
        items = set()
        for press in presses:
            if not isinstance(press, dict) or "frame" not in press:
                raise ResponseError('each press is an object like {"frame": 4, "t_ms": 2210.5}')
            if press.get("t_ms") is not None:
                number(press["t_ms"], "press t_ms")
            items.add(trial.item(press["frame"]))
        return ParsedResponse(selected=sorted(items))

    def simulate(
        self, trial: TrialContext, observer: Observer, rng: np.random.Generator
    ) -> SimulatedAnswer:
        answer = observe(self.name, trial, observer, rng)
        presses = [{"frame": trial.position_of(i), "t_ms": None} for i in answer.selected]
        return SimulatedAnswer(response={"presses": presses}, rt_ms=float(answer.rt_ms))


MODE = Keypress()
