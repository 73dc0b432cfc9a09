"""The ideal observer of the datasets' generative model, and human efficiency relative to it.

Why: an encoding can only show what is in the data. A 2-SD outlier among 8 noisy rows is
hard for anyone; efficiency = (d'_human / d'_ideal)^2 (Tanner & Birdsall, 1958) says how
much of the available information people used, so encodings can be compared across
datasets of different difficulty.

The generative model (``stimuli/data/synthetic.py``, read through the set's files, so
``analysis`` never imports ``stimuli``): rows ``y = X beta + e``, X standard normal, e
normal with SD sigma; an outlier is a row whose residual is shifted by ``+-m`` sigma
(``vertical``), whose informative feature is set to ``+-m`` (``leverage``), or both, with
``m = magnitude_sd`` and the kind from ``truth.json``. The observer knows that model, the
kind and magnitude, and how many outliers a display holds on average (the prior pi); it
does not know beta or sigma, which it estimates from the other rows. It scores each row
by its log posterior odds of being an outlier, log LR + log(pi / (1 - pi)), with

- vertical: the leave-one-out prediction error e_i of y_i (beta and sigma fitted without
  row i, so an outlier elsewhere does not hide it), standardised by its predictive SD;
  LR = [phi(e - m) + phi(e + m)] / (2 phi(e)) = exp(-m^2 / 2) cosh(m e);
- leverage: each feature x_ij against a shift to +-m, LR = mean_j exp(-m^2 / 2) cosh(m x_ij);
- both: the product.

(The planted shifts are exact, +-m with nothing around them; an observer exploiting that
would find every outlier by a coincidence of decimals, so the shift is scored as a
location, with the noise around it.) It then answers each trial in that trial's mode as
its response mode's ``ideal`` does with threshold 0: marks rows more likely outliers than
not, says "present" when any row is, or chooses the top-scoring row (m-AFC); its answers
are scored by the humans' code (:func:`analysis.trials.score_trials`).

The ideal d' is computed once per distinct display (dataset x response mode), not per
trial: its answers do not vary between participants, and pooling N copies would make its
log-linear corrected d' grow with N. Efficiency's CI resamples participants (the human
d' varies, the ideal's does not).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import sdt
from analysis.errors import AnalysisError
from analysis.response_modes import RESPONSE_MODES, Decision
from analysis.trials import score_trials

COUNT_COLUMNS = ["hits", "misses", "false_alarms", "correct_rejections"]
KINDS = ("vertical", "leverage", "both")


@dataclass(frozen=True)
class IdealObserverConfig:
    """``correction``: the rate correction of both d' (the humans' and the ideal's)."""

    correction: str = sdt.DEFAULT_CORRECTION
    n_boot: int = 1000
    level: float = 0.95

    def __post_init__(self) -> None:
        if self.correction not in sdt.CORRECTIONS:
            raise AnalysisError(f"correction must be one of {sdt.CORRECTIONS}")
        if self.n_boot < 1 or not 0 < self.level < 1:
            raise AnalysisError("n_boot must be >= 1 and level in (0, 1)")


def _shift_lr(z: np.ndarray, m: float) -> np.ndarray:
    """log [phi(z - m) + phi(z + m)] / (2 phi(z)), stably."""
    return -0.5 * m**2 + np.logaddexp(m * z, -m * z) - np.log(2.0)


def log_likelihood_ratios(rows: pd.DataFrame, kind: str, magnitude: float) -> np.ndarray:
    """log LR of each row being an outlier of ``kind`` with shift ``magnitude``."""
    if kind not in KINDS:
        raise AnalysisError(f"outlier kind {kind!r} has no generative model; known: {KINDS}")
    features = rows[[c for c in rows.columns if c != "y"]].to_numpy(dtype=float)
    n, p = features.shape
    if "y" not in rows.columns or n < p + 4:
        raise AnalysisError(
            f"a dataset needs a y column and more than {p + 3} rows for the ideal observer"
        )
    log_lr = np.zeros(n)
    if kind in ("vertical", "both"):
        design = np.column_stack([np.ones(n), features])
        y = rows["y"].to_numpy(dtype=float)
        z = np.empty(n)
        for i in range(n):
            keep = np.arange(n) != i
            beta, *_ = np.linalg.lstsq(design[keep], y[keep], rcond=None)
            residual = y[keep] - design[keep] @ beta
            sigma = np.sqrt(residual @ residual / (n - 1 - design.shape[1]))
            inverse = np.linalg.pinv(design[keep].T @ design[keep])
            h = design[i] @ inverse @ design[i]
            z[i] = (y[i] - design[i] @ beta) / (sigma * np.sqrt(1.0 + h))
        log_lr += _shift_lr(z, magnitude)
    if kind in ("leverage", "both"):
        per_feature = _shift_lr(features, magnitude)
        log_lr += np.logaddexp.reduce(per_feature, axis=1) - np.log(p)
    return log_lr


def item_scores(rows: pd.DataFrame, kind: str, magnitude: float, prior: float) -> np.ndarray:
    """Log posterior odds of each row being an outlier (> 0: more likely than not)."""
    if not 0 < prior < 1:
        raise AnalysisError(f"the prior share of outlier rows must be in (0, 1), got {prior}")
    return log_likelihood_ratios(rows, kind, magnitude) + np.log(prior / (1 - prior))


