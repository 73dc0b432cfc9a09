"""Yes/no: "is there an outlier?" answered with a button or the keys Y / N.

Answer JSON: ``{"present": true}``. ``selected`` is always empty; the answer goes to
``said_present``: one trial-level presence decision (hit / false alarm on presence).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.response_modes.base import (
    Decision,
    Decisions,
    ModeDefaults,
    ObserverRules,
    ParsedResponse,
    ResponseError,
    Score,
    TrialContext,
    item_evidence,
    key_label,
    lapse_and_threshold,
    presence_fact,
    score_presence,
)


@dataclass(frozen=True)
class YesNoParams:
    """Keys the runner binds to the two answers (shown on the buttons)."""

    yes_key: str = "y"
    no_key: str = "n"


class YesNo(ModeDefaults):
    name = "yes_no"
    version = "1.0"
    label = "Yes/no: is there an outlier?"
    layouts = ("grid", "sequence")
    decision = Decision.PRESENCE
    needs_target_absent = True
    Params = YesNoParams

    def keys(self, params: YesNoParams) -> dict[str, str]:
        return {"yes": params.yes_key, "no": params.no_key}

    def instructions(self, params: YesNoParams) -> str:
        return (
            "When asked <strong>“Is there an outlier?”</strong>, press "
            f"<kbd>{key_label(params.yes_key)}</kbd> for yes or "
            f"<kbd>{key_label(params.no_key)}</kbd> for no (or click the buttons)."
        )

    def parse(self, payload: Any, trial: TrialContext, params: YesNoParams) -> ParsedResponse:
        present = payload.get("present") if isinstance(payload, dict) else None
        if not isinstance(present, bool) or set(payload) != {"present"}:
            raise ResponseError('a yes/no answer is {"present": true} or {"present": false}')
        return ParsedResponse(selected=[], said_present=present)

    def score(self, *, truth, selected, said_present, n_items, timed_out) -> Score:
        return score_presence(truth, said_present, timed_out)

    def feedback(self, truth: Sequence[int], score: Score) -> str:
        return presence_fact(truth)

    def decide(
        self,
        outliers: np.ndarray,
        d_prime: np.ndarray,
        *,
        observer: ObserverRules,
        rng: np.random.Generator,
    ) -> Decisions:
        """``yes_no_rule="presence"``: the display is one observation N(d', 1) vs N(0, 1)
        against ``k``; ``"max"``: "present" when the largest item evidence exceeds ``k``."""
        effective, threshold = lapse_and_threshold(d_prime, observer, rng)
        if observer.yes_no_rule == "presence":
            present = outliers.any(axis=1)
            evidence = rng.standard_normal(len(outliers)) + effective * present
        else:
            evidence = item_evidence(outliers, effective, rng).max(axis=1)
        return Decisions(np.zeros_like(outliers), said_present=evidence > threshold)

    def ideal(self, item_scores: np.ndarray, threshold: float) -> ParsedResponse:
        return ParsedResponse([], said_present=bool((item_scores > threshold).any()))

    def answer(
        self,
        selected: Sequence[int],
        said_present: bool | None,
        extra: Mapping[str, Any],
        trial: TrialContext,
    ) -> dict[str, Any]:
        return {"present": bool(selected) if said_present is None else bool(said_present)}

    def random_answer(
        self, n_items: int, click_area: tuple[float, float] | None, rng: np.random.Generator
    ) -> dict[str, Any]:
        return {"present": bool(rng.random() < 0.5)}


MODE = YesNo()
