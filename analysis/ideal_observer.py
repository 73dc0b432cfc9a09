"""An ideal observer that sees the raw numbers, and human efficiency relative to it.

Why: an encoding can only show what is in the data. A 2-SD outlier among 8 noisy rows is
hard for anyone; efficiency = (d'_human / d'_ideal)^2 (Tanner & Birdsall, 1958) says how
much of the available information people used, so encodings can be compared across
datasets of different difficulty.

The observer reads ``<stimulus set>/data/<dataset_id>.csv`` (columns x1..xk, y; plain
files, so ``analysis`` never imports ``stimuli``) and scores every row by two classical
outlier tests, each giving a p-value:

- vertical outliers: the externally studentised residual of the OLS fit y ~ 1 + x, which
  follows t(n - p - 2) under the model (p features);
- leverage outliers: the Mahalanobis distance of the row's features from their mean,
  with n D^2 / (n - 1)^2 ~ Beta(p/2, (n - p - 1)/2) (Wilks, 1963).

Its item score is -log10 of twice the smaller p (Bonferroni over the two tests). It
answers each human trial in that trial's mode: marks the rows whose score passes a
Bonferroni threshold ``alpha / n`` (mark_outliers, keypress), says "present" when any row
passes (yes_no), or chooses the top-scoring row (m_afc). Those answers are scored by the
same code as the humans' (:func:`analysis.trials.score_trials`), so d' is computed on
the same trials in the same way. With finite trials its d' is bounded by the log-linear
correction: that ceiling is reported, not hidden.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from analysis import sdt
from analysis.errors import AnalysisError
from analysis.response_modes import RESPONSE_MODES, Decision
from analysis.trials import score_trials

COUNT_COLUMNS = ["hits", "misses", "false_alarms", "correct_rejections"]


@dataclass(frozen=True)
class IdealObserverConfig:
    """``alpha``: family-wise false-alarm rate per display for the marking threshold."""

    alpha: float = 0.05
    correction: str = "loglinear"

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise AnalysisError(f"alpha must be in (0, 1), got {self.alpha}")
        if self.correction not in sdt.CORRECTIONS:
            raise AnalysisError(f"correction must be one of {sdt.CORRECTIONS}")


def item_scores(rows: pd.DataFrame) -> np.ndarray:
    """-log10 of the Bonferroni-combined p of each row being an outlier (higher = odder)."""
    features = rows[[c for c in rows.columns if c != "y"]].to_numpy(dtype=float)
    n, p = features.shape
    if "y" not in rows.columns or n < p + 4:
        raise AnalysisError(
            f"a dataset needs a y column and more than {p + 3} rows for the ideal observer"
        )
    design = np.column_stack([np.ones(n), features])
    hat = design @ np.linalg.pinv(design)
    leverage = np.clip(np.diag(hat), 0.0, 1.0 - 1e-12)
    residual = rows["y"].to_numpy(dtype=float) - hat @ rows["y"].to_numpy(dtype=float)
    dof = n - p - 1
    sse = residual @ residual
    deleted_var = np.maximum((sse - residual**2 / (1 - leverage)) / (dof - 1), 1e-300)
    t = residual / np.sqrt(deleted_var * (1 - leverage))
    p_vertical = 2 * stats.t.sf(np.abs(t), dof - 1)
    centred = features - features.mean(axis=0)
    covariance = np.atleast_2d(np.cov(features, rowvar=False))
    distance = np.einsum("ij,jk,ik->i", centred, np.linalg.pinv(covariance), centred)
    scaled = np.clip(n * distance / (n - 1) ** 2, 0.0, 1.0)
    p_leverage = stats.beta.sf(scaled, p / 2, (n - p - 1) / 2)
    combined = np.clip(2 * np.minimum(p_vertical, p_leverage), 1e-300, 1.0)
    return -np.log10(combined)


def load_dataset_scores(stimulus_set: str | Path, dataset_ids) -> dict[str, np.ndarray]:
    """Item scores of each named dataset, read from ``<set>/data/<id>.csv``."""
    folder = Path(stimulus_set) / "data"
    scores = {}
    for dataset_id in sorted(set(dataset_ids)):
        path = folder / f"{dataset_id}.csv"
        if not path.is_file():
            raise AnalysisError(
                f"{path} not found: give the stimulus-set folder the trials were shown from"
            )
        scores[dataset_id] = item_scores(pd.read_csv(path))
    return scores


def ideal_answers(
    trials: pd.DataFrame, scores: dict[str, np.ndarray], config: IdealObserverConfig
) -> pd.DataFrame:
    """The trials (from :func:`analysis.trials.read_trials`) as the ideal observer answers them."""
    ideal = trials.copy()
    selected, said = [], []
    for dataset_id, mode, n_items in zip(
        ideal["dataset_id"], ideal["response_mode"], ideal["n_items"], strict=True
    ):
        score = scores[dataset_id]
        if len(score) != n_items:
            raise AnalysisError(
                f"dataset {dataset_id} has {len(score)} rows but its trials show {n_items} "
                "items: the stimulus set does not match the trial table"
            )
        answer = RESPONSE_MODES[mode].ideal(score, -np.log10(config.alpha / n_items))
        selected.append(answer.selected)
        said.append(answer.said_present)
    ideal["selected"] = selected
    ideal["said_present"] = said
    ideal["timed_out"] = False
    ideal["rt_ms"] = 1.0
    return score_trials(ideal)


def pooled_dprime(scored: pd.DataFrame, correction: str = "loglinear") -> float:
    """d' of one response mode's scored trials, pooled over trials (not participants)."""
    modes = scored["response_mode"].unique()
    if len(modes) != 1:
        raise AnalysisError(f"pooled d' needs one response mode, got {sorted(modes)}")
    if RESPONSE_MODES[modes[0]].decision == Decision.CHOICE:
        m = int(scored["n_items"].iloc[0])
        pc = sdt.mafc_rate(scored["correct"].sum(), len(scored), m, correction)
        return float(sdt.dprime_mafc(pc, m))
    counts = scored[COUNT_COLUMNS].sum()
    hit_rate, fa_rate = sdt.rates(*(counts[c] for c in COUNT_COLUMNS), correction=correction)
    return float(sdt.dprime(hit_rate, fa_rate))


def efficiency(
    trials: pd.DataFrame, stimulus_set: str | Path, config: IdealObserverConfig | None = None
) -> pd.DataFrame:
    """Human and ideal d' and efficiency per encoding x response mode on the same trials.

    ``trials`` are the analysed, scored trials (``TrialTable.trials``). Efficiency is NaN
    with a ``note`` where the ideal d' is not positive (no information to use) or is
    undefined (no target-present or no target-absent trials, so no hit or false-alarm rate).
    """
    config = config or IdealObserverConfig()
    scores = load_dataset_scores(stimulus_set, trials["dataset_id"])
    ideal = ideal_answers(trials, scores, config)
    rows = []
    for (encoding, mode), human in trials.groupby(["encoding", "response_mode"], sort=True):
        if RESPONSE_MODES[mode].decision == Decision.CHOICE and human["n_items"].nunique() != 1:
            continue
        d_human = pooled_dprime(human, config.correction)
        d_ideal = pooled_dprime(ideal.loc[human.index], config.correction)
        ok = d_ideal > 0
        if np.isnan(d_ideal):
            note = "no target-present or no target-absent trials: d' is undefined"
        else:
            note = "" if ok else "ideal d' <= 0: datasets carry no usable signal"
        rows.append(
            {
                "encoding": encoding,
                "response_mode": mode,
                "n_trials": len(human),
                "d_human": d_human,
                "d_ideal": d_ideal,
                "efficiency": (d_human / d_ideal) ** 2 if ok else np.nan,
                "note": note,
            }
        )
    return pd.DataFrame(rows)


def dataset_table(stimulus_set: str | Path, config: IdealObserverConfig | None = None):
    """Per dataset of a stimulus set: the ideal observer's marks against truth.json.

    ``d_prime`` is NaN for a dataset without outliers: it has no hit rate to correct.
    """
    config = config or IdealObserverConfig()
    folder = Path(stimulus_set)
    truth_path = folder / "truth.json"
    if not truth_path.is_file():
        raise AnalysisError(f"{truth_path} not found: is {folder} a stimulus-set folder?")
    truth = json.loads(truth_path.read_text())["datasets"]
    scores = load_dataset_scores(folder, truth)
    rows = []
    for dataset_id, score in scores.items():
        outliers = set(truth[dataset_id]["outliers"])
        flagged = set(np.flatnonzero(score > -np.log10(config.alpha / len(score))).tolist())
        rows.append(
            {
                "dataset_id": dataset_id,
                "n_items": len(score),
                "hits": len(outliers & flagged),
                "misses": len(outliers - flagged),
                "false_alarms": len(flagged - outliers),
                "correct_rejections": len(score) - len(outliers | flagged),
            }
        )
    frame = pd.DataFrame(rows)
    hit_rate, fa_rate = sdt.rates(*(frame[c] for c in COUNT_COLUMNS), correction=config.correction)
    frame["d_prime"] = sdt.dprime(hit_rate, fa_rate)
    return frame
