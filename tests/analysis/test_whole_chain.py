"""Whole chain: simulated participants with known encoding differences -> the models find them.

Truths: d' (gan_face 2.0 vs table 1.2, so +0.8), log RT (ln 2000 - ln 2600 = -0.262) and,
for the GLMM, the log-odds of a fully correct trial for a typical participant (computed
exactly from the observer's decision rule by analysis.power.trial_accuracy). Each check of
a 95% CI misses the truth for about 5% of seeds by construction (``--seed`` changes it).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from analysis.contrasts import participant_dprime_differences
from analysis.models.study import fit_accuracy_glmm, fit_log_rt_lmm
from analysis.power import PowerConfig, trial_accuracy
from analysis.simulate import ModelObserver, SimulationDesign, make_design, simulate_trials
from analysis.trials import load_trials

D_PRIME = {"gan_face": 2.0, "table": 1.2}
RT_MEDIAN_MS = {"gan_face": 2000.0, "table": 2600.0}
CRITERION = 0.8
DESIGN = SimulationDesign(n_participants=30, n_datasets=20, encodings=tuple(D_PRIME))


@pytest.fixture(scope="module")
def table(request: pytest.FixtureRequest):
    observer = ModelObserver(
        d_prime=D_PRIME,
        rt_mu={name: np.log(ms) for name, ms in RT_MEDIAN_MS.items()},
        rt_sigma=dict.fromkeys(D_PRIME, 0.3),
        criterion=CRITERION,
        sensitivity_sd=0.25,
        rt_participant_sd=0.2,
    )
    rng = np.random.default_rng(request.config.getoption("--seed"))
    return load_trials(simulate_trials(make_design(DESIGN, rng=rng), observer, rng=rng))


def row(frame, pattern):
    return frame[frame.iloc[:, 0].astype(str).str.contains(pattern, regex=False)].iloc[0]


def test_glmm_recovers_the_sign_and_covers_the_true_log_odds(table):
    config = PowerConfig(criterion=CRITERION, n_items=DESIGN.n_items)
    truth = special.logit(trial_accuracy(2.0, config)) - special.logit(trial_accuracy(1.2, config))
    fit = fit_accuracy_glmm(table)
    assert fit.converged
    effect = row(fit.to_frame(), "gan_face")
    assert effect["ci_low"] > 0
    assert effect["ci_low"] <= truth <= effect["ci_high"]


def test_dprime_difference_ci_covers_the_truth(rng, table):
    result = participant_dprime_differences(table, rng=rng).to_frame()
    assert len(result) == 1
    effect = result.iloc[0]
    sign = 1 if effect["encoding_a"] == "gan_face" else -1
    low, high = sorted((sign * effect["ci_low"], sign * effect["ci_high"]))
    assert low > 0 and low <= 0.8 <= high


def test_log_rt_lmm_covers_the_true_speed_difference(table):
    fit = fit_log_rt_lmm(table)
    effect = row(fit.to_frame(), "gan_face")
    truth = np.log(RT_MEDIAN_MS["gan_face"] / RT_MEDIAN_MS["table"])
    assert effect["ci_high"] < 0
    assert effect["ci_low"] <= truth <= effect["ci_high"]
