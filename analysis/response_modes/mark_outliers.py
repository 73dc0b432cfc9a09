"""Mark the outliers: click (or press Enter on) every odd face/row/point, then submit.

Answer JSON: ``{"positions": [2, 5]}`` for item images and table rows (display
positions), ``{"clicks": [{"x": 120.5, "y": 80.0}]}`` for a composite image (image
pixels; the server maps each click to the nearest point). ``selected`` = the marked
items, possibly none; each shown item is one signal-detection decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.response_modes.base import (
    ParsedResponse,
    TrialContext,
    clicks_or_positions,
    random_click,
    require_keys,
    require_list,
)
from analysis.response_modes.item_marking import ItemMarkingMode


@dataclass(frozen=True)
class MarkOutliersParams:
    """``max_marks``: the most items one answer may mark (0 = any number)."""

    max_marks: int = 0


class MarkOutliers(ItemMarkingMode):
    name = "mark_outliers"
    version = "1.0"
    label = "Mark the outliers (click, then submit)"
    layouts = ("grid",)
    Params = MarkOutliersParams

    def instructions(self, params: MarkOutliersParams) -> str:
        return (
            "When asked to <strong>mark the outliers</strong>, click (or Tab to and press "
            "Enter on) every odd item, then press <strong>Submit</strong>. There may be none, "
            "one or several."
        )

    def parse(
        self, payload: Any, trial: TrialContext, params: MarkOutliersParams
    ) -> ParsedResponse:
        key = "clicks" if trial.points is not None else "positions"
        payload = require_keys(payload, key)
        limit = params.max_marks or trial.n_items
        if trial.points is not None:
            items = {trial.nearest_item(c) for c in require_list(payload, "clicks", limit)}
        else:
            items = {trial.item(p) for p in require_list(payload, "positions", limit)}
        return ParsedResponse(selected=sorted(items))

    def answer(
        self,
        selected: Sequence[int],
        said_present: bool | None,
        extra: Mapping[str, Any],
        trial: TrialContext,
    ) -> dict[str, Any]:
        return clicks_or_positions(selected, trial, many=True)

    def random_answer(
        self, n_items: int, click_area: tuple[float, float] | None, rng: np.random.Generator
    ) -> dict[str, Any]:
        if click_area is not None:
            return {"clicks": [random_click(click_area, rng)]}
        return {"positions": [int(rng.integers(n_items))]}


MODE = MarkOutliers()
