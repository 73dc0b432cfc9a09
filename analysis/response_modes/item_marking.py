"""What every per-item mode shares: each shown item is one signal-detection decision.

Modes that answer by picking items (mark the outliers, press during a sequence) differ
only in how the answer travels; scoring, feedback, the modelled observer and the ideal
observer's answer are the same, so they live here once.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from analysis.response_modes.base import (
    Decision,
    Decisions,
    ModeDefaults,
    ObserverRules,
    ParsedResponse,
    Score,
    count_fact,
    item_evidence,
    lapse_and_threshold,
    score_items,
)


class ItemMarkingMode(ModeDefaults):
    """Base for modes whose answer is a set of items, scored item by item."""

    decision = Decision.ITEMS

    def score(self, *, truth, selected, said_present, n_items, timed_out) -> Score:
        return score_items(truth, selected, n_items, timed_out)

    def feedback(self, truth: Sequence[int], score: Score) -> str:
        return count_fact(truth)

    def decide(
        self,
        outliers: np.ndarray,
        d_prime: np.ndarray,
        *,
        observer: ObserverRules,
        rng: np.random.Generator,
    ) -> Decisions:
        """Pick every item whose evidence exceeds ``k = d'/2 + c``."""
        effective, threshold = lapse_and_threshold(d_prime, observer, rng)
        return Decisions(item_evidence(outliers, effective, rng) > threshold[:, None])

    def ideal(self, item_scores: np.ndarray, threshold: float) -> ParsedResponse:
        return ParsedResponse(np.flatnonzero(item_scores > threshold).tolist())
