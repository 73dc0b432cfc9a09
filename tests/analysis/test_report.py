"""The HTML report: complete, self-contained, numbers beside it, notes instead of failures."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.errors import AnalysisError
from analysis.measures import compute_measures
from analysis.registry import STATISTICS, Statistic
from analysis.report import ReportConfig, write_report
from analysis.report import statistics as statistics_module
from analysis.report.sections import ideal_section, measures_section
from analysis.report.statistics import statistic_sections
from analysis.simulate import ModelObserver, SimulationDesign, make_design, simulate_trials
from analysis.trials import load_trials
from tests.analysis.test_ideal_observer import write_set

ENCODINGS = {"gan_face": 2.5, "chernoff": 1.8, "table": 1.2}


def without_images(html: str) -> str:
    """The page without its base64 data (which may spell anything, "NaN" included)."""
    return re.sub(r"base64,[^\"]+", "", html)


def simulated(rng, truth: dict | None = None, **design) -> pd.DataFrame:
    """A small simulated study; ``truth`` (from write_set) fixes the outliers per dataset."""
    settings = {"n_participants": 8, "n_datasets": 6, "encodings": tuple(ENCODINGS), **design}
    observer = ModelObserver.simple(ENCODINGS, criterion=1.0, sensitivity_sd=0.3)
    frame = make_design(SimulationDesign(**settings), rng=rng)
    if truth is not None:
        frame["true_outliers"] = frame["dataset_id"].map(lambda d: truth[d]["outliers"])
    return simulate_trials(frame, observer, rng=rng)


def model_sections(table, **config):
    """The models and contrasts sections of ``table`` under ``ReportConfig(**config)``."""
    by_key = {s.key: s for s in statistic_sections(table, ReportConfig(**config))}
    return by_key["models"], by_key["contrasts"]


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, object]:
    """One full report (with ideal observer) shared by the tests that only read it."""
    rng = np.random.default_rng(7)
    folder = tmp_path_factory.mktemp("report")
    truth = write_set(folder / "set", rng, n_datasets=6, n_items=12)
    trials = simulated(rng, truth)
    trials.loc[trials["participant"] == "P0001", "is_attention_check"] = [True, True] + [False] * (
        (trials["participant"] == "P0001").sum() - 2
    )
    result = write_report(trials, folder / "out", ReportConfig(stimulus_set=folder / "set"))
    return folder / "out", result


def test_report_has_every_section_inline_and_no_nan(report):
    out, result = report
    text = (out / "report.html").read_text()
    for key in ("sample", "measures", "models", "contrasts", "ideal"):
        assert f'id="{key}"' in text
    assert len(re.findall(r'<img src="data:image/png;base64,', text)) == 6
    assert "<link" not in text and 'src="http' not in text  # self-contained
    assert "nan" not in without_images(text).lower()
    assert "Traceback" not in text
    assert "gan_face vs table" in text and "efficiency" in text
    assert set(result.seconds) >= {"load", "sample", "measures", "statistics", "ideal", "write"}
    assert {f"statistic:{name}" for name in STATISTICS} <= set(result.seconds)


def test_numbers_are_written_beside_the_report(report):
    out, _ = report
    tables = {path.stem for path in (out / "tables").glob("*.csv")}
    assert {"encoding_summary", "measures", "trial_counts", "efficiency"} <= tables
    assert {"accuracy_glmm", "log_rt_lmm", "accuracy_gee", "accuracy_contrasts"} <= tables
    assert len(list((out / "figures").glob("*.png"))) == 6
    data = json.loads((out / "report.json").read_text())
    summary = pd.DataFrame(data["tables"]["encoding_summary"])
    dprime = summary[summary["measure"] == "dprime"].set_index("encoding")["mean"]
    assert dprime["gan_face"] > dprime["table"]
    csv = pd.read_csv(out / "tables" / "encoding_summary.csv")
    assert np.allclose(csv["mean"], summary["mean"])


def test_attention_check_failures_show_in_the_sample(report):
    out, _ = report
    participants = pd.read_csv(out / "tables" / "participants.csv")
    assert (
        participants.loc[participants["participant"] == "P0001", "n_attention_checks"].item() == 2
    )


def test_single_encoding_and_perfect_participant_give_notes_not_nan(rng, tmp_path):
    trials = simulated(rng, encodings=("table",), n_participants=4)
    trials = trials.assign(encoding="table")
    first = trials["participant"] == "P0001"
    trials.loc[first, "selected"] = trials.loc[first, "true_outliers"]  # all hits, no FAs
    write_report(trials, tmp_path)
    text = (tmp_path / "report.html").read_text()
    assert "only one encoding (table) was shown" in text
    assert "nan" not in without_images(text).lower()


def test_measures_are_computed_once_per_report_with_its_rules(rng, tmp_path, monkeypatch):
    import functools

    import analysis.measures

    calls = []
    real = analysis.measures.compute_measures

    @functools.wraps(real)  # keeps the signature the registry checks
    def counted(*args, **kwargs):
        calls.append(kwargs.get("correction"))
        return real(*args, **kwargs)

    monkeypatch.setattr(analysis.measures, "compute_measures", counted)
    monkeypatch.setattr("analysis.report.builder.compute_measures", counted)
    monkeypatch.setattr("analysis.report.sections.compute_measures", counted)
    write_report(simulated(rng, n_participants=6), tmp_path, ReportConfig(correction="1/2N"))
    # Figures, the per-participant table and the bootstrap d' differences share one.
    assert calls == ["1/2N"]


def broken(trials, *, crossed_max_cells):
    """Stands in for the accuracy GLMM: a fit that fails on these data."""
    raise AnalysisError("Hessian not positive definite")


def test_a_model_that_fails_becomes_a_note_and_its_dependants_say_why(rng, monkeypatch):
    entry = STATISTICS["accuracy_glmm"]
    fake = Statistic(f"{__name__}:broken", entry.title, entry.section, entry.scale,
                     settings=entry.settings)  # fmt: skip
    monkeypatch.setitem(STATISTICS, "accuracy_glmm", fake)
    models, contrasts = model_sections(load_trials(simulated(rng)))
    text = "".join(models.blocks)
    assert "could not be fitted (Hessian not positive definite)" in text
    assert "accuracy_glmm" not in models.tables and "log_rt_lmm" in models.tables
    # The contrasts come from that one fit, never from a refit of their own.
    assert "accuracy_contrasts" not in contrasts.tables
    assert f"it uses {entry.title}, which could not be computed" in "".join(contrasts.blocks)


def test_large_studies_fall_back_to_participant_terms(rng):
    models, _ = model_sections(load_trials(simulated(rng)), crossed_max_cells=10)
    assert "no dataset random effects" in "".join(models.blocks)
    groups = models.tables["accuracy_glmm_random"]["group"].tolist()
    assert groups == ["participant:encoding", "participant"] or set(groups) == {"participant"}


def test_separated_encodings_are_not_modelled_on_the_log_odds_scale(rng):
    trials = simulated(rng)
    trials.loc[trials["encoding"] == "gan_face", "selected"] = trials["true_outliers"]
    models, contrasts = model_sections(load_trials(trials))
    assert "gan_face had no (or only) correct trials" in "".join(models.blocks)
    assert "accuracy_glmm" not in models.tables and "accuracy_gee" not in models.tables
    assert "dprime_differences" in contrasts.tables


def test_bad_tables_say_what_to_fix(tmp_path):
    with pytest.raises(AnalysisError, match="lacks column"):
        write_report(pd.DataFrame({"participant": ["P1"]}), tmp_path)
    with pytest.raises(AnalysisError, match="correction"):
        ReportConfig(correction="add-one")


@pytest.mark.browser
def test_report_renders_in_chromium_with_every_image(report, browser, tmp_path):
    out, _ = report
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto((out / "report.html").as_uri())
    widths = page.eval_on_selector_all("img", "images => images.map(i => i.naturalWidth)")
    assert len(widths) == 6 and min(widths) > 100
    overflow = page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= 1280
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    page.close()


def test_a_wrong_stimulus_set_becomes_a_note(rng, tmp_path):
    section = ideal_section(load_trials(simulated(rng)), tmp_path, "loglinear", rng)
    assert "The ideal observer could not be run" in "".join(section.blocks)
    assert "stimulus-set folder" in "".join(section.blocks)


def _log_odds_tables(*sections) -> list[pd.DataFrame]:
    names = ("accuracy_glmm", "accuracy_gee", "accuracy_contrasts")
    return [s.tables[n] for s in sections for n in names if n in s.tables]


def test_an_all_wrong_encoding_is_a_note_not_a_table_of_huge_odds_ratios(rng):
    from tests.analysis.factories import simulated_trials

    # 4 participants x 9 datasets: gan_face 0 of 36 correct, the others a handful each.
    frame = simulated_trials(rng, n_participants=4, n_datasets=9, logits=(-2.0, -40, -2.5, -1.5))
    table = load_trials(frame)
    counts = table.trials.groupby("encoding")["correct"].agg(["sum", "size"])
    assert counts.loc["gan_face"].tolist() == [0, 36] and counts["sum"].sum() > 0
    models, contrasts = model_sections(table)
    assert "gan_face had no (or only) correct trials" in "".join(models.blocks)
    assert not _log_odds_tables(models, contrasts)


def test_a_separated_covariate_level_is_a_note_not_a_table(rng):
    from tests.analysis.factories import simulated_trials

    frame = simulated_trials(rng, n_participants=6, n_datasets=9)
    sequence = frame["dataset_id"].isin(["d00", "d01", "d02"])
    frame.loc[sequence, "layout"] = "sequence"  # every sequence trial wrong
    wrong = frame.loc[sequence, "true_outliers"].map(lambda t: [(t[0] + 1) % 9])
    frame.loc[sequence, "selected"] = wrong
    models, contrasts = model_sections(load_trials(frame))
    blocks = "".join(models.blocks)
    assert "participant x encoding variability: an estimate is not" in blocks
    for shown in _log_odds_tables(models, contrasts):
        assert (shown["se"] < 10).all() and (shown["estimate"].abs() < 10).all()


def test_extreme_log_odds_are_a_note_but_log_rt_is_not(rng, monkeypatch):
    monkeypatch.setattr(statistics_module, "MAX_LOG_ODDS", 0.01)  # any estimate is "huge"
    models, _ = model_sections(load_trials(simulated(rng)))
    assert "|estimate| &gt;= 0.01 on the log-odds scale" in "".join(models.blocks)
    assert "accuracy_glmm" not in models.tables and "log_rt_lmm" in models.tables


@pytest.mark.parametrize("correction", ["loglinear", "none"])
def test_cells_without_a_finite_dprime_are_explained(rng, correction):
    # A participant who saw no target-present trials has no hit rate, so no d' (NaN, left
    # out of the mean); under correction "none" a perfect one has d' = inf. Both say why.
    trials = simulated(rng, encodings=("table", "chernoff"), n_participants=3)
    first = trials["participant"] == "P0001"
    trials["true_outliers"] = [
        [] if absent else truth
        for absent, truth in zip(first, trials["true_outliers"], strict=True)
    ]
    second = trials["participant"] == "P0002"
    trials.loc[second, "selected"] = trials.loc[second, "true_outliers"]
    table = load_trials(trials)
    text = "".join(measures_section(table, correction).blocks)
    assert compute_measures(table, correction=correction).table["dprime"].isna().sum() == 2
    assert "2 participant cell(s) have no d′ or c" in text
    assert ("have an infinite d′" in text) == (correction == "none")


def test_a_panel_with_no_values_says_so_instead_of_showing_empty_axes(monkeypatch):
    from analysis.report import plots

    monkeypatch.setattr(plots, "_png", lambda figure: figure)  # keep the figure to read
    summary = pd.DataFrame(
        {
            "response_mode": ["mark_outliers", "mark_outliers", "yes_no", "yes_no"],
            "encoding": ["plot", "table", "plot", "table"],
            "measure": "dprime",
            "n": [12, 12, 0, 0],
            "mean": [1.7, 1.4, np.nan, np.nan],
            "ci_low": [1.2, 0.9, np.nan, np.nan],
            "ci_high": [2.3, 1.8, np.nan, np.nan],
        }
    )
    figure = plots.means_with_ci(summary, "dprime", plots.colours(["plot", "table"]))
    with_values, without = figure.axes
    assert [t.get_text() for t in with_values.texts] == []
    assert [t.get_text() for t in without.texts] == [
        "no d′ (sensitivity) in this mode\n(see the notes above)"
    ]
