"""``write_report``: trial table -> report.html plus the same numbers as CSV/JSON and PNGs.

Output folder::

    report.html          self-contained (inline CSS, figures as base64 PNG)
    report.json          every table as records, the config, and seconds per section
    tables/<name>.csv    every table of the report (long ones are only here)
    figures/<name>.png   every figure
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from analysis.errors import AnalysisError
from analysis.measures import SDT_TIMEOUT_RULES, MeasuresResult, compute_measures
from analysis.registry import STATISTICS, statistic_rng
from analysis.report.html import Section, page
from analysis.report.sections import ideal_section, measures_section, sample_section
from analysis.report.statistics import statistic_sections
from analysis.sdt import CORRECTIONS, DEFAULT_CORRECTION
from analysis.trials import TrialOptions, TrialTable, load_trials
from glyphlab import __version__


@dataclass(frozen=True)
class ReportConfig:
    """What the report contains and how it is computed.

    ``stimulus_set``: folder of the stimulus set the trials came from (adds the ideal
    observer); ``crossed_max_cells``: above this many participant x dataset x encoding
    cells the GLMM drops the dataset random intercept; ``seed``: every statistic declared
    ``random`` gets its own stream from it (:func:`analysis.registry.statistic_rng`);
    ``statistics``: the registered statistics to run (default: all; their dependencies
    are run too). Fields named in an entry's ``settings`` are passed to its function.
    """

    title: str = "glyphlab: outlier detection by encoding"
    stimulus_set: Path | None = None
    correction: str = DEFAULT_CORRECTION
    sdt_timeouts: str = "exclude"
    trial_options: TrialOptions = field(default_factory=TrialOptions)
    crossed_max_cells: int = 250_000
    seed: int = 0
    statistics: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.statistics is not None:
            object.__setattr__(self, "statistics", tuple(self.statistics))
            unknown = [name for name in self.statistics if name not in STATISTICS]
            if unknown:
                raise AnalysisError(
                    f"unknown statistic(s) {', '.join(unknown)}; known: {', '.join(STATISTICS)}"
                )
        if self.correction not in CORRECTIONS:
            raise AnalysisError(f"correction must be one of {CORRECTIONS}")
        if self.sdt_timeouts not in SDT_TIMEOUT_RULES:
            raise AnalysisError(f"sdt_timeouts must be one of {SDT_TIMEOUT_RULES}")
        if self.crossed_max_cells < 1:
            raise AnalysisError("crossed_max_cells must be >= 1")
        if self.stimulus_set is not None:
            object.__setattr__(self, "stimulus_set", Path(self.stimulus_set))


@dataclass(frozen=True)
class ReportResult:
    """Where the report went and how long each part took (seconds)."""

    html: Path
    folder: Path
    seconds: dict[str, float]


def _timed(seconds: dict[str, float], name: str, build: Callable[[], Section]) -> Section:
    start = time.perf_counter()
    section = build()
    section.seconds = seconds[name] = time.perf_counter() - start
    return section


def _records(frame: pd.DataFrame) -> list[dict]:
    return json.loads(frame.to_json(orient="records", double_precision=10))


def write_report(
    trials: pd.DataFrame | str | Path | TrialTable,
    out_dir: str | Path,
    config: ReportConfig | None = None,
) -> ReportResult:
    """Analyse ``trials`` and write the report folder ``out_dir`` (created if needed)."""
    config = config or ReportConfig()
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    table = trials if isinstance(trials, TrialTable) else load_trials(trials, config.trial_options)
    seconds["load"] = time.perf_counter() - start
    sections = [_timed(seconds, "sample", lambda: sample_section(table))]
    # Computed once: the figures and the registered "measures" table use the same cells.
    measures: list[MeasuresResult] = []

    def measures_part() -> Section:
        rules = {"correction": config.correction, "sdt_timeouts": config.sdt_timeouts}
        measures.append(compute_measures(table, **rules))
        return measures_section(table, measures=measures[0], **rules)

    existing = {"measures": _timed(seconds, "measures", measures_part)}
    start = time.perf_counter()
    sections += statistic_sections(
        table, config, existing=existing, seconds=seconds, precomputed={"measures": measures[0]}
    )
    seconds["statistics"] = time.perf_counter() - start
    if config.stimulus_set is not None:
        sections.append(
            _timed(
                seconds,
                "ideal",
                lambda: ideal_section(
                    table,
                    config.stimulus_set,
                    config.correction,
                    statistic_rng(config.seed, "ideal_observer"),
                ),
            )
        )
    start = time.perf_counter()
    out = Path(out_dir)
    (out / "tables").mkdir(parents=True, exist_ok=True)
    (out / "figures").mkdir(exist_ok=True)
    studies = ", ".join(sorted(table.trials["study"].unique()))
    subtitle = (
        f"Study {studies} · {len(table.trials):,} analysed trials from "
        f"{table.trials['participant'].nunique():,} participants"
    )
    html_path = out / "report.html"
    html_path.write_text(
        page(config.title, subtitle, sections, f"glyphlab {__version__}"), encoding="utf-8"
    )
    everything: dict[str, list[dict]] = {}
    for section in sections:
        for name, frame in section.tables.items():
            frame.to_csv(out / "tables" / f"{name}.csv", index=False)
            everything[name] = _records(frame)
        for name, png in section.figures.items():
            (out / "figures" / f"{name}.png").write_bytes(png)
    seconds["write"] = time.perf_counter() - start
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()}
    report = {"glyphlab_version": __version__, "config": settings, "seconds": seconds}
    (out / "report.json").write_text(
        json.dumps({**report, "tables": everything}, indent=1, default=str), encoding="utf-8"
    )
    return ReportResult(html_path, out, seconds)
