"""Holm's correction, Wald contrasts from a fitted model, bootstrap d' differences."""

from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from analysis.contrasts import dprime_differences, encoding_contrasts, holm
from analysis.measures import compute_measures
from analysis.models.study import fit_accuracy_glmm
from analysis.trials import load_trials
from tests.analysis.factories import simulated_trials


def test_holm_by_hand():
    # p sorted: .01 (x4 = .04), .02 (x3 = .06), .03 (x2 = .06), .04 (x1 = .04 -> max .06).
    np.testing.assert_allclose(holm([0.03, 0.01, 0.04, 0.02]), [0.06, 0.04, 0.06, 0.06])
    np.testing.assert_allclose(holm([0.5, 0.9]), [1.0, 1.0])  # monotone: 0.9 -> max(1, 0.9)
    np.testing.assert_allclose(holm([0.001, 0.9]), [0.002, 0.9])


def test_holm_agrees_with_statsmodels(rng):
    p = rng.random(12) ** 3
    np.testing.assert_allclose(holm(p), multipletests(p, method="holm")[1])


class FakeModel:
    """A logistic fit: intercept, then chernoff and plot vs the table reference."""

    fixed_names = (
        "Intercept",
        "C(encoding, Treatment(reference='table'))[T.chernoff]",
        "C(encoding, Treatment(reference='table'))[T.plot]",
    )
    params = np.array([0.1, 0.8, 0.3])
    cov = np.array([[0.02, -0.01, -0.01], [-0.01, 0.04, 0.01], [-0.01, 0.01, 0.03]])
    random_sd: ClassVar[dict[str, float]] = {"participant": 0.5}


def test_wald_contrasts_use_the_covariance():
    table = encoding_contrasts(FakeModel()).table.set_index(["encoding_a", "encoding_b"])
    row = table.loc[("chernoff", "plot")]
    assert row["estimate"] == pytest.approx(0.5)
    assert row["se"] == pytest.approx(np.sqrt(0.04 + 0.03 - 2 * 0.01))
    assert table.loc[("chernoff", "table"), "se"] == pytest.approx(0.2)
    assert row["odds_ratio"] == pytest.approx(np.exp(0.5))
    np.testing.assert_allclose(table["p_holm"], holm(table["p"].to_numpy()))


def test_whole_chain_recovers_the_encoding_effects(rng):
    # True log odds vs table: chernoff 0.8, gan_face 1.2, plot 0.4 (factories.simulated_trials)
    trials = load_trials(simulated_trials(rng, n_participants=30, n_datasets=8, repeats=2))
    glmm = fit_accuracy_glmm(trials)
    contrasts = encoding_contrasts(glmm).table.set_index(["encoding_a", "encoding_b"])
    truth = {"chernoff": 0.8, "gan_face": 1.2, "plot": 0.4, "table": 0.0}
    covered = 0
    for (a, b), row in contrasts.iterrows():
        difference = truth[a] - truth[b]
        assert np.sign(row["estimate"]) == np.sign(difference)
        covered += row["ci_low"] - 0.1 < difference < row["ci_high"] + 0.1
    assert covered == len(contrasts)
    assert glmm.random_sd["participant"] == pytest.approx(0.6, abs=0.3)


def test_single_encoding_gives_an_empty_table_with_a_note(rng):
    frame = simulated_trials(
        rng, n_participants=6, n_datasets=3, encodings=("chernoff",), logits=(0.5,)
    )
    trials = load_trials(frame)
    result = encoding_contrasts(fit_accuracy_glmm(trials))
    assert result.table.empty and "nothing to compare" in result.summary()
    boot = dprime_differences(compute_measures(trials), rng=rng)
    assert boot.table.empty and "fewer than two" in boot.note


def test_bootstrap_dprime_differences_resample_participants(rng):
    measures = pd.DataFrame(
        {
            "participant": np.repeat([f"P{i}" for i in range(20)], 2),
            "encoding": ["a", "b"] * 20,
            "dprime": np.column_stack([np.full(20, 2.0), 2.0 - np.linspace(0.5, 1.5, 20)]).ravel(),
        }
    )
    result = dprime_differences(measures, rng=rng, n_boot=500)
    row = result.table.iloc[0]
    assert row["estimate"] == pytest.approx(1.0) and row["n_participants"] == 20
    assert 0.8 < row["ci_low"] < 1.0 < row["ci_high"] < 1.2
    again = dprime_differences(measures, rng=np.random.default_rng(7), n_boot=500).table
    assert again.iloc[0]["estimate"] == row["estimate"]


def test_studentised_interval_is_a_t_interval_for_symmetric_data(rng):
    from scipy import stats

    from analysis.contrasts import studentised_interval

    values = stats.norm.ppf((np.arange(20) + 0.5) / 20)  # symmetric, mean 0
    low, high = studentised_interval(values, rng=rng, n_boot=4000)
    half = stats.t.ppf(0.975, 19) * values.std(ddof=1) / np.sqrt(20)
    assert low == pytest.approx(-half, rel=0.15) and high == pytest.approx(half, rel=0.15)
    assert np.isnan(studentised_interval(np.ones(5), rng=rng)[0])
    assert np.isnan(studentised_interval(np.ones(1), rng=rng)[1])
