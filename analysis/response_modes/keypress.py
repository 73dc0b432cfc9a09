"""Keypress during a sequence: press the key whenever the frame on screen is odd.

The runner records which frame (display position) was on screen at each press, from
its requestAnimationFrame timestamps. Answer JSON: ``{"presses": [{"frame": 4, "t_ms":
2210.5}]}``. ``selected`` = the items of those frames: per-item decisions, scored and
simulated like mark_outliers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.response_modes.base import (
    ParsedResponse,
    ResponseError,
    TrialContext,
    key_label,
    number,
    require_keys,
    require_list,
)
from analysis.response_modes.item_marking import ItemMarkingMode

#: what one press may say: the frame on screen and, optionally, when (ms after onset)
PRESS_KEYS = {"frame", "t_ms"}


@dataclass(frozen=True)
class KeypressParams:
    """``key``: the key to press (``" "`` = space bar)."""

    key: str = " "


class Keypress(ItemMarkingMode):
    name = "keypress"
    version = "1.0"
    label = "Key press during a sequence"
    layouts = ("sequence",)
    needs_target_absent = True
    Params = KeypressParams

    def keys(self, params: KeypressParams) -> dict[str, str]:
        return {"press": params.key}

    def instructions(self, params: KeypressParams) -> str:
        return (
            "In a <strong>sequence</strong>, items appear one at a time: press "
            f"<kbd>{key_label(params.key)}</kbd> while an odd one is on screen."
        )

    def parse(self, payload: Any, trial: TrialContext, params: KeypressParams) -> ParsedResponse:
        presses = require_list(require_keys(payload, "presses"), "presses", 4 * trial.n_items)
        items = set()
        for press in presses:
            if not isinstance(press, dict) or "frame" not in press or set(press) - PRESS_KEYS:
                raise ResponseError('each press is an object like {"frame": 4, "t_ms": 2210.5}')
            if press.get("t_ms") is not None:
                number(press["t_ms"], "press t_ms")
            items.add(trial.item(press["frame"]))
        return ParsedResponse(selected=sorted(items))

    def answer(
        self,
        selected: Sequence[int],
        said_present: bool | None,
        extra: Mapping[str, Any],
        trial: TrialContext,
    ) -> dict[str, Any]:
        return {"presses": [{"frame": trial.position_of(i), "t_ms": None} for i in selected]}

    def random_answer(
        self, n_items: int, click_area: tuple[float, float] | None, rng: np.random.Generator
    ) -> dict[str, Any]:
        press = {"frame": int(rng.integers(n_items)), "t_ms": float(rng.uniform(0, 5000))}
        return {"presses": [press]}


MODE = Keypress()
