"""The study's models: encoding effects on accuracy (GLMM, GEE) and on log RT (LMM).

These wrap the generic fits for the trial table. Encodings are treatment-coded against
``reference`` (default ``"table"`` when present: the question is whether faces beat the
table); layout and response mode enter as additive covariates when they vary. With a
single encoding the encoding term is dropped (intercept-only fit) rather than failing;
:mod:`analysis.contrasts` then reports that there is nothing to compare.

Accuracy GLMM: binomial counts per participant x dataset x encoding (x layout x mode)
cell (the trial-level likelihood, on as many rows as there are distinct cells), by ML
(Laplace), with participant x encoding and dataset x encoding variability. Its random
structure is chosen by :func:`choose_structure`'s rule (stated in the result's notes):
see :data:`STRUCTURES`.
Accuracy GEE: counts per participant x encoding cell (exact for the exchangeable GEE, see
:mod:`analysis.models.gee`).
Log-RT LMM: every answered trial's ``log_rt``, with the GLMM's crossed intercepts
(participant, participant x encoding, dataset, dataset x encoding) by lme4's profiled
REML (:mod:`analysis.models.crossed_lmm`); its residual is the spread of single trials,
and the notes give the share of time-outs per encoding (their RT is censored).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import AnalysisError
from analysis.models.crossed_lmm import fit_crossed_lmm
from analysis.models.gee import GEEResult, fit_gee
from analysis.models.glmm import GLMMResult, fit_glmm
from analysis.models.lmm import LMMResult
from analysis.trials import TrialTable

DEFAULT_REFERENCE = "table"
COVARIATES = ("layout", "response_mode")
GROUPS = ("participant", "dataset_id")
#: Random structures of the accuracy GLMM, richest first. "intercepts" is always fitted:
#: participant and dataset intercepts plus their interactions with encoding (an encoding
#: effect that varies by person and by dataset). "slopes" replaces the participant part
#: by correlated per-encoding participant effects (an unstructured covariance; the
#: intercepts model is its compound-symmetric special case, 8 fewer parameters with 4
#: encodings).
STRUCTURES = {
    "slopes": ("(1 + encoding | participant)", "dataset_id", "dataset_id:encoding"),
    "intercepts": ("participant", "participant:encoding", "dataset_id", "dataset_id:encoding"),
}
#: Keep the slopes only where the LRT against the intercepts model has p below this
#: (Matuschek, Kliegl, Vasishth, Baayen & Bates, 2017: alpha_LRT = 0.2 keeps type-I error
#: near nominal without the power loss of always fitting the maximal model).
SLOPES_ALPHA = 0.2
#: The slopes model's random effects at most: beyond, its 10+ covariance parameters take
#: more optimiser steps than the report's time budget allows (30 s of CPU for 1,000
#: participants x 25 datasets, against 11 s for the intercepts model).
MAX_SLOPES_EFFECTS = 1000


def _frame(trials: pd.DataFrame | TrialTable) -> pd.DataFrame:
    frame = trials.trials if isinstance(trials, TrialTable) else trials
    if "correct" not in frame.columns:
        raise AnalysisError("models need scored trials: use analysis.trials.load_trials(...)")
    if frame.empty:
        raise AnalysisError("no trials to model")
    return frame


def reference_level(frame: pd.DataFrame, reference: str | None = None) -> str:
    """The baseline encoding: ``reference``, else "table" if present, else the first."""
    levels = sorted(frame["encoding"].unique())
    if reference is not None and reference not in levels:
        raise AnalysisError(f"reference encoding {reference!r} not in the data ({levels})")
    return reference or (DEFAULT_REFERENCE if DEFAULT_REFERENCE in levels else levels[0])


def encoding_terms(frame: pd.DataFrame, reference: str | None = None) -> str:
    """Right-hand side: encoding (treatment-coded) plus covariates that vary."""
    terms = []
    if frame["encoding"].nunique() > 1:
        terms.append(f"C(encoding, Treatment(reference={reference_level(frame, reference)!r}))")
    terms += [c for c in COVARIATES if c in frame.columns and frame[c].nunique() > 1]
    return " + ".join(terms) or "1"


def aggregate_cells(
    frame: pd.DataFrame, cells: Sequence[str] = (*GROUPS, "encoding", *COVARIATES)
) -> pd.DataFrame:
    """Binomial counts (``n_correct`` of ``n_trials``) and mean ``log_rt`` per cell."""
    cells = [c for c in cells if c in frame.columns or c not in COVARIATES]
    grouped = frame.groupby(cells, sort=True, observed=True)
    counts = grouped.agg(
        n_correct=("correct", "sum"), n_trials=("correct", "size"), log_rt=("log_rt", "mean")
    )
    counts = counts.reset_index().astype({"n_correct": "int64"})
    # Categoricals let patsy skip its per-row missing-value checks on text (5 s at 100k).
    factors = [c for c in ("encoding", *COVARIATES) if c in counts.columns]
    return counts.astype(dict.fromkeys(factors, "category"))


def _without_datasets(terms: Sequence[str]) -> tuple[str, ...]:
    return tuple(t for t in terms if "dataset_id" not in t)


def slopes_identified(frame: pd.DataFrame) -> str:
    """Why the slopes model cannot be fitted to ``frame`` ("" when it can).

    It needs two or more encodings, every participant in every encoding, more
    participants than the slope term has covariance parameters (p (p + 1) / 2), and at
    most :data:`MAX_SLOPES_EFFECTS` random effects (the slopes likelihood is dense in them).
    """
    n_encodings = frame["encoding"].nunique()
    if n_encodings < 2:
        return "one encoding only"
    seen = frame.groupby("participant", observed=True)["encoding"].nunique()
    if (seen < n_encodings).any():
        return "not every participant saw every encoding"
    parameters = n_encodings * (n_encodings + 1) // 2
    if len(seen) <= parameters:
        return f"{len(seen)} participants for {parameters} covariance parameters"
    q = len(seen) * n_encodings + frame["dataset_id"].nunique() * (n_encodings + 1)
    if q > MAX_SLOPES_EFFECTS:
        return (
            f"{q:,} random effects exceed the slopes fit's {MAX_SLOPES_EFFECTS:,} (its time budget)"
        )
    return ""


def fit_accuracy_glmm(
    trials: pd.DataFrame | TrialTable,
    *,
    reference: str | None = None,
    structure: str = "auto",
    nagq: int = 1,
    crossed_max_cells: int | None = None,
) -> GLMMResult:
    """P(correct) ~ encoding (+ covariates) with the random ``structure``, by ML.

    ``structure``: a key of :data:`STRUCTURES`, or "auto" for :func:`choose_structure`'s
    rule. Above ``crossed_max_cells`` participant x dataset x encoding cells the dataset
    terms are dropped (the likelihood then runs on participant x encoding counts, so it
    stays fast) and the result's notes say so. ``nagq`` > 1 is only possible for a single
    random intercept, which none of these structures is.
    """
    frame = _frame(trials)
    if structure != "auto" and structure not in STRUCTURES:
        raise AnalysisError(
            f"unknown structure {structure!r}; known: auto, {', '.join(STRUCTURES)}"
        )
    rhs = encoding_terms(frame, reference)
    notes: tuple[str, ...] = ()
    n_cells = frame.groupby(["participant", "dataset_id", "encoding"]).ngroups
    by_dataset = crossed_max_cells is None or n_cells <= crossed_max_cells
    if not by_dataset:
        notes = (
            f"{n_cells:,} participant x dataset x encoding cells exceed crossed_max_cells="
            f"{crossed_max_cells:,}: no dataset random effects (participant terms only).",
        )
    cells_by = (*GROUPS, "encoding") if by_dataset else ("participant", "encoding")
    cells = aggregate_cells(frame, (*cells_by, *COVARIATES))

    def fit(name: str, **start) -> GLMMResult:
        terms = STRUCTURES[name] if by_dataset else _without_datasets(STRUCTURES[name])
        if frame["encoding"].nunique() < 2:
            terms = tuple(t for t in terms if "encoding" not in t) or ("participant",)
        formula = f"n_correct ~ {rhs}"
        return fit_glmm(cells, formula, random=terms, trials="n_trials", nagq=nagq, **start)

    result = fit(structure) if structure != "auto" else choose_structure(frame, fit)
    return replace(result, notes=(*notes, *result.notes)) if notes else result


def _slopes_start(base: GLMMResult, encodings: list[str]) -> dict:
    """The intercepts fit as a slopes fit: its compound-symmetric participant covariance.

    Per-encoding participant effects c have Cov = sd_p^2 J + sd_pe^2 I; the slope term's
    treatment coding (first encoding as reference) is b = T c. SDs are floored at 0.1 so
    the start is inside the parameter space; the dataset terms and beta carry over.
    """
    sd = base.random_sd
    person = max(sd.get("participant", 0.0), 0.1) ** 2
    interaction = max(sd.get("participant:encoding", 0.0), 0.1) ** 2
    n = len(encodings)
    cells = person * np.ones((n, n)) + interaction * np.eye(n)
    T = np.eye(n)
    T[1:, 0] = -1.0
    cov = {"participant": T @ cells @ T.T}
    cov.update(
        {g: np.array([[max(v, 0.1) ** 2]]) for g, v in sd.items() if g.startswith("dataset")}
    )
    return {"start_cov": cov, "start_beta": base.params}


def choose_structure(frame: pd.DataFrame, fit) -> GLMMResult:
    """The documented rule: the intercepts model, or slopes where data identify and need them.

    1. Fit "intercepts" (always reported if nothing richer is kept, singular or not).
    2. Where :func:`slopes_identified`, fit "slopes"; keep it only if it converged, is
       not singular, and its LRT against "intercepts" has p < :data:`SLOPES_ALPHA`.
    The note on the result states the rule and what it found.
    """
    base = fit("intercepts")
    rule = (
        "Random structure: participant and dataset intercepts with participant x encoding "
        "and dataset x encoding intercepts; correlated per-encoding participant effects "
        f"(1 + encoding | participant) replace the participant part only where identified, "
        f"converged, not singular and better by LRT at p < {SLOPES_ALPHA:g} (Matuschek et "
        "al., 2017)."
    )
    why = slopes_identified(frame)
    if why:
        return replace(base, notes=(f"{rule} Slopes not fitted: {why}.", *base.notes))
    richer = fit("slopes", **_slopes_start(base, sorted(frame["encoding"].unique())))
    df = len(richer.theta) - len(base.theta)
    statistic = max(0.0, 2.0 * (richer.loglik - base.loglik))
    p = float(stats.chi2.sf(statistic, df))
    lrt = f"LRT chi2({df}) = {statistic:.2f}, p = {p:.3g}"
    if not richer.converged:
        found = f"slopes model did not converge ({richer.message}); {lrt}"
    elif richer.singular:
        found = f"slopes model singular; {lrt}"
    elif p >= SLOPES_ALPHA:
        found = f"slopes not needed: {lrt}"
    else:
        return replace(richer, notes=(f"{rule} Slopes kept: {lrt}.", *richer.notes))
    return replace(base, notes=(f"{rule} Intercepts kept: {found}.", *base.notes))


#: Random terms of the trial-level log-RT model: the accuracy GLMM's intercepts structure.
RT_TERMS = STRUCTURES["intercepts"]


def timeout_shares(frame: pd.DataFrame) -> str:
    """The censoring the RT model cannot see: share of trials timed out, per encoding."""
    shares = frame.groupby("encoding", observed=True)["timed_out"].mean()
    listed = ", ".join(f"{name} {share:.1%}" for name, share in shares.items())
    return (
        f"Time-outs (no RT; censored at the deadline, left out of this model): {listed}. "
        "Where these differ, the RT estimates describe answered trials only."
    )


def fit_log_rt_lmm(
    trials: pd.DataFrame | TrialTable,
    *,
    reference: str | None = None,
    reml: bool = True,
) -> LMMResult:
    """log RT ~ encoding (+ covariates) per answered trial, with crossed participant,
    participant x encoding, dataset and dataset x encoding intercepts (REML)."""
    frame = _frame(trials)
    answered = frame[frame["log_rt"].notna()]
    if answered.empty:
        raise AnalysisError("every trial timed out: there are no response times to model")
    rhs = encoding_terms(answered, reference)
    terms = RT_TERMS if answered["encoding"].nunique() > 1 else ("participant", "dataset_id")
    result = fit_crossed_lmm(answered, f"log_rt ~ {rhs}", random=terms, reml=reml)
    return replace(result, notes=(*result.notes, timeout_shares(frame)))


def fit_accuracy_gee(
    trials: pd.DataFrame | TrialTable, *, reference: str | None = None
) -> GEEResult:
    """Population-averaged P(correct) ~ encoding, participant clusters, bias-reduced SEs."""
    frame = _frame(trials)
    rhs = encoding_terms(frame, reference)
    cells = aggregate_cells(frame, ("participant", "encoding", *COVARIATES))
    return fit_gee(cells, f"n_correct ~ {rhs}", group="participant", trials="n_trials")
