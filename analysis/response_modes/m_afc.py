"""m-alternative forced choice: "which one is the outlier?" (exactly one click).

Only datasets with exactly one planted outlier are shown in this mode (``eligible``),
so ``n_items`` = m. Answer JSON: ``{"position": 3}`` or, on a composite image,
``{"click": {"x": 120.5, "y": 80.0}}``. ``selected`` = [the chosen item]; d' comes
from the proportion correct (the m-AFC integral), not from hit and false-alarm rates.
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
    clicks_or_positions,
    item_evidence,
    lapse_and_threshold,
    random_click,
    score_items,
)


@dataclass(frozen=True)
class MAfcParams:
    """No parameters yet: m is the number of items of the stimulus."""


class MAfc(ModeDefaults):
    name = "m_afc"
    version = "1.0"
    label = "Which one is the outlier? (m alternatives)"
    layouts = ("grid",)
    decision = Decision.CHOICE
    Params = MAfcParams

    def eligible(self, n_outliers: int) -> bool:
        return n_outliers == 1

    def instructions(self, params: MAfcParams) -> str:
        return (
            "When asked <strong>“Which one is the outlier?”</strong>, click the one odd item "
            "(exactly one is odd)."
        )

    def parse(self, payload: Any, trial: TrialContext, params: MAfcParams) -> ParsedResponse:
        if trial.points is not None:
            if not isinstance(payload, dict) or set(payload) != {"click"}:
                raise ResponseError('choose one point: {"click": {"x": ..., "y": ...}}')
            return ParsedResponse(selected=[trial.nearest_item(payload["click"])])
        if not isinstance(payload, dict) or set(payload) != {"position"}:
            raise ResponseError('choose one item: {"position": <display position>}')
        return ParsedResponse(selected=[trial.item(payload["position"])])

    def score(self, *, truth, selected, said_present, n_items, timed_out) -> Score:
        return score_items(truth, selected, n_items, timed_out)

    def feedback(self, truth: Sequence[int], score: Score) -> str:
        return "you picked " + ("the odd one" if score[4] else "a typical one")

    def decide(
        self,
        outliers: np.ndarray,
        d_prime: np.ndarray,
        *,
        observer: ObserverRules,
        rng: np.random.Generator,
    ) -> Decisions:
        """Choose the item with the largest evidence."""
        if not (outliers.sum(axis=1) == 1).all():
            raise ResponseError("m_afc trials need exactly one true outlier among the m shown")
        effective, _ = lapse_and_threshold(d_prime, observer, rng)
        evidence = item_evidence(outliers, effective, rng)
        chosen = np.zeros_like(outliers)
        chosen[np.arange(len(outliers)), evidence.argmax(axis=1)] = True
        return Decisions(chosen)

    def ideal(self, item_scores: np.ndarray, threshold: float) -> ParsedResponse:
        return ParsedResponse([int(np.argmax(item_scores))])

    def answer(
        self,
        selected: Sequence[int],
        said_present: bool | None,
        extra: Mapping[str, Any],
        trial: TrialContext,
    ) -> dict[str, Any]:
        return clicks_or_positions(
            list(selected)[:1] or trial.item_at_position[:1], trial, many=False
        )

    def random_answer(
        self, n_items: int, click_area: tuple[float, float] | None, rng: np.random.Generator
    ) -> dict[str, Any]:
        if click_area is not None:
            return {"click": random_click(click_area, rng)}
        return {"position": int(rng.integers(n_items))}


MODE = MAfc()
