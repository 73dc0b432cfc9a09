"""The statistic registry: name -> :class:`Statistic`, whose function is imported only when run.

Every function takes the analysed trials (a :class:`analysis.trials.TrialTable`) and returns
a frozen result with ``.to_frame()`` and ``.summary()`` (and, to choose what the report
shows, ``.to_summary()``: see :mod:`analysis.summary`). The entry declares everything the
report needs, so the report never asks for a statistic by name:

- ``title`` and ``section`` (a key of :data:`analysis.report.statistics.SECTIONS`);
- ``scale`` (a key of :data:`SCALES`): log-odds estimates are not fitted when an encoding
  has no or only correct trials, and a scale may add an exp(estimate) column;
- ``random``: the function takes ``rng`` keyword-only; the report passes one derived
  from its seed and the statistic's name (:func:`statistic_rng`);
- ``depends``: keyword argument -> statistic whose result is passed in (computed first,
  and the dependant is skipped with a note when it could not be computed);
- ``settings``: names of :class:`analysis.report.ReportConfig` fields passed as keyword
  arguments of the same name.

A new statistic is one module and one line here; lazy strings keep ``import analysis``
free of scipy and statsmodels.
"""

from __future__ import annotations

import importlib
import inspect
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analysis.errors import AnalysisError


@dataclass(frozen=True)
class Scale:
    """What a statistic's estimates are: ``log_odds`` ones diverge under separation;
    ``ratio`` names the exp(estimate) column the report adds to its term tables."""

    label: str
    log_odds: bool = False
    ratio: str | None = None


SCALES: dict[str, Scale] = {
    "log_odds": Scale("log odds (odds ratio > 1 favours the named encoding)", log_odds=True),
    "log_rt": Scale("log RT (rt_ratio < 1 means faster)", ratio="rt_ratio"),
    "dprime": Scale("d′ (sensitivity)"),
    "measures": Scale("rates, d′, c and RT per participant cell"),
}


@dataclass(frozen=True)
class Statistic:
    """One registry entry: ``target`` is ``"module:function"``; the rest is described above."""

    target: str
    title: str
    section: str
    scale: str
    random: bool = False
    depends: Mapping[str, str] = field(default_factory=dict)
    settings: tuple[str, ...] = ()

    def function(self) -> Callable[..., Any]:
        module, attribute = self.target.split(":")
        return getattr(importlib.import_module(module), attribute)


STATISTICS: dict[str, Statistic] = {
    "measures": Statistic(
        "analysis.measures:compute_measures",
        "Measures per participant cell",
        section="measures",
        scale="measures",
        settings=("correction", "sdt_timeouts"),
    ),
    "accuracy_glmm": Statistic(
        "analysis.models.study:fit_accuracy_glmm",
        "Accuracy: logistic GLMM (ML, Laplace), participant x encoding variability",
        section="models",
        scale="log_odds",
        settings=("crossed_max_cells",),
    ),
    "accuracy_contrasts": Statistic(
        "analysis.contrasts:accuracy_contrasts",
        "Pairwise encoding contrasts of the GLMM (Holm-adjusted p)",
        section="contrasts",
        scale="log_odds",
        depends={"glmm": "accuracy_glmm"},
    ),
    "dprime_differences": Statistic(
        "analysis.contrasts:participant_dprime_differences",
        "Pairwise d′ differences, bootstrap CIs over participants",
        section="contrasts",
        scale="dprime",
        random=True,
        depends={"measures": "measures"},
    ),
    "log_rt_lmm": Statistic(
        "analysis.models.study:fit_log_rt_lmm",
        "Speed: trial-level linear mixed model of log RT (REML), crossed effects",
        section="models",
        scale="log_rt",
    ),
    "accuracy_gee": Statistic(
        "analysis.models.study:fit_accuracy_gee",
        "Accuracy: GEE logistic, participant clusters (robustness check)",
        section="models",
        scale="log_odds",
    ),
}


def get_statistic(name: str) -> Statistic:
    """The entry registered under ``name``."""
    if name not in STATISTICS:
        raise AnalysisError(f"unknown statistic {name!r}; known: {', '.join(STATISTICS)}")
    return STATISTICS[name]


def check_declaration(name: str) -> None:
    """Raise if the function's signature disagrees with what its entry declares.

    Why: an undeclared ``rng`` (or dependency, or setting) would pass a test that calls the
    function directly and then fail inside ``write_report``.
    """
    entry = get_statistic(name)
    parameters = inspect.signature(entry.function()).parameters
    if entry.random != ("rng" in parameters):
        state = "takes" if "rng" in parameters else "does not take"
        raise AnalysisError(
            f"statistic {name!r} {state} rng but its entry says random={entry.random}"
        )
    if entry.scale not in SCALES:
        raise AnalysisError(f"statistic {name!r}: unknown scale {entry.scale!r}")
    for keyword in (*entry.depends, *entry.settings):
        if keyword not in parameters:
            raise AnalysisError(f"statistic {name!r} declares {keyword!r}, not a parameter")
    unknown = [d for d in entry.depends.values() if d not in STATISTICS]
    if unknown:
        raise AnalysisError(f"statistic {name!r} depends on unknown {', '.join(unknown)}")


def in_order(names: Iterable[str]) -> list[str]:
    """``names`` and what they depend on, each after its dependencies (registry order)."""
    done: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            raise AnalysisError(f"statistics depend on each other: {' -> '.join((*path, name))}")
        for dependency in get_statistic(name).depends.values():
            visit(dependency, (*path, name))
        if name not in done:
            done.append(name)

    for name in names:
        visit(name, ())
    return done


def statistic_rng(seed: int, name: str) -> np.random.Generator:
    """The stream of ``name`` under ``seed``: independent of what else is registered."""
    key = zlib.crc32(name.encode())
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(key,)))


def run_statistic(
    name: str, trials: Any, *, rng: np.random.Generator | None = None, **keywords: Any
) -> Any:
    """Run one registered statistic; ``rng`` goes to those declared ``random`` (and is
    required there); ``keywords`` are its dependencies' results and settings."""
    entry = get_statistic(name)
    check_declaration(name)
    if entry.random:
        if rng is None:
            raise AnalysisError(f"statistic {name!r} draws random numbers: pass rng=")
        keywords["rng"] = rng
    return entry.function()(trials, **keywords)