def load_dataset_scores(stimulus_set: str | Path, dataset_ids) -> dict[str, np.ndarray]:
    """Item scores of each named dataset, from ``data/<id>.csv`` and ``truth.json``.

    The prior share of outlier rows is the base rate over these datasets (what a
    participant learns from the instructions and practice: outliers per display).
    """
    folder = Path(stimulus_set)
    truth = _truth(folder)
    data = {}
    for dataset_id in sorted(set(dataset_ids)):
        path = folder / "data" / f"{dataset_id}.csv"
        if not path.is_file() or dataset_id not in truth:
            raise AnalysisError(
                f"{path} (or its truth.json entry) not found: give the stimulus-set folder "
                "the trials were shown from"
            )
        data[dataset_id] = pd.read_csv(path)
    n_outliers = sum(len(truth[d]["outliers"]) for d in data)
    prior = min(max(n_outliers / sum(len(rows) for rows in data.values()), 1e-3), 0.5)
    scores = {}
    for dataset_id, rows in data.items():
        spec = truth[dataset_id]
        kind, magnitude = spec.get("outlier_kind", ""), float(spec.get("magnitude_sd", 0.0))
        scores[dataset_id] = item_scores(rows, kind, magnitude, prior)
    return scores


def _truth(folder: Path) -> dict:
    path = folder / "truth.json"
    if not path.is_file():
        raise AnalysisError(f"{path} not found: is {folder} a stimulus-set folder?")
    return json.loads(path.read_text())["datasets"]


def ideal_answers(trials: pd.DataFrame, scores: dict[str, np.ndarray]) -> pd.DataFrame:
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
        answer = RESPONSE_MODES[mode].ideal(score, 0.0)
        selected.append(answer.selected)
        said.append(answer.said_present)
    ideal["selected"] = selected
    ideal["said_present"] = said
    ideal["timed_out"] = False
    ideal["rt_ms"] = 1.0
    return score_trials(ideal)


def pooled_dprime(scored: pd.DataFrame, correction: str = sdt.DEFAULT_CORRECTION) -> float:
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


_DISPLAY = ["dataset_id", "response_mode", "n_items"]


def _efficiency_interval(
    human: pd.DataFrame, d_ideal: float, config: IdealObserverConfig, rng: np.random.Generator
) -> tuple[float, float]:
    """Percentile CI of (d'_human / d'_ideal)^2 over resampled participants.

    Per-participant counts are summed per replicate; d' is computed for all replicates
    at once (m-AFC through an interpolated inverse of Pc(d'), fine to 1e-6).
    """
    columns = [*COUNT_COLUMNS, "correct"]
    per_person = human.groupby("participant", sort=True)[columns].sum()
    sizes = human.groupby("participant", sort=True).size().to_numpy(dtype=float)
    counts = per_person.to_numpy(dtype=float)
    drawn = rng.integers(0, len(counts), (config.n_boot, len(counts)))
    totals, n = counts[drawn].sum(axis=1), sizes[drawn].sum(axis=1)
    if RESPONSE_MODES[human["response_mode"].iloc[0]].decision == Decision.CHOICE:
        m = int(human["n_items"].iloc[0])
        grid = np.linspace(-3.0, 8.0, 4001)
        pc = sdt.mafc_rate(totals[:, 4], n, m, config.correction)
        d = np.interp(pc, sdt.pc_mafc(grid, m), grid)
    else:
        hit_rate, fa_rate = sdt.rates(*totals[:, :4].T, correction=config.correction)
        d = sdt.dprime(hit_rate, fa_rate)
    tail = 50 * (1 - config.level)
    low, high = np.nanpercentile((d / d_ideal) ** 2, [tail, 100 - tail])
    return float(low), float(high)


def efficiency(
    trials: pd.DataFrame,
    stimulus_set: str | Path,
    config: IdealObserverConfig | None = None,
    *,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Human and ideal d' and efficiency (with a bootstrap CI) per encoding x response mode.

    ``trials`` are the analysed, scored trials (``TrialTable.trials``). The ideal answers
    each distinct display of those trials once (module docstring). Efficiency is NaN with a
    ``note`` where the ideal d' is not positive (no information to use) or is undefined
    (no target-present or no target-absent trials, so no hit or false-alarm rate).
    """
    config = config or IdealObserverConfig()
    scores = load_dataset_scores(stimulus_set, trials["dataset_id"])
    rows = []
    for (encoding, mode), human in trials.groupby(["encoding", "response_mode"], sort=True):
        if RESPONSE_MODES[mode].decision == Decision.CHOICE and human["n_items"].nunique() != 1:
            continue
        displays = human.drop_duplicates(_DISPLAY)
        d_ideal = pooled_dprime(ideal_answers(displays, scores), config.correction)
        d_human = pooled_dprime(human, config.correction)
        ok = d_ideal > 0
        if np.isnan(d_ideal):
            note = "no target-present or no target-absent trials: d' is undefined"
        else:
            note = "" if ok else "ideal d' <= 0: datasets carry no usable signal"
        low, high = _efficiency_interval(human, d_ideal, config, rng) if ok else (np.nan,) * 2
        rows.append(
            {
                "encoding": encoding,
                "response_mode": mode,
                "n_trials": len(human),
                "n_displays": len(displays),
                "d_human": d_human,
                "d_ideal": d_ideal,
                "efficiency": (d_human / d_ideal) ** 2 if ok else np.nan,
                "efficiency_ci_low": low,
                "efficiency_ci_high": high,
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
    truth = _truth(folder)
    scores = load_dataset_scores(folder, truth)
    rows = []
    for dataset_id, score in scores.items():
        outliers = set(truth[dataset_id]["outliers"])
        flagged = set(np.flatnonzero(score > 0).tolist())
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
