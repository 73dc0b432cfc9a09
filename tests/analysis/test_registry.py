"""Every registered statistic runs on a small study, alone and through ``write_report``.

Why through ``write_report``: a statistic whose entry does not match its function (an
undeclared ``rng``, a dependency or setting it does not take, an unknown section) must
fail here, not in a researcher's report.
"""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

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
from analysis.report import ReportConfig, write_report
from analysis.report.statistics import SECTIONS
from analysis.trials import load_trials
from tests.analysis.factories import simulated_trials
from tests.analysis.plugins import bootstrap_accuracy

#: What the report says when a statistic did not make it onto the page.
FAILURES = ("could not be fitted", "did not converge", "not identified", "not computed")


@pytest.fixture(scope="module")
def small_study():
    return load_trials(simulated_trials(np.random.default_rng(5), n_participants=8, n_datasets=4))


def _dependencies(name, study, rng) -> dict:
    return {k: run_statistic(d, study, rng=rng) for k, d in get_statistic(name).depends.items()}


@pytest.mark.parametrize("name", list(STATISTICS))
def test_registered_statistic_contract(name, small_study, rng):
    entry = get_statistic(name)
    check_declaration(name)
    assert entry.section in SECTIONS and entry.scale in SCALES
    result = run_statistic(name, small_study, rng=rng, **_dependencies(name, small_study, rng))
    frame = result.to_frame()
    assert isinstance(frame, pd.DataFrame) and not frame.empty
    assert isinstance(result.summary(), str) and result.summary()
    # Documented NaN: criterion c is not defined for m-AFC (this study's mode).
    numbers = frame.select_dtypes("number").drop(columns=["criterion"], errors="ignore")
    assert not numbers.isna().any().any()


@pytest.mark.parametrize("name", list(STATISTICS))
def test_registered_statistic_goes_through_write_report(name, small_study, tmp_path, seed):
    entry = get_statistic(name)
    write_report(small_study, tmp_path, ReportConfig(statistics=(name,), seed=seed))
    html = (tmp_path / "report.html").read_text()
    tables = json.loads((tmp_path / "report.json").read_text())["tables"]
    assert entry.title in html
    assert tables[name] and (tmp_path / "tables" / f"{name}.csv").is_file()
    section = html.split(f"<h3>{entry.title}</h3>")[1].split("<h3>")[0]
    assert not [failure for failure in FAILURES if failure in section]


def test_a_test_only_random_statistic_runs_end_to_end(small_study, tmp_path, seed, monkeypatch):
    """Registered from here (one entry, one scale); the report gives it its own stream."""
    monkeypatch.setitem(STATISTICS, bootstrap_accuracy.NAME, bootstrap_accuracy.ENTRY)
    monkeypatch.setitem(SCALES, *bootstrap_accuracy.SCALE)
    check_declaration(bootstrap_accuracy.NAME)
    frames = []
    for run, report_seed in enumerate((seed, seed, seed + 1)):
        config = ReportConfig(statistics=(bootstrap_accuracy.NAME,), seed=report_seed)
        write_report(small_study, tmp_path / str(run), config)
        frames.append(
            pd.read_csv(tmp_path / str(run) / "tables" / f"{bootstrap_accuracy.NAME}.csv")
        )
    html = (tmp_path / "0" / "report.html").read_text()
    assert bootstrap_accuracy.ENTRY.title in html
    assert "200 resamples of participants" in html and 'id="contrasts"' in html
    direct = bootstrap_accuracy.bootstrap_accuracy(
        small_study, rng=statistic_rng(seed, bootstrap_accuracy.NAME)
    ).to_frame()
    pd.testing.assert_frame_equal(frames[0], direct, check_exact=False)
    pd.testing.assert_frame_equal(frames[0], frames[1])  # same seed, same report
    assert not np.allclose(frames[0]["ci_low"], frames[2]["ci_low"])  # another seed
    assert (frames[0]["ci_low"] <= frames[0]["accuracy"]).all()
    assert (frames[0]["accuracy"] <= frames[0]["ci_high"]).all()


def test_an_undeclared_rng_fails_the_contract_and_the_report(small_study, tmp_path, monkeypatch):
    sneaky = Statistic(bootstrap_accuracy.ENTRY.target, "Sneaky", "contrasts", "dprime")
    monkeypatch.setitem(STATISTICS, "sneaky", sneaky)
    with pytest.raises(AnalysisError, match="takes rng but its entry says random=False"):
        check_declaration("sneaky")
    with pytest.raises(AnalysisError, match="takes rng but its entry says random=False"):
        write_report(small_study, tmp_path, ReportConfig(statistics=("sneaky",)))
    assert not (tmp_path / "report.html").exists()


def test_bad_declarations_say_what_is_wrong(monkeypatch, small_study, tmp_path):
    glmm = get_statistic("accuracy_glmm")
    monkeypatch.setitem(STATISTICS, "no_setting", Statistic(glmm.target, "x", "models", "log_odds",
                                                            settings=("alpha",)))  # fmt: skip
    with pytest.raises(AnalysisError, match="declares 'alpha', not a parameter"):
        check_declaration("no_setting")
    monkeypatch.setitem(
        STATISTICS, "elsewhere", Statistic(glmm.target, "x", "appendix", "log_odds")
    )
    with pytest.raises(AnalysisError, match="unknown report section 'appendix'"):
        write_report(small_study, tmp_path, ReportConfig(statistics=("elsewhere",)))
    monkeypatch.setitem(STATISTICS, "odd_scale", Statistic(glmm.target, "x", "models", "furlongs"))
    with pytest.raises(AnalysisError, match="unknown scale 'furlongs'"):
        check_declaration("odd_scale")
    with pytest.raises(AnalysisError, match="unknown statistic"):
        ReportConfig(statistics=("anova",))


def test_dependencies_come_first_and_cycles_are_refused(monkeypatch):
    assert in_order(["accuracy_contrasts"]) == ["accuracy_glmm", "accuracy_contrasts"]
    assert in_order(STATISTICS).index("accuracy_glmm") < in_order(STATISTICS).index(
        "accuracy_contrasts"
    )
    monkeypatch.setitem(
        STATISTICS, "a", Statistic("m:f", "a", "models", "dprime", depends={"x": "b"})
    )
    monkeypatch.setitem(
        STATISTICS, "b", Statistic("m:f", "b", "models", "dprime", depends={"x": "a"})
    )
    with pytest.raises(AnalysisError, match="depend on each other: a -> b -> a"):
        in_order(["a"])


def test_streams_are_per_statistic_and_reproducible():
    first = statistic_rng(3, "dprime_differences").random(4)
    assert np.array_equal(first, statistic_rng(3, "dprime_differences").random(4))
    assert not np.array_equal(first, statistic_rng(3, "other").random(4))
    assert not np.array_equal(first, statistic_rng(4, "dprime_differences").random(4))


def test_unknown_and_missing_rng(small_study):
    with pytest.raises(AnalysisError, match="unknown statistic"):
        get_statistic("anova")
    with pytest.raises(AnalysisError, match="pass rng"):
        run_statistic("dprime_differences", small_study)


def test_registry_import_is_light():
    code = (
        "import analysis.registry, sys; print('statsmodels' in sys.modules, 'scipy' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]
