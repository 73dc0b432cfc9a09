"""The statistic sections: every entry of :data:`analysis.registry.STATISTICS`, one way.

Why one generic path: a new statistic is one module and one registry line, and it
appears in the report without touching this file. What differs between statistics is
declared by the entry (title, section, scale, ``random``, dependencies, settings: see
:mod:`analysis.registry`) or handed over by the result as a :class:`analysis.summary.Summary`
(tables and notes); nothing here asks for a statistic by name.

API (for :func:`analysis.report.builder.write_report` and tests)::

    statistic_sections(table, config, existing={"measures": section}) -> [Section, ...]

runs the entries in ``config.statistics`` (default: all) after their dependencies and
lays each out in its section: heading (title), scale, tables (a ``term`` column is
prettified, Wald ``z`` dropped, a scale's ratio column added), then notes. Tables with
more than :data:`MAX_ROWS_SHOWN` rows are written to ``tables/`` only.

Every fit runs under :func:`_attempt`: an error the data cause, a non-converged fit, a
non-identified estimate (SE > :data:`MAX_SE`, or on the log-odds scale an estimate beyond
:data:`MAX_LOG_ODDS`, i.e. near-separation) or a library warning becomes a note in the
section; the report never shows a traceback, a NaN table or odds ratios of 1e10.
"""

from __future__ import annotations

import html
import re
import time
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analysis.errors import AnalysisError
from analysis.registry import (
    SCALES,
    STATISTICS,
    Statistic,
    check_declaration,
    get_statistic,
    in_order,
    run_statistic,
    statistic_rng,
)
from analysis.report.html import Section
from analysis.summary import summary_of
from analysis.trials import TrialTable

if TYPE_CHECKING:
    from analysis.report.builder import ReportConfig

#: What a fit may raise on data it cannot handle; the section shows a note instead.
FIT_ERRORS = (AnalysisError, np.linalg.LinAlgError, ValueError, FloatingPointError)
#: An SE above this means the estimate is not identified (near-separation).
MAX_SE = 10.0
#: So does a log-odds estimate beyond this (odds ratio > 22,000), whatever its SE.
MAX_LOG_ODDS = 10.0
#: Longer tables go to tables/<name>.csv only; the page says where.
MAX_ROWS_SHOWN = 20
#: The sections a statistic may name: key -> (title, lead), in page order.
SECTIONS: dict[str, tuple[str, str]] = {
    "measures": ("Measures per encoding", ""),
    "models": (
        "Mixed models",
        "Encodings are treatment-coded against the table encoding (when shown); layout and "
        "response mode enter as covariates when they vary. Accuracy estimates are log-odds "
        "(odds ratio > 1 favours the named encoding); RT estimates are on log RT "
        "(rt_ratio < 1 means faster). 95% Wald CIs.",
    ),
    "contrasts": ("Pairwise contrasts between encodings", ""),
}


def pretty_term(term: str) -> str:
    """``C(encoding, Treatment(reference='table'))[T.gan_face]`` -> ``gan_face vs table``."""
    match = re.match(r"C\((\w+), Treatment\(reference='([^']+)'\)\)\[T\.(.+)\]", term)
    if match:
        return f"{match.group(3)} vs {match.group(2)}"
    match = re.match(r"(\w+)\[T\.(.+)\]", term)
    if match:
        return f"{match.group(1)}: {match.group(2)}"
    return "intercept" if term == "Intercept" else term


def _attempt(section: Section, entry: Statistic, fit: Callable[[], Any]) -> Any | None:
    """Run ``fit``; on failure add a note and return None. Warnings become notes too."""
    title = entry.title
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
    params = getattr(result, "params", None) if SCALES[entry.scale].log_odds else None
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


def _shown(frame: pd.DataFrame, entry: Statistic) -> pd.DataFrame:
    """A term table as the report keeps it: readable terms, the scale's ratio, no Wald z."""
    if "term" not in frame.columns:
        return frame
    frame = frame.assign(term=frame["term"].map(pretty_term)).drop(columns="z", errors="ignore")
    ratio = SCALES[entry.scale].ratio
    if ratio and "estimate" in frame.columns:
        # exp(intercept) would be a baseline in ms, not a ratio: left empty.
        values = np.exp(frame["estimate"].to_numpy(dtype=float))
        frame[ratio] = np.where(frame["term"] == "intercept", np.nan, values)
    return frame


