"""Yes/no: "is there an outlier?" answered with a button or the keys Y / N.

Answer JSON: ``{"present": true}``. ``selected`` is always empty; the answer goes to
``said_present`` (trial-level hit / false alarm on presence in the analysis).
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
class YesNoParams:
    """Keys the runner binds to the two answers (shown on the buttons)."""

    yes_key: str = "y"
    no_key: str = "n"


class YesNo:
    name = "yes_no"
    version = "1.0"
    layouts = ("grid", "sequence")
    Params = YesNoParams

    def eligible(self, n_outliers: int) -> bool:
        return True

    def parse(self, payload: Any, trial: TrialContext, params: YesNoParams) -> ParsedResponse:
        present = require_object(payload).get("present")
        if not isinstance(present, bool):
            raise ResponseError('a yes/no answer is {"present": true} or {"present": false}')
        return ParsedResponse(selected=[], said_present=present)

    def simulate(
        self, trial: TrialContext, observer: Observer, rng: np.random.Generator
    ) -> SimulatedAnswer:
        answer = observe(self.name, trial, observer, rng)
        present = answer.said_present
        if present is None:
            present = bool(answer.selected)
        return SimulatedAnswer(response={"present": bool(present)}, rt_ms=float(answer.rt_ms))


MODE = YesNo()
