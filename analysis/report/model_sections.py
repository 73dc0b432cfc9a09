"""Model and contrast sections: every statistic in :data:`analysis.registry.STATISTICS`.

Why through the registry: a new statistic is one module and one registry line, and it
appears in the report without touching this file (the generic renderer shows its
``to_frame()``). Known entries get a richer rendering (random effects, fit statistics).

Every fit runs under :func:`_attempt`: an error the data cause, a non-converged fit, a
non-identified estimate (log-odds SE > :data:`MAX_SE` or estimate beyond
:data:`MAX_LOG_ODDS`, i.e. near-separation) or a library warning becomes a note in the
section; the report never shows a traceback, a NaN table or odds ratios of 1e10.
Large studies: above ``crossed_max_cells`` participant x dataset x encoding cells, the
accuracy GLMM keeps only the participant random intercept (its likelihood then runs on
participant x encoding counts, so it stays fast) and the report says so.
"""

from __future__ import annotations

import html
import re
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

from analysis.errors import AnalysisError
from analysis.registry import STATISTICS, get_statistic
from analysis.report.html import Section
from analysis.trials import TrialTable

#: What a fit may raise on data it cannot handle; the section shows a note instead.
FIT_ERRORS = (AnalysisError, np.linalg.LinAlgError, ValueError, FloatingPointError)
#: A log-odds SE above this means the estimate is not identified (near-separation).
MAX_SE = 10.0
#: So does a log-odds estimate beyond this (odds ratio > 22,000), whatever its SE.
MAX_LOG_ODDS = 10.0
TITLES = {
    "accuracy_glmm": "Accuracy: logistic GLMM (ML, Laplace), random intercepts",
    "log_rt_lmm": "Speed: linear mixed model of log RT (REML)",
    "accuracy_gee": "Accuracy: GEE logistic, participant clusters (robustness check)",
    "accuracy_contrasts": "Pairwise encoding contrasts of the GLMM (Holm-adjusted p)",
    "dprime_differences": "Pairwise d′ differences, bootstrap CIs over participants",
}
LOG_ODDS = {"accuracy_glmm", "accuracy_gee", "accuracy_contrasts"}


def pretty_term(term: str) -> str:
    """``C(encoding, Treatment(reference='table'))[T.gan_face]`` -> ``gan_face vs table``."""
    match = re.match(r"C\((\w+), Treatment\(reference='([^']+)'\)\)\[T\.(.+)\]", term)
    if match:
        return f"{match.group(3)} vs {match.group(2)}"
    match = re.match(r"(\w+)\[T\.(.+)\]", term)
    if match:
        return f"{match.group(1)}: {match.group(2)}"
    return "intercept" if term == "Intercept" else term


