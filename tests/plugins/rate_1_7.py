"""A test-only response mode: rate 1..7 how odd the display looks (7 = very odd).

It proves a mode is a plugin: this module, a template (``templates/trials/rate_1_7.html``)
and an ES module (``static/rate_1_7.js``), registered with one line
(``RESPONSE_MODES["rate_1_7"] = MODE``), and nothing else in glyphlab changes. A rating
of 5 or more counts as "an outlier is there" (a presence judgement, scored like yes/no);
the rating itself goes to the trial table's ``rating`` column.

Answer JSON: ``{"rating": 6}``.
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
    lapse_and_threshold,
    presence_fact,
    require_keys,
    score_presence,
)
from analysis.trial_contract import Column

#: the lowest rating that says "an outlier is there"
PRESENT_FROM = 5


@dataclass(frozen=True)
class Rate17Params:
    """No parameters: the scale is 1..7, typed with the number keys or clicked."""


class Rate17(ModeDefaults):
    name = "rate_1_7"
    version = "0.1"
    label = "Rate 1-7: how odd does the display look?"
    layouts = ("grid", "sequence")
    decision = Decision.PRESENCE
    needs_target_absent = True
    columns = (
        Column(
            "rating",
            "number",
            "1..7: how odd the display looked (rate_1_7 mode; empty otherwise)",
            writer="mode",
            required=False,
            nullable=True,
        ),
    )
    Params = Rate17Params

    def keys(self, params: Rate17Params) -> dict[str, str]:
        return {str(r): str(r) for r in range(1, 8)}

    def instructions(self, params: Rate17Params) -> str:
        return (
            "When asked <strong>“How odd does this look?”</strong>, press <kbd>1</kbd> "
            "(not at all) to <kbd>7</kbd> (very odd), or click a number."
        )

    def parse(self, payload: Any, trial: TrialContext, params: Rate17Params) -> ParsedResponse:
        rating = require_keys(payload, "rating")["rating"]
        if isinstance(rating, bool) or rating not in range(1, 8):
            raise ResponseError('a rating is a whole number from 1 to 7: {"rating": 6}')
        return ParsedResponse(selected=[], said_present=rating >= PRESENT_FROM)

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
        """The display is one observation N(d', 1) (N(0, 1) without an outlier); one
        rating step per unit of evidence, and 5 exactly where evidence passes ``k``."""
        effective, threshold = lapse_and_threshold(d_prime, observer, rng)
        evidence = rng.standard_normal(len(outliers)) + effective * outliers.any(axis=1)
        rating = np.clip(np.floor(evidence - threshold) + PRESENT_FROM, 1, 7)
        return Decisions(
            np.zeros_like(outliers), rating >= PRESENT_FROM, extra={"rating": rating.astype(int)}
        )

    def ideal(self, item_scores: np.ndarray, threshold: float) -> ParsedResponse:
        return ParsedResponse([], said_present=bool((item_scores > threshold).any()))

    def answer(
        self,
        selected: Sequence[int],
        said_present: bool | None,
        extra: Mapping[str, Any],
        trial: TrialContext,
    ) -> dict[str, Any]:
        rating = extra.get("rating")
        return {"rating": int(rating) if rating is not None else (6 if said_present else 2)}

    def random_answer(
        self, n_items: int, click_area: tuple[float, float] | None, rng: np.random.Generator
    ) -> dict[str, Any]:
        return {"rating": int(rng.integers(1, 8))}

    def table_values(self, response: Any) -> dict[str, Any]:
        rating = response.get("rating") if isinstance(response, Mapping) else None
        return {"rating": rating}


MODE = Rate17()
