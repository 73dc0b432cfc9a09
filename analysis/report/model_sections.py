"""Model sections of the report: the logistic GLMM per response mode (and what C adds).

Why per response mode: "correct" means different things in mark_outliers and m_afc, so
encodings are compared within a mode. Why the fallback: the crossed model
(participant + dataset random intercepts) is fitted on binomial counts per participant x
dataset x encoding, which for a large study is as many rows as trials; above
``ReportConfig.crossed_max_cells`` the report fits the participant-only model on
participant x encoding counts (exactly the same likelihood for that model, so fast) and
says so. A model that cannot be fitted or does not converge becomes a note.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from analysis.errors import AnalysisError
from analysis.models.glmm import fit_glmm
from analysis.report.html import Section

#: What a model fit may raise on data it cannot handle; the section shows a note instead.
FIT_ERRORS = (AnalysisError, np.linalg.LinAlgError, ValueError, FloatingPointError)
#: A log-odds SE above this means the estimate is not identified (near-separation).
MAX_SE = 10.0


def reference_encoding(encodings) -> str:
    """The baseline of encoding contrasts: ``table`` when shown (the usual display)."""
    names = sorted(encodings)
    return "table" if "table" in names else names[0]


def pretty_term(term: str) -> str:
    """``C(encoding, Treatment(reference='table'))[T.gan_face]`` -> ``gan_face vs table``."""
    match = re.match(r"C\((\w+), Treatment\(reference='([^']+)'\)\)\[T\.(.+)\]", term)
    if match:
        return f"{match.group(3)} vs {match.group(2)}"
    return "intercept (baseline log-odds)" if term == "Intercept" else term


def encoding_formula(response: str, encodings) -> str:
    return f"{response} ~ C(encoding, Treatment(reference='{reference_encoding(encodings)}'))"


def glmm_block(section: Section, trials: pd.DataFrame, mode: str, max_cells: int) -> None:
    """Fit correct ~ encoding with random intercepts; add its tables (or a note)."""
    crossed = trials.groupby(["participant", "dataset_id", "encoding"], sort=True)
    groups: tuple[str, ...] = ("participant", "dataset_id")
    if crossed.ngroups > max_cells:
        cells = trials.groupby(["participant", "encoding"], sort=True)
        groups = ("participant",)
        section.note(
            f"{mode}: {crossed.ngroups:,} participant x dataset x encoding cells exceed "
            f"crossed_max_cells={max_cells:,}; fitted random intercepts for participants only "
            "(on participant x encoding counts)."
        )
    else:
        cells = crossed
    counts = cells.agg(n_correct=("correct", "sum"), n_trials=("correct", "size")).reset_index()
    per_encoding = counts.groupby("encoding")[["n_correct", "n_trials"]].sum()
    correct = per_encoding["n_correct"]
    extreme = per_encoding[(correct == 0) | (correct == per_encoding["n_trials"])]
    if len(extreme):
        section.note(
            f"{mode}: no GLMM: {', '.join(extreme.index)} had no (or only) correct trials, so "
            "its log-odds are infinite (separation). The measures above use corrected rates."
        )
        return
    formula = encoding_formula("n_correct", counts["encoding"].unique())
    try:
        result = fit_glmm(counts, formula, groups=groups, trials="n_trials")
    except FIT_ERRORS as error:
        section.note(f"{mode}: the GLMM could not be fitted ({error}).")
        return
    if not result.converged or not np.all(result.bse < MAX_SE):
        section.note(
            f"{mode}: the GLMM did not converge or its estimates are not identified "
            f"({result.message}); they are not shown. Check for an encoding with (almost) "
            "all-correct or all-wrong trials."
        )
        return
    fixed = result.to_frame()
    fixed.insert(0, "response_mode", mode)
    fixed["term"] = fixed["term"].map(pretty_term)
    random = result.random_frame().assign(response_mode=mode)
    fit = pd.DataFrame(
        [{"response_mode": mode, "model": "GLMM (Laplace)", "random": " + ".join(groups),
          "logLik": result.loglik, "AIC": result.aic, "rows": result.nobs}]
    )  # fmt: skip
    section.heading(f"{mode}: logistic GLMM of trial correct (ML, Laplace)")
    section.table(f"glmm_fixed_{mode}", fixed.drop(columns=["response_mode", "z"]))
    section.table(f"glmm_random_{mode}", random[["group", "sd", "n_levels"]])
    section.table(f"glmm_fit_{mode}", fit.drop(columns="response_mode"))


def models_section(trials: pd.DataFrame, *, crossed_max_cells: int) -> Section:
    section = Section(
        "models",
        "Mixed models",
        "Log-odds of a fully correct trial by encoding (baseline: "
        f"{reference_encoding(trials['encoding'].unique())}); odds ratios > 1 favour the "
        "named encoding. Random intercepts for participants and datasets; 95% Wald CIs.",
    )
    for mode, block in trials.groupby("response_mode", sort=True):
        if block["encoding"].nunique() < 2:
            section.note(
                f"{mode}: only one encoding ({block['encoding'].iloc[0]}) was shown, so there "
                "is no encoding effect to model."
            )
            continue
        glmm_block(section, block, mode, crossed_max_cells)
    return section