def _render(section: Section, name: str, entry: Statistic, result: Any) -> None:
    """Lay out one result's :class:`~analysis.summary.Summary` in ``section``."""
    summary = summary_of(result)
    for part in summary.tables:
        if part.frame.empty:
            continue
        table_name = f"{name}_{part.suffix}" if part.suffix else name
        if part.title:
            section.blocks.append(f'<p class="lead">{html.escape(part.title)}</p>')
        frame = _shown(part.frame, entry)
        if len(frame) > MAX_ROWS_SHOWN:
            section.tables[table_name] = frame
            section.blocks.append(
                f'<p class="lead">{len(frame):,} rows: see tables/{html.escape(table_name)}.csv.'
                "</p>"
            )
        else:
            section.table(table_name, frame)
    if not any(not part.frame.empty for part in summary.tables) and not summary.notes:
        section.note("nothing to show")
    for note in summary.notes:
        section.blocks.append(f'<p class="lead">{html.escape(note)}</p>')


def _separated(trials: pd.DataFrame) -> list[str]:
    """Encodings with no or only correct trials (their log-odds are infinite)."""
    counts = trials.groupby("encoding")["correct"].agg(["sum", "size"])
    return sorted(counts.index[(counts["sum"] == 0) | (counts["sum"] == counts["size"])])


def _skip_reason(entry: Statistic, separated: list[str], results: Mapping[str, Any]) -> str:
    """Why ``entry`` is not run on these trials ("" when it is)."""
    if SCALES[entry.scale].log_odds and separated:
        return (
            f"not fitted: {', '.join(separated)} had no (or only) correct trials, so its "
            "log-odds are infinite (separation); see the measures (corrected rates)."
        )
    missing = [d for d in entry.depends.values() if results.get(d) is None]
    if missing:
        titles = "; ".join(get_statistic(d).title for d in missing)
        return f"not computed: it uses {titles}, which could not be computed."
    return ""


def statistic_sections(
    table: TrialTable,
    config: ReportConfig,
    *,
    existing: Mapping[str, Section] | None = None,
    seconds: dict[str, float] | None = None,
    precomputed: Mapping[str, Any] | None = None,
) -> list[Section]:
    """Run the configured statistics and lay them out; returns the sections used, in
    :data:`SECTIONS` order, reusing ``existing`` ones (e.g. the measures section) by key
    and ``precomputed`` results by name (computed with this config's settings: the
    report's measures, which its figures already needed), which are laid out, not rerun.

    ``seconds`` (if given) receives ``statistic:<name>`` wall times.
    """
    names = in_order(config.statistics if config.statistics is not None else STATISTICS)
    for name in names:  # a mis-declared entry is a bug: it fails the report, not a note
        check_declaration(name)
        if get_statistic(name).section not in SECTIONS:
            raise AnalysisError(
                f"statistic {name!r}: unknown report section {get_statistic(name).section!r}; "
                f"known: {', '.join(SECTIONS)}"
            )
    sections = dict(existing or {})
    for key in {get_statistic(name).section for name in names} - sections.keys():
        title, lead = SECTIONS[key]
        sections[key] = Section(key, title, lead)
    trials = table.trials
    if "models" in sections and trials["encoding"].nunique() < 2:
        sections["models"].note(
            f"only one encoding ({trials['encoding'].iloc[0]}) was shown: the models below "
            "estimate no encoding effect."
        )
    separated = _separated(trials)
    results: dict[str, Any] = {}
    for name in names:
        entry = get_statistic(name)
        section = sections[entry.section]
        section.heading(entry.title)
        reason = _skip_reason(entry, separated, results)
        if reason:
            section.note(reason)
            results[name] = None
            continue
        keywords = {k: results[d] for k, d in entry.depends.items()}
        keywords.update({s: getattr(config, s) for s in entry.settings})
        rng = statistic_rng(config.seed, name) if entry.random else None
        start = time.perf_counter()
        if precomputed and name in precomputed:
            results[name] = precomputed[name]
        else:
            results[name] = _attempt(
                section,
                entry,
                lambda n=name, k=keywords, r=rng: run_statistic(n, table, rng=r, **k),
            )
        if seconds is not None:
            seconds[f"statistic:{name}"] = time.perf_counter() - start
        if results[name] is not None:
            section.blocks.append(
                f'<p class="lead">Scale: {html.escape(SCALES[entry.scale].label)}.</p>'
            )
            _render(section, name, entry, results[name])
    return [sections[key] for key in SECTIONS if key in sections]
