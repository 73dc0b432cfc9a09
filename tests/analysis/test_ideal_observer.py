"""Ideal observer of the generative model: finds planted outliers, d' independent of N."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.errors import AnalysisError
from analysis.ideal_observer import dataset_table, efficiency, item_scores
from analysis.simulate import ModelObserver, SimulationDesign, make_design, simulate_trials
from analysis.trials import load_trials


def regression_rows(rng, n=12, p=3, outliers=(), kind="vertical", magnitude=6.0):
    """The generative model of stimuli/data/synthetic.py: residual SD 0.5, shifts of
    +-magnitude residual SDs (vertical) or of one feature to +-magnitude (leverage)."""
    x = rng.normal(size=(n, p))
    coef = np.linspace(1.0, 0.5, p)
    residual = rng.normal(scale=0.5, size=n)
    for item in outliers:
        sign = rng.choice([-1.0, 1.0])
        if kind == "vertical":
            residual[item] = sign * magnitude * 0.5
        else:
            x[item, rng.integers(p)] = sign * magnitude
    y = x @ coef + residual
    frame = pd.DataFrame(x, columns=[f"x{i + 1}" for i in range(p)])
    frame["y"] = y
    return frame


def write_set(folder: Path, rng, n_datasets=8, n_items=12, magnitude=10.0, p=3, n_absent=0):
    (folder / "data").mkdir(parents=True)
    truth = {}
    for index in range(n_datasets):
        dataset_id = f"d{index:02d}"
        outlier = [] if index < n_absent else [int(rng.integers(n_items))]
        rows = regression_rows(rng, n=n_items, p=p, outliers=outlier, magnitude=magnitude)
        rows.to_csv(folder / "data" / f"{dataset_id}.csv", index=False)
        truth[dataset_id] = {
            "outliers": outlier,
            "outlier_kind": "vertical",
            "magnitude_sd": magnitude,
            "role": "main",
        }
    (folder / "truth.json").write_text(json.dumps({"set_id": "abc", "datasets": truth}))
    return truth


@pytest.mark.parametrize("kind", ["vertical", "leverage"])
def test_likelihood_ratio_puts_the_planted_outlier_on_top(rng, kind):
    rows = regression_rows(rng, n=15, outliers=[4], kind=kind, magnitude=6.0)
    scores = item_scores(rows, kind, 6.0, prior=1 / 15)
    assert int(np.argmax(scores)) == 4 and scores[4] > 0
    assert (np.delete(scores, 4) < 0).all()


def test_clean_rows_are_rarely_more_likely_outliers_than_not(rng):
    marked = [
        (item_scores(regression_rows(rng, n=12), "vertical", 4.0, prior=1 / 12) > 0).sum()
        for _ in range(200)
    ]
    assert np.mean(marked) / 12 < 0.05  # the prior expects 1 in 12: some rows look it


def test_it_catches_the_planted_outliers_of_a_set(rng, tmp_path):
    # Magnitude 4 (the stimulus default): the old classical-test observer caught 2 of 10.
    write_set(tmp_path, rng, n_datasets=20, magnitude=4.0)
    table = dataset_table(tmp_path)
    assert list(table["dataset_id"]) == [f"d{i:02d}" for i in range(20)]
    assert table["hits"].sum() >= 12 and table["false_alarms"].sum() <= 6
    assert (table["hits"] + table["misses"] == 1).all()


def _study(rng, folder, n_participants):
    truth = json.loads((folder / "truth.json").read_text())["datasets"]
    design = make_design(
        SimulationDesign(
            n_participants=n_participants, n_datasets=10, encodings=("gan_face", "table")
        ),
        rng=rng,
    )
    design["true_outliers"] = design["dataset_id"].map(lambda d: truth[d]["outliers"])
    observer = ModelObserver.simple({"gan_face": 2.0, "table": 0.8}, criterion=0.8)
    return load_trials(simulate_trials(design, observer, rng=rng)).trials


def test_ideal_dprime_does_not_depend_on_the_number_of_participants(rng, tmp_path):
    write_set(tmp_path, rng, n_datasets=10, magnitude=4.0)
    d_ideal = [
        efficiency(_study(rng, tmp_path, n), tmp_path, rng=rng).set_index("encoding")["d_ideal"]
        for n in (5, 20, 80)
    ]
    for other in d_ideal[1:]:
        np.testing.assert_allclose(other, d_ideal[0], rtol=0.05)


def test_efficiency_is_human_over_ideal_squared_on_the_same_trials(rng, tmp_path):
    write_set(tmp_path, rng, n_datasets=10)
    result = efficiency(_study(rng, tmp_path, 6), tmp_path, rng=rng).set_index("encoding")
    assert (result["d_ideal"] > result["d_human"]).all()
    assert result.loc["gan_face", "efficiency"] > result.loc["table", "efficiency"]
    expected = (result["d_human"] / result["d_ideal"]) ** 2
    np.testing.assert_allclose(result["efficiency"], expected)
    assert result["efficiency"].between(0, 1).all()
    assert (result["efficiency_ci_low"] <= result["efficiency"]).all()
    assert (result["efficiency"] <= result["efficiency_ci_high"]).all()
    assert (result["n_displays"] == 10).all()


@pytest.mark.parametrize("mode", ["m_afc", "yes_no"])
def test_mafc_and_yes_no_trials_are_answered_in_their_own_mode(rng, tmp_path, mode):
    absent = 0.5 if mode == "yes_no" else 0.0
    truth = write_set(tmp_path, rng, n_datasets=8, n_items=8, p=1, n_absent=int(8 * absent))
    settings = {"n_participants": 5, "n_datasets": 8, "n_items": 8, "encodings": ("plot",)}
    design = make_design(
        SimulationDesign(**settings, response_mode=mode, absent_fraction=absent), rng=rng
    )
    design["true_outliers"] = design["dataset_id"].map(lambda d: truth[d]["outliers"])
    trials = simulate_trials(design, ModelObserver.simple({"plot": 1.0}), rng=rng)
    result = efficiency(load_trials(trials).trials, tmp_path, rng=rng)
    assert result["response_mode"].tolist() == [mode]
    assert result["d_ideal"].iloc[0] > 1.0
    assert 0 < result["efficiency"].iloc[0] < 1


def test_missing_or_mismatched_stimulus_set_says_what_to_do(rng, tmp_path):
    write_set(tmp_path, rng, n_datasets=2, n_items=12)
    design = make_design(SimulationDesign(n_participants=1, n_datasets=2, n_items=9), rng=rng)
    trials = load_trials(
        simulate_trials(
            design, ModelObserver.simple(dict.fromkeys(SimulationDesign().encodings, 1.0)), rng=rng
        )
    ).trials
    with pytest.raises(AnalysisError, match="does not match the trial table"):
        efficiency(trials, tmp_path, rng=rng)
    with pytest.raises(AnalysisError, match="stimulus-set folder"):
        efficiency(trials, tmp_path / "nowhere", rng=rng)
    with pytest.raises(AnalysisError, match=r"truth\.json"):
        dataset_table(tmp_path / "data")
