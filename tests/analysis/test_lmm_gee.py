"""LMM against lme4 (sleepstudy, Penicillin) and the GEE robustness check."""

import numpy as np
import pandas as pd
import pytest

from analysis.errors import AnalysisError
from analysis.models.gee import fit_gee
from analysis.models.lmm import fit_lmm
from tests.analysis.lme4_cases import CASES, fit_in_r, stored

SPECS = {
    "sleepstudy_reml": ("Reaction ~ Days", {"groups": "Subject", "re_formula": "~Days"}),
    "sleepstudy_ml": ("Reaction ~ Days", {"groups": "Subject", "re_formula": "~Days"}),
    "penicillin_reml": ("diameter ~ 1", {"groups": ["plate", "sample"]}),
    "sleepstudy_intercept_reml": ("Reaction ~ Days", {"groups": "Subject"}),
    "sleepstudy_intercept_ml": ("Reaction ~ Days", {"groups": "Subject"}),
}


def python_lmm(name: str):
    formula, kwargs = SPECS[name]
    return fit_lmm(CASES[name].data(), formula, reml=CASES[name].reml, **kwargs)


def compare(result, reference: dict) -> None:
    np.testing.assert_allclose(result.params, np.atleast_1d(reference["fixef"]), rtol=1e-4)
    np.testing.assert_allclose(result.bse, np.atleast_1d(reference["se"]), rtol=1e-3)
    assert result.loglik == pytest.approx(reference["logLik"], abs=1e-3)
    assert result.residual_sd == pytest.approx(reference["sigma"], rel=1e-3)
    sds = result.random[result.random["other"] == ""]
    ours = sds.set_index(["group", "term"])["sd_or_corr"]
    for row in reference["varcorr"]:
        if row["grp"] == "Residual" or row.get("var2"):
            continue
        assert ours[(row["grp"], row["var1"])] == pytest.approx(row["sdcor"], rel=2e-3)


@pytest.mark.parametrize("name", list(SPECS))
def test_lmm_matches_stored_lme4(name):
    result = python_lmm(name)
    compare(result, stored(name))
    assert result.converged


@pytest.mark.parametrize("reml", [True, False])
def test_fast_random_intercept_equals_statsmodels_on_unbalanced_data(rng, reml):
    sizes = rng.integers(1, 12, 25)
    group = np.repeat(np.arange(25), sizes)
    x = rng.normal(size=group.size)
    kind = rng.choice(["a", "b", "c"], group.size)
    y = 1.0 + 0.5 * x + (kind == "b") + rng.normal(0, 0.8, 25)[group] + rng.normal(size=x.size)
    data = pd.DataFrame({"g": group, "x": x, "kind": kind, "y": y})
    fast = fit_lmm(data, "y ~ x + kind", groups="g", reml=reml)
    slow = fit_lmm(data, "y ~ x + kind", groups="g", reml=reml, engine="statsmodels")
    np.testing.assert_allclose(fast.params, slow.params, rtol=1e-5)
    # Our SEs are lme4's sigma^2 (X'V^-1 X)^-1 (lmer agrees to 1e-8 on such unbalanced
    # data, and on sleepstudy above); statsmodels' observed information differs by < 1%.
    np.testing.assert_allclose(fast.bse, slow.bse, rtol=2e-2)
    assert fast.loglik == pytest.approx(slow.loglik, abs=1e-4)
    assert fast.residual_sd == pytest.approx(slow.residual_sd, rel=1e-4)
    sd = fast.random["sd_or_corr"].item()
    assert sd == pytest.approx(slow.random["sd_or_corr"].item(), rel=1e-3)


def test_sleepstudy_slope_correlation():
    random = python_lmm("sleepstudy_reml").random
    corr = random[random["other"] == "Days"]["sd_or_corr"].item()
    reference = [r for r in stored("sleepstudy_reml")["varcorr"] if r.get("var2") == "Days"]
    assert corr == pytest.approx(reference[0]["sdcor"], abs=5e-3)


@pytest.mark.r
def test_lmm_matches_lme4_live(rscript, tmp_path):
    for name in ("sleepstudy_reml", "penicillin_reml"):
        compare(python_lmm(name), fit_in_r(rscript, CASES[name], tmp_path))


def test_lmm_summary_and_errors():
    result = python_lmm("penicillin_reml")
    assert "REML" in result.summary() and result.aic == pytest.approx(-2 * result.loglik + 8)
    assert list(result.random_frame()["group"]) == ["plate", "sample", "Residual"]
    data = CASES["penicillin_reml"].data()
    with pytest.raises(AnalysisError, match="random intercepts only"):
        fit_lmm(data, "diameter ~ 1", groups=["plate", "sample"], re_formula="~1")
    with pytest.raises(AnalysisError, match="not usable"):
        fit_lmm(data, "diameter ~ 1", groups="tray")


def test_gee_recovers_a_population_effect(rng):
    n_people, n_trials = 30, 40
    person = np.repeat(np.arange(n_people), n_trials)
    x = np.tile([0, 1], n_people * n_trials // 2)
    eta = -0.2 + 1.0 * x + rng.normal(0, 0.5, n_people)[person]
    data = pd.DataFrame(
        {"p": person, "x": x, "y": rng.random(person.size) < 1 / (1 + np.exp(-eta))}
    )
    result = fit_gee(data, "y ~ x", group="p")
    table = result.to_frame().set_index("term")
    assert 0.5 < table.loc["x", "estimate"] < 1.3 and table.loc["x", "p"] < 1e-4
    assert result.n_clusters == n_people and 0 <= result.working_correlation < 0.3
    robust = fit_gee(data, "y ~ x", group="p", cov_type="robust")
    assert result.bse[1] >= robust.bse[1]  # bias reduction inflates the sandwich
    assert "bias_reduced" in result.summary()
    with pytest.raises(AnalysisError, match="two clusters"):
        fit_gee(data.assign(p=0), "y ~ x", group="p")


@pytest.mark.parametrize("cov_type", ["bias_reduced", "robust", "naive"])
def test_gee_matches_statsmodels_on_trials_and_on_counts(rng, cov_type):
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    n_people = 12
    rows = pd.DataFrame(
        {
            "p": np.repeat(np.arange(n_people), 30),
            "x": np.tile(np.repeat(["a", "b", "c"], 10), n_people),
        }
    )
    shift = rng.normal(0, 0.7, n_people)[rows["p"]]
    eta = np.select([rows["x"] == "b", rows["x"] == "c"], [0.6, -0.4], 0.0) + shift
    rows["y"] = (rng.random(len(rows)) < 1 / (1 + np.exp(-eta))).astype(int)
    model = smf.gee(
        "y ~ x",
        groups="p",
        data=rows,
        family=sm.families.Binomial(),
        cov_struct=sm.cov_struct.Exchangeable(),
    )
    reference = model.fit(cov_type=cov_type, ctol=1e-12)
    ours = fit_gee(rows, "y ~ x", group="p", cov_type=cov_type)
    np.testing.assert_allclose(ours.params, reference.params, rtol=1e-6)
    np.testing.assert_allclose(ours.bse, reference.bse, rtol=1e-5)
    assert ours.working_correlation == pytest.approx(model.cov_struct.dep_params, rel=1e-5)
    counts = rows.groupby(["p", "x"], as_index=False).agg(k=("y", "sum"), n=("y", "size"))
    aggregated = fit_gee(counts, "k ~ x", group="p", trials="n", cov_type=cov_type)
    np.testing.assert_allclose(aggregated.params, ours.params, rtol=1e-9)
    np.testing.assert_allclose(aggregated.bse, ours.bse, rtol=1e-9)