def _attempt(
    section: Section, title: str, fit: Callable[[], object], *, log_odds: bool = False
) -> object | None:
    """Run ``fit``; on failure add a note and return None. Warnings become notes too.

    ``log_odds``: the estimates are log-odds, so one beyond :data:`MAX_LOG_ODDS` also
    means separation (not for log RT, whose intercept can exceed it).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = fit()
        except FIT_ERRORS as error:
            section.note(f"{title}: could not be fitted ({error}).")
            return None
    for message in sorted({str(w.message).splitlines()[0] for w in caught}):
        section.note(f"{title}: the fitting library warned: {message}")
    if getattr(result, "converged", True) is False:
        section.note(f"{title}: did not converge; estimates are not shown.")
        return None
    bse = getattr(result, "bse", None)
    params = getattr(result, "params", None) if log_odds else None
    if (bse is not None and not np.all(np.asarray(bse) < MAX_SE)) or (
        params is not None and not np.all(np.abs(np.asarray(params)) < MAX_LOG_ODDS)
    ):
        section.note(
            f"{title}: an estimate is not identified (SE >= {MAX_SE:g} or |estimate| >= "
            f"{MAX_LOG_ODDS:g} on the log-odds scale); check for an encoding, layout or "
            "response mode with (almost) all-correct or all-wrong trials (separation)."
        )
        return None
    return result


def _fixed(result, name: str) -> pd.DataFrame:
    frame = result.to_frame()
    frame["term"] = frame["term"].map(pretty_term)
    if name == "log_rt_lmm":
        frame["rt_ratio"] = np.exp(frame["estimate"])
    return frame.drop(columns=[c for c in ("z",) if c in frame.columns])


def _render(section: Section, name: str, result) -> None:
    """Tables of one statistic's result."""
    if hasattr(result, "fixed_names"):
        section.table(name, _fixed(result, name))
        if hasattr(result, "random_frame"):
            section.table(f"{name}_random", result.random_frame())
        stats = {k: getattr(result, k) for k in ("loglik", "aic", "nobs") if hasattr(result, k)}
        if stats:
            section.table(f"{name}_fit", pd.DataFrame([stats]))
    else:
        frame = result.to_frame()
        if frame.empty:
            section.note(getattr(result, "note", "") or "nothing to show")
            return
        section.table(name, frame)
    for note in [getattr(result, "note", ""), *getattr(result, "notes", ())]:
        if note:
            section.blocks.append(f'<p class="lead">{html.escape(note)}</p>')


def _separated(trials: pd.DataFrame) -> list[str]:
    """Encodings with no or only correct trials (their log-odds are infinite)."""
    counts = trials.groupby("encoding")["correct"].agg(["sum", "size"])
    return sorted(counts.index[(counts["sum"] == 0) | (counts["sum"] == counts["size"])])


def model_sections(
    table: TrialTable, *, crossed_max_cells: int, rng: np.random.Generator
) -> list[Section]:
    """The "Mixed models" and "Contrasts" sections, one block per registered statistic."""
    trials = table.trials
    models = Section(
        "models",
        "Mixed models",
        "Encodings are treatment-coded against the table encoding (when shown); layout and "
        "response mode enter as covariates when they vary. Accuracy estimates are log-odds "
        "(odds ratio > 1 favours the named encoding); RT estimates are on log RT "
        "(rt_ratio < 1 means faster). 95% Wald CIs.",
    )
    contrasts = Section("contrasts", "Pairwise contrasts between encodings")
    if trials["encoding"].nunique() < 2:
        models.note(
            f"only one encoding ({trials['encoding'].iloc[0]}) was shown: the models below "
            "estimate no encoding effect."
        )
    separated = _separated(trials)
    cells = trials.groupby(["participant", "dataset_id", "encoding"]).ngroups
    fitted: dict[str, object] = {}
    for name in STATISTICS:
        if name == "measures":
            continue  # the measures section shows these
        section = contrasts if "contrast" in name or "differences" in name else models
        title = TITLES.get(name, name.replace("_", " "))
        section.heading(title)
        if name in LOG_ODDS and separated:
            section.note(
                f"not fitted: {', '.join(separated)} had no (or only) correct trials, so its "
                "log-odds are infinite (separation); see the measures (corrected rates)."
            )
            continue
        function = get_statistic(name)
        kwargs: dict = {}
        if name == "accuracy_glmm" and cells > crossed_max_cells:
            kwargs["groups"] = ("participant",)
            section.note(
                f"{cells:,} participant x dataset x encoding cells exceed crossed_max_cells="
                f"{crossed_max_cells:,}: random intercepts for participants only."
            )
        if name == "accuracy_contrasts" and "accuracy_glmm" in fitted:
            kwargs["glmm"] = fitted["accuracy_glmm"]
        if name == "dprime_differences":
            kwargs["rng"] = rng
        result = _attempt(
            section, title, lambda f=function, k=kwargs: f(table, **k), log_odds=name in LOG_ODDS
        )
        if result is not None:
            fitted[name] = result
            _render(section, name, result)
    return [models, contrasts]
