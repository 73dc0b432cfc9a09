"""Power by simulation: how often does a study of N people detect a given encoding effect?

Each replicate simulates a full within-participant study with :mod:`analysis.simulate`
(encoding ``a`` vs the baseline ``b``, random participant sensitivity, participant x
encoding and dataset x encoding variability of d', lapses) and tests
the effect; power is the share of replicates with p < alpha *and* the true sign, with its
Monte-Carlo standard error sqrt(p (1 - p) / n_simulations).

Tests (``method``):

- ``"paired"`` (default, fast: ~ms per replicate): per-participant d' per encoding
  (:func:`analysis.measures.compute_measures`, log-linear rates) and a paired t test of
  a - b. This is the classic participant-level analysis.
- ``"glmm"``: the report's accuracy GLMM (:func:`analysis.models.study.fit_accuracy_glmm`,
  crossed random intercepts, Laplace) and its Wald z for ``a`` vs ``b``. Seconds per
  replicate: use it to confirm a design found with ``"paired"``.

Effects (``effect_scale``): ``"dprime"`` makes d'_a = d'_b + effect; ``"log_odds"`` picks
d'_a so that, for the typical participant and dataset (all random shifts 0), the log-odds
of a fully correct trial rise by ``effect``, lapses included (computed exactly from the
observer's decision rule, see :func:`trial_accuracy`). That is the target the GLMM's
encoding coefficient estimates when the random d' shifts are small; with large ones the
logit link is only an approximation of the SDT observer, and the exact log-odds target is
:mod:`analysis.logodds_simulation` (used by ``benchmarks/bench_calibration.py``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special, stats
from tqdm import tqdm

from analysis.errors import AnalysisError
from analysis.measures import compute_measures
from analysis.response_modes import DEFAULT_MODE, Decision, mode_named
from analysis.sdt import pc_mafc
from analysis.simulate import ModelObserver, SimulationDesign, make_design, simulate_trials
from analysis.trials import load_trials

METHODS = ("paired", "glmm")
EFFECT_SCALES = ("dprime", "log_odds")


@dataclass(frozen=True)
class PowerConfig:
    """A planned study and the effect to detect (encoding ``a`` vs baseline ``b``)."""

    n_participants: int = 20
    encodings: tuple[str, str] = ("gan_face", "table")
    baseline_dprime: float = 1.0
    effect: float = 0.5
    effect_scale: str = "dprime"
    criterion: float = 0.5
    sensitivity_sd: float = 0.3
    encoding_sd: float = 0.3
    dataset_encoding_sd: float = 0.0
    lapse_rate: float = 0.02
    n_datasets: int = 10
    n_items: int = 12
    n_outliers: int = 1
    absent_fraction: float = 0.0
    response_mode: str = DEFAULT_MODE
    n_simulations: int = 200
    alpha: float = 0.05
    method: str = "paired"

    def __post_init__(self) -> None:
        object.__setattr__(self, "encodings", tuple(self.encodings))
        if len(self.encodings) != 2 or len(set(self.encodings)) != 2:
            raise AnalysisError("encodings must name two different encodings: (a, baseline)")
        if self.n_participants < 2 or self.n_simulations < 1:
            raise AnalysisError("need n_participants >= 2 and n_simulations >= 1")
        if not 0 < self.alpha < 1:
            raise AnalysisError(f"alpha must be in (0, 1), got {self.alpha}")
        if self.method not in METHODS or self.effect_scale not in EFFECT_SCALES:
            raise AnalysisError(f"method must be one of {METHODS}, effect_scale {EFFECT_SCALES}")
        self.design()  # validates the study design too

    def design(self) -> SimulationDesign:
        return SimulationDesign(
            n_participants=self.n_participants,
            encodings=self.encodings,
            n_datasets=self.n_datasets,
            n_items=self.n_items,
            n_outliers=self.n_outliers,
            absent_fraction=self.absent_fraction,
            response_mode=self.response_mode,
        )

    def dprimes(self) -> dict[str, float]:
        """The observer's d' for (a, baseline) that realise ``effect`` on its scale."""
        a, b = self.encodings
        if self.effect_scale == "dprime":
            return {a: self.baseline_dprime + self.effect, b: self.baseline_dprime}
        base = trial_accuracy(self.baseline_dprime, self)
        target = special.expit(special.logit(base) + self.effect)
        low, high = -4.0, 12.0
        if not trial_accuracy(low, self) < target < trial_accuracy(high, self):
            raise AnalysisError(f"a log-odds effect of {self.effect} is out of reach here")
        d_a = optimize.brentq(lambda d: trial_accuracy(d, self) - target, low, high, xtol=1e-10)
        return {a: float(d_a), b: self.baseline_dprime}


def trial_accuracy(d: float, config: PowerConfig) -> float:
    """P(a trial is fully correct) for the simulated observer, lapses included, exactly.

    A lapse (probability ``lapse_rate``) is answered from noise alone, at d' = 0.
    """
    lapse = config.lapse_rate
    return (1 - lapse) * _attentive_accuracy(d, config) + lapse * _attentive_accuracy(0.0, config)


def _attentive_accuracy(d: float, config: PowerConfig) -> float:
    """P(a trial is fully correct) without lapses."""
    k = d / 2 + config.criterion
    decision = mode_named(config.response_mode).decision
    if decision == Decision.CHOICE:
        return float(pc_mafc(d, config.n_items))
    if decision == Decision.PRESENCE:
        present = 1 - config.absent_fraction
        return float(present * stats.norm.cdf(d - k) + (1 - present) * stats.norm.cdf(k))
    hit_all = stats.norm.cdf(d - k) ** config.n_outliers
    reject_all = stats.norm.cdf(k) ** (config.n_items - config.n_outliers)
    if config.absent_fraction:
        absent = stats.norm.cdf(k) ** config.n_items
        return float((1 - config.absent_fraction) * hit_all * reject_all
                     + config.absent_fraction * absent)  # fmt: skip
    return float(hit_all * reject_all)


@dataclass(frozen=True)
class PowerResult:
    """Estimated power with its Monte-Carlo SE, for one config."""

    config: PowerConfig
    dprimes: dict[str, float]
    n_significant: int
    power: float
    mc_se: float

    def to_frame(self) -> pd.DataFrame:
        a, b = self.config.encodings
        row = {
            "n_participants": self.config.n_participants,
            "method": self.config.method,
            f"dprime_{a}": self.dprimes[a],
            f"dprime_{b}": self.dprimes[b],
            "n_simulations": self.config.n_simulations,
            "n_significant": self.n_significant,
            "power": self.power,
            "mc_se": self.mc_se,
        }
        return pd.DataFrame([row])


def _glmm_significant(trials: pd.DataFrame, config: PowerConfig) -> bool:
    """Does the accuracy GLMM of one simulated study find a > baseline at level alpha?"""
    from analysis.models.study import fit_accuracy_glmm

    a, b = config.encodings
    result = fit_accuracy_glmm(load_trials(trials), reference=b).to_frame()
    row = result[result["term"].str.endswith(f"[T.{a}]")].iloc[0]
    return bool(row["p"] < config.alpha and row["estimate"] > 0)


def _paired_significant(trials: pd.DataFrame, config: PowerConfig) -> np.ndarray:
    """Paired t test of per-participant d' (a - b) for every replicate in ``trials``.

    Replicates are simulated together (participant codes ``R<rep>-P<id>``) so scoring and
    measures run once per batch: pandas overhead, not arithmetic, dominates small studies.
    """
    a, b = config.encodings
    cells = compute_measures(load_trials(trials), by=("participant", "encoding")).table
    wide = cells.pivot(index="participant", columns="encoding", values="dprime").dropna()
    difference = (wide[a] - wide[b]).groupby(wide.index.str.split("-").str[0], sort=True)
    n, mean, sd = difference.size(), difference.mean(), difference.std()
    with np.errstate(divide="ignore", invalid="ignore"):
        t = mean / (sd / np.sqrt(n))
    p = np.where(sd > 0, 2 * stats.t.sf(np.abs(t), n - 1), np.where(mean != 0, 0.0, 1.0))
    return (p < config.alpha) & (mean.to_numpy() > 0)


def _replicates(config: PowerConfig, count: int, observer, rng) -> pd.DataFrame:
    designs = []
    for replicate in range(count):
        design = make_design(config.design(), rng=rng)
        design["participant"] = f"R{replicate:05d}-" + design["participant"]
        design["dataset_id"] = f"R{replicate:05d}-" + design["dataset_id"]  # own datasets
        designs.append(design)
    return simulate_trials(pd.concat(designs, ignore_index=True), observer, rng=rng)


def estimate_power(
    config: PowerConfig, *, rng: np.random.Generator, progress: bool = True, batch: int = 50
) -> PowerResult:
    """Simulate ``config.n_simulations`` studies and count significant, right-signed ones."""
    dprimes = config.dprimes()
    observer = ModelObserver.simple(
        dprimes,
        criterion=config.criterion,
        sensitivity_sd=config.sensitivity_sd,
        encoding_sd=config.encoding_sd,
        dataset_encoding_sd=config.dataset_encoding_sd,
        lapse_rate=config.lapse_rate,
    )
    hits = 0
    label = f"N={config.n_participants} ({config.method})"
    with tqdm(total=config.n_simulations, desc=label, disable=not progress, leave=False) as bar:
        done = 0
        while done < config.n_simulations:
            count = 1 if config.method == "glmm" else min(batch, config.n_simulations - done)
            trials = _replicates(config, count, observer, rng)
            if config.method == "glmm":
                hits += _glmm_significant(trials, config)
            else:
                hits += int(_paired_significant(trials, config).sum())
            done += count
            bar.update(count)
    power = hits / config.n_simulations
    mc_se = float(np.sqrt(power * (1 - power) / config.n_simulations))
    return PowerResult(config, dprimes, hits, power, mc_se)


def power_curve(
    config: PowerConfig, participants: list[int], *, rng: np.random.Generator, progress=True
) -> pd.DataFrame:
    """:func:`estimate_power` for each N in ``participants``: one row per N."""
    settings = asdict(config)
    rows = [
        estimate_power(
            PowerConfig(**{**settings, "n_participants": n}), rng=rng, progress=progress
        ).to_frame()
        for n in participants
    ]
    return pd.concat(rows, ignore_index=True)
