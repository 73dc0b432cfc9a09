"""Studies simulated on the accuracy GLMM's own scale: the calibration and power target.

Why a second simulator: :mod:`analysis.simulate` models an SDT observer (d' per encoding),
whose trial accuracy is a nonlinear function of d', so no single log-odds number is "the
true effect" the GLMM estimates once people differ. Here the truth *is* a GLMM:

    logit P(correct) = logits[encoding] + p_participant + pe_participant,encoding
                       + d_dataset + de_dataset,encoding

with independent normal effects of SDs ``participant_sd``, ``participant_encoding_sd``,
``dataset_sd`` and ``dataset_encoding_sd`` (participant x encoding and dataset x encoding
variability included). **The effect-size target**: the GLMM's fixed effect of encoding a
against b estimates ``logits[a] - logits[b]`` exactly (the conditional, subject-specific
log-odds difference), lapses included (they are part of P(correct) here, not added on top).

Each trial is an m-AFC display of ``n_items`` (one outlier): a correct trial selects the
outlier, a wrong one another item, so the table goes through the usual scoring. Log RT
follows the RT model's structure (participant, participant x encoding, dataset effects,
residual ``rt_residual_sd``); a trial slower than ``deadline_ms`` times out (no answer).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.errors import AnalysisError
from analysis.response_modes.m_afc import MODE as FORCED_CHOICE


@dataclass(frozen=True)
class LogOddsStudy:
    """Design and true parameters of one simulated study (see the module docstring)."""

    logits: Mapping[str, float] = field(
        default_factory=lambda: {"table": 0.5, "chernoff": 0.5, "plot": 0.5, "gan_face": 0.5}
    )
    n_participants: int = 20
    n_datasets: int = 12
    trials_per_cell: int = 24
    participant_sd: float = 0.5
    participant_encoding_sd: float = 0.3
    dataset_sd: float = 0.3
    dataset_encoding_sd: float = 0.2
    n_items: int = 9
    rt_log_ms: float = 7.6
    rt_participant_sd: float = 0.25
    rt_participant_encoding_sd: float = 0.1
    rt_dataset_sd: float = 0.15
    rt_residual_sd: float = 0.4
    deadline_ms: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "logits", dict(self.logits))
        if not self.logits or not all(np.isfinite(list(self.logits.values()))):
            raise AnalysisError("logits must map at least one encoding to a finite log-odds")
        if min(self.n_participants, self.n_datasets, self.trials_per_cell) < 1:
            raise AnalysisError("need at least one participant, dataset and trial per cell")
        sds = (
            self.participant_sd,
            self.participant_encoding_sd,
            self.dataset_sd,
            self.dataset_encoding_sd,
            self.rt_participant_sd,
            self.rt_participant_encoding_sd,
            self.rt_dataset_sd,
            self.rt_residual_sd,
        )
        if min(sds) < 0:
            raise AnalysisError("standard deviations must be >= 0")
        if self.n_items < 2:
            raise AnalysisError("an m-AFC display needs n_items >= 2")

    @property
    def encodings(self) -> tuple[str, ...]:
        return tuple(sorted(self.logits))

    def true_difference(self, a: str, b: str) -> float:
        """The GLMM's target for encoding ``a`` against ``b`` (log-odds)."""
        return float(self.logits[a] - self.logits[b])


def simulate_logodds_trials(study: LogOddsStudy, *, rng: np.random.Generator) -> pd.DataFrame:
    """One study's trial table (the trial contract's core columns, answered as a forced choice)."""
    encodings = study.encodings
    n_p, n_d, n_e, n_t = (
        study.n_participants,
        study.n_datasets,
        len(encodings),
        study.trials_per_cell,
    )
    p, d, e, _ = (
        a.ravel() for a in np.meshgrid(*map(np.arange, (n_p, n_d, n_e, n_t)), indexing="ij")
    )

    def effect(sd: float, *shape: int) -> np.ndarray:
        return rng.normal(0.0, sd, shape) if sd > 0 else np.zeros(shape)

    logits = np.array([study.logits[name] for name in encodings])
    eta = (
        logits[e]
        + effect(study.participant_sd, n_p)[p]
        + effect(study.participant_encoding_sd, n_p, n_e)[p, e]
        + effect(study.dataset_sd, n_d)[d]
        + effect(study.dataset_encoding_sd, n_d, n_e)[d, e]
    )
    correct = rng.random(eta.size) < 1.0 / (1.0 + np.exp(-eta))
    log_rt = (
        study.rt_log_ms
        + effect(study.rt_participant_sd, n_p)[p]
        + effect(study.rt_participant_encoding_sd, n_p, n_e)[p, e]
        + effect(study.rt_dataset_sd, n_d)[d]
        + effect(study.rt_residual_sd, eta.size)
    )
    rt_ms = np.exp(log_rt)
    timed_out = np.zeros(eta.size, dtype=bool)
    if study.deadline_ms is not None:
        timed_out = rt_ms > study.deadline_ms
        rt_ms = np.where(timed_out, study.deadline_ms, rt_ms)
    outlier = rng.integers(0, study.n_items, eta.size)
    other = (outlier + rng.integers(1, study.n_items, eta.size)) % study.n_items
    chosen = np.where(correct, outlier, other)
    selected = [[] if out else [int(c)] for c, out in zip(chosen, timed_out, strict=True)]
    return pd.DataFrame(
        {
            "participant": [f"P{i:04d}" for i in p],
            "study": "logodds",
            "encoding": np.asarray(encodings)[e],
            "layout": "grid",
            "response_mode": FORCED_CHOICE.name,
            "response_mode_version": FORCED_CHOICE.version,
            "is_attention_check": False,
            "dataset_id": [f"d{i:02d}" for i in d],
            "stimulus_id": [f"s{i:06d}" for i in range(eta.size)],
            "trial_index": np.arange(eta.size),
            "is_practice": False,
            "n_items": study.n_items,
            "true_outliers": [[int(o)] for o in outlier],
            "selected": selected,
            "said_present": None,
            "rt_ms": rt_ms,
            "timed_out": timed_out,
            "deadline_ms": study.deadline_ms or np.inf,
            "presented_at": "2026-01-01T00:00:00Z",
            "answered_at": "2026-01-01T00:00:02Z",
        }
    )


def model_frame(study: LogOddsStudy, *, rng: np.random.Generator) -> pd.DataFrame:
    """The same study as the models see it (``correct``, ``log_rt`` per trial), without
    the trial-table round trip: what calibration runs need, thousands of times."""
    trials = simulate_logodds_trials(study, rng=rng)
    chosen = trials["selected"].map(lambda s: s[0] if s else -1)
    truth = trials["true_outliers"].map(lambda t: t[0])
    answered = ~trials["timed_out"]
    return pd.DataFrame(
        {
            "participant": trials["participant"],
            "dataset_id": trials["dataset_id"],
            "encoding": trials["encoding"],
            "correct": (chosen == truth) & answered,
            "log_rt": np.where(answered, np.log(trials["rt_ms"]), np.nan),
            "timed_out": trials["timed_out"],
        }
    )
