"""Mark the outliers: click (or press Enter on) every odd face/row/point, then submit.

Answer JSON: ``{"positions": [2, 5]}`` for faces and table rows (display positions),
``{"clicks": [{"x": 120.5, "y": 80.0}]}`` for a plot (image pixels; the server maps
each click to the nearest point). ``selected`` = the marked items, possibly none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from experiment.response_modes.base import (
    Observer,
    ParsedResponse,
    SimulatedAnswer,
    TrialContext,
    observe,
    require_list,
    require_object,
)


@dataclass(frozen=True)
class MarkOutliersParams:
    """``max_marks``: the most items one answer may mark (0 = any number)."""

    max_marks: int = 0


class MarkOutliers:
    name = "mark_outliers"
    version = "1.0"
    layouts = ("grid",)
    Params = MarkOutliersParams

    def eligible(self, n_outliers: int) -> bool:
        return True

    def parse(
        self, payload: Any, trial: TrialContext, params: MarkOutliersParams
    ) -> ParsedResponse:
        payload = require_object(payload)
        limit = params.max_marks or trial.n_items
        if trial.plot_points is not None:
            items = {trial.nearest_item(c) for c in require_list(payload, "clicks", limit)}
        else:
            items = {trial.item(p) for p in require_list(payload, "positions", limit)}
        return ParsedResponse(selected=sorted(items))

    def simulate(
        self, trial: TrialContext, observer: Observer, rng: np.random.Generator
    ) -> SimulatedAnswer:
        answer = observe(self.name, trial, observer, rng)
        if trial.plot_points is not None:
            points = [trial.plot_points[trial.position_of(i)] for i in answer.selected]
            response: dict[str, Any] = {"clicks": [{"x": x, "y": y} for x, y in points]}
        else:
            response = {"positions": [trial.position_of(i) for i in answer.selected]}
        return SimulatedAnswer(response=response, rt_ms=float(answer.rt_ms))


MODE = MarkOutliers()
