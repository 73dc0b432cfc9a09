"""m-alternative forced choice: "which one is the outlier?" (exactly one click).

Only datasets with exactly one planted outlier are shown in this mode (``eligible``),
so ``n_items`` = m. Answer JSON: ``{"position": 3}`` or, for a plot,
``{"click": {"x": 120.5, "y": 80.0}}``. ``selected`` = [the chosen item].
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
    observe,
    require_object,
)


@dataclass(frozen=True)
class MAfcParams:
    """No parameters yet: m is the number of items of the stimulus."""


class MAfc:
    name = "m_afc"
    version = "1.0"
    layouts = ("grid",)
    Params = MAfcParams

    def eligible(self, n_outliers: int) -> bool:
        return n_outliers == 1

    def parse(self, payload: Any, trial: TrialContext, params: MAfcParams) -> ParsedResponse:
        payload = require_object(payload)
        if trial.plot_points is not None:
            if "click" not in payload:
                raise ResponseError('choose one point: {"click": {"x": ..., "y": ...}}')
            return ParsedResponse(selected=[trial.nearest_item(payload["click"])])
        if "position" not in payload:
            raise ResponseError('choose one item: {"position": <display position>}')
        return ParsedResponse(selected=[trial.item(payload["position"])])

    def simulate(
        self, trial: TrialContext, observer: Observer, rng: np.random.Generator
    ) -> SimulatedAnswer:
        answer = observe(self.name, trial, observer, rng)
        item = answer.selected[0] if answer.selected else int(rng.choice(trial.item_at_position))
        if trial.plot_points is not None:
            x, y = trial.plot_points[trial.position_of(item)]
            response: dict[str, Any] = {"click": {"x": x, "y": y}}
        else:
            response = {"position": trial.position_of(item)}
        return SimulatedAnswer(response=response, rt_ms=float(answer.rt_ms))


MODE = MAfc()
