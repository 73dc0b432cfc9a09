"""The trial-level crossed LMM (lme4's profiled deviance) against lme4, and the RT model."""

import numpy as np
import pandas as pd
import pytest

from analysis.models.crossed_lmm import fit_crossed_lmm
from analysis.models.study import fit_log_rt_lmm
from analysis.trials import load_trials
from tests.analysis.factories import simulated_trials
from tests.analysis.lme4_cases import CASES, stored

SPECS = {
    "penicillin_reml": ("diameter ~ 1", ["plate", "sample"]),
    "sleepstudy_reml": ("Reaction ~ Days", ["(1 + Days | Subject)"]),
    "sleepstudy_ml": ("Reaction ~ Days", ["(1 + Days | Subject)"]),
    "sleepstudy_intercept_ml": ("Reaction ~ Days", ["Subject"]),
    "study_rt_reml": (
        "log_rt ~ C(encoding)",
        ["participant", "participant:encoding", "dataset_id"],
    ),
}


@pytest.mark.parametrize("name", list(SPECS))
def test_matches_stored_lme4(name):
    formula, random = SPECS[name]
    case, reference = CASES[name], stored(name)
    result = fit_crossed_lmm(case.data(), formula, random=random, reml=case.reml)
    np.testing.assert_allclose(result.params, np.atleast_1d(reference["fixef"]), rtol=1e-4)
    np.testing.assert_allclose(result.bse, np.atleast_1d(reference["se"]), rtol=1e-3)
    assert result.loglik == pytest.approx(reference["logLik"], abs=1e-3)
    assert result.residual_sd == pytest.approx(reference["sigma"], rel=1e-3)
    ours = [row for row in reference["varcorr"] if row["grp"] != "Residual"]
    np.testing.assert_allclose(result.random["sd_or_corr"], [r["sdcor"] for r in ours], rtol=2e-3)
    assert list(result.random["group"]) == [r["grp"] for r in ours]
    assert result.converged


def test_rt_model_is_trial_level_with_labelled_residual_and_timeouts(rng):
    frame = simulated_trials(rng, n_participants=10, n_datasets=4, repeats=2)
    slow = frame["encoding"] == "plot"
    out = slow & (rng.random(len(frame)) < 0.3)
    frame.loc[out, "timed_out"] = True
    frame.loc[out, "selected"] = pd.Series(
        [[] for _ in range(int(out.sum()))], index=frame.index[out]
    )
    table = load_trials(frame)
    result = fit_log_rt_lmm(table)
    answered = table.trials["log_rt"].notna()
    assert result.nobs == answered.sum()  # trials, not cell means
    shown = result.random_frame()
    assert shown["group"].iloc[-1].startswith("Residual (single trials")
    assert {"participant", "participant:encoding", "dataset_id"} <= set(shown["group"])
    share = table.trials.loc[slow, "timed_out"].mean()
    assert f"plot {share:.1%}" in result.notes[-1] and "censored" in result.notes[-1]
    # The trial-level residual is the spread of single trials (the factory's SD is 0.4).
    assert result.residual_sd == pytest.approx(0.4, abs=0.05)


def test_a_zero_variance_term_is_a_singular_fit(rng):
    data = pd.DataFrame({"g": np.repeat(np.arange(10), 30), "h": np.tile(np.arange(30), 10)})
    data["y"] = rng.normal(size=len(data)) + data["h"].map(dict(enumerate(rng.normal(size=30))))
    result = fit_crossed_lmm(data, "y ~ 1", random=["g", "h"])
    sd = result.random.set_index("group")["sd_or_corr"]
    assert sd["g"] < 0.2 and sd["h"] > 0.5
    if sd["g"] == 0:
        assert any("singular" in note for note in result.notes)


def test_satterthwaite_df_match_lmertest():
    # reference/satterthwaite_lmerTest.R (lmerTest 3.1.3): the generic Satterthwaite code
    # the GLMM's t tests use, checked where R has an implementation.
    from analysis.contrasts import encoding_contrasts

    reference = stored("satterthwaite_lmertest")
    formula, random = SPECS["study_rt_reml"]
    result = fit_crossed_lmm(CASES["study_rt_reml"].data(), formula, random=random)
    np.testing.assert_allclose(result.df, reference["study_rt_df"], rtol=2e-3)
    table = result.to_frame()
    assert {"df", "t"} <= set(table.columns) and "z" not in table.columns
    np.testing.assert_allclose(table["p"], reference["study_rt_p"], rtol=2e-3, atol=1e-12)
    pairs = encoding_contrasts(result).table.set_index(["encoding_a", "encoding_b"])
    pair = pairs.loc[("gan_face", "plot"), "df"]
    assert pair == pytest.approx(reference["study_rt_gan_face_minus_plot_df"][0], rel=2e-3)
    sleep = fit_crossed_lmm(CASES["sleepstudy_reml"].data(), *SPECS["sleepstudy_reml"][:1],
                            random=SPECS["sleepstudy_reml"][1])  # fmt: skip
    np.testing.assert_allclose(sleep.df, reference["sleepstudy_df"], rtol=2e-3)
