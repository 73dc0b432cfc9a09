"""The study's models: encoding effects on accuracy (GLMM, GEE) and on log RT (LMM).

These wrap the generic fits for the trial table. Encodings are treatment-coded against
``reference`` (default ``"table"`` when present: the question is whether faces beat the
table); layout and response mode enter as additive covariates when they vary. With a
single encoding the encoding term is dropped (intercept-only fit) rather than failing;
:mod:`analysis.contrasts` then reports that there is nothing to compare.

Accuracy GLMM: binomial counts per participant x dataset x encoding (x layout x mode)
cell, crossed random intercepts for participant and dataset (Laplace): the trial-level
likelihood, on as many rows as there are distinct cells.
Accuracy GEE: counts per participant x encoding cell (exact for the exchangeable GEE, see
:mod:`analysis.models.gee`).
Log-RT LMM: answered trials' ``log_rt`` averaged per participant x encoding (x layout x
mode) cell (``aggregate=True``), random intercept per participant (default): the
repeated-measures model, a thousand rows for 100k trials. Averaging over datasets leaves
encoding effects unbiased when every participant sees every dataset in every encoding.
``groups=("participant", "dataset_id")`` fits crossed intercepts instead, but statsmodels
needs one dense group for that (seconds per thousand rows): for small studies only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pandas as pd

from analysis.errors import AnalysisError
from analysis.models.gee import GEEResult, fit_gee
from analysis.models.glmm import GLMMResult, fit_glmm
from analysis.models.lmm import LMMResult, fit_lmm
from analysis.trials import TrialTable

DEFAULT_REFERENCE = "table"
COVARIATES = ("layout", "response_mode")
GROUPS = ("participant", "dataset_id")


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
    grouped = frame.groupby(list(cells), sort=True, observed=True)
    counts = grouped.agg(
        n_correct=("correct", "sum"), n_trials=("correct", "size"), log_rt=("log_rt", "mean")
    )
    counts = counts.reset_index().astype({"n_correct": "int64"})
    # Categoricals let patsy skip its per-row missing-value checks on text (5 s at 100k).
    factors = [c for c in ("encoding", *COVARIATES) if c in counts.columns]
    return counts.astype(dict.fromkeys(factors, "category"))


def fit_accuracy_glmm(
    trials: pd.DataFrame | TrialTable,
    *,
    reference: str | None = None,
    groups: Sequence[str] = GROUPS,
    nagq: int = 1,
    crossed_max_cells: int | None = None,
) -> GLMMResult:
    """P(correct) ~ encoding (+ covariates) + crossed random intercepts, by ML.

    Above ``crossed_max_cells`` participant x dataset x encoding cells only the participant
    intercept is kept (the likelihood then runs on participant x encoding counts, so it
    stays fast) and the result's notes say so.
    """
    frame = _frame(trials)
    rhs = encoding_terms(frame, reference)
    notes: tuple[str, ...] = ()
    n_cells = frame.groupby(["participant", "dataset_id", "encoding"]).ngroups
    if crossed_max_cells is not None and n_cells > crossed_max_cells:
        groups = ("participant",)
        notes = (
            f"{n_cells:,} participant x dataset x encoding cells exceed crossed_max_cells="
            f"{crossed_max_cells:,}: random intercepts for participants only.",
        )
    cells = aggregate_cells(frame, (*groups, "encoding", *COVARIATES))
    result = fit_glmm(cells, f"n_correct ~ {rhs}", groups=groups, trials="n_trials", nagq=nagq)
    return replace(result, notes=(*notes, *result.notes)) if notes else result


def fit_log_rt_lmm(
    trials: pd.DataFrame | TrialTable,
    *,
    reference: str | None = None,
    groups: Sequence[str] = ("participant",),
    reml: bool = True,
    aggregate: bool = True,
) -> LMMResult:
    """log RT ~ encoding (+ covariates) with random intercepts (answered trials only)."""
    frame = _frame(trials)
    answered = frame[frame["log_rt"].notna()]
    if answered.empty:
        raise AnalysisError("every trial timed out: there are no response times to model")
    rhs = encoding_terms(answered, reference)
    data = aggregate_cells(answered, (*groups, "encoding", *COVARIATES)) if aggregate else answered
    return fit_lmm(data, f"log_rt ~ {rhs}", groups=tuple(groups), reml=reml)


def fit_accuracy_gee(
    trials: pd.DataFrame | TrialTable, *, reference: str | None = None
) -> GEEResult:
    """Population-averaged P(correct) ~ encoding, participant clusters, bias-reduced SEs."""
    frame = _frame(trials)
    rhs = encoding_terms(frame, reference)
    cells = aggregate_cells(frame, ("participant", "encoding", *COVARIATES))
    return fit_gee(cells, f"n_correct ~ {rhs}", group="participant", trials="n_trials")
