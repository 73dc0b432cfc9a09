"""The logistic GLMM against lme4 (stored numbers, and live where R is installed)."""

import json
import subprocess
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import gammaln, xlogy

from analysis.errors import AnalysisError
from analysis.models._likelihood import BinomialProblem
from analysis.models._optimize import free_gradient
from analysis.models.design import design_matrix
from analysis.models.glmm import fit_glmm
from tests.analysis.lme4_cases import CASES, fit_in_r, stored

CBPP = ("incidence ~ C(period)", {"random": ["herd"], "trials": "size"})
VERBAGG = ("y ~ Anger + Gender + btype + situ", {"random": ["id", "item"]})
STUDY = ("n_correct ~ C(encoding)", {"random": ["participant", "dataset_id"], "trials": "n_trials"})
PXE = ["participant", "participant:encoding", "dataset_id", "dataset_id:encoding"]
SLOPES = ["(1 + encoding | participant)", "dataset_id", "dataset_id:encoding"]
#: The Python side of each lme4 case that is not the plain one of its data set.
PYTHON = {
    "study_pxe_tight": ("n_correct ~ C(encoding)", {"random": PXE, "trials": "n_trials"}),
    "study_slopes_tight": ("n_correct ~ C(encoding)", {"random": SLOPES, "trials": "n_trials"}),
    "cbpp_observation_tight": (CBPP[0], {"random": ["herd", "herd:period"], "trials": "size"}),
    "verbagg_pxe_tight": (VERBAGG[0], {"random": ["id", "id:btype", "item"]}),
    "verbagg_slopes_tight": (VERBAGG[0], {"random": ["(1 + situ | id)", "item"]}),
}
_FITS: dict[str, object] = {}


def python_fit(name: str):
    """Fit (once per session) the Python side of an lme4 case."""
    if name not in _FITS:
        case = CASES[name]
        data = case.data()
        if case.dataset == "VerbAgg":
            data["y"] = (data["r2"] == "Y").astype(int)
            formula, kwargs = VERBAGG
        elif case.dataset.startswith("study"):
            formula, kwargs = STUDY
        else:
            formula, kwargs = CBPP
        formula, kwargs = PYTHON.get(name, (formula, kwargs))
        _FITS[name] = fit_glmm(data, formula, nagq=case.nagq, **kwargs)
    return _FITS[name]


def saturated_loglik(name: str) -> float:
    """lme4 reports nAGQ > 1 log-likelihoods minus this (deviance-residual based)."""
    data = CASES[name].data()
    y, n = data["incidence"].to_numpy(float), data["size"].to_numpy(float)
    choose = gammaln(n + 1) - gammaln(y + 1) - gammaln(n - y + 1)
    return float(np.sum(choose + xlogy(y, y / n) + xlogy(n - y, (n - y) / n)))


def in_r_order(name: str, result) -> tuple[np.ndarray, np.ndarray]:
    """Python coefficients reordered like lme4's (patsy puts categorical terms first)."""
    reference = stored(name)
    rename = {"Intercept": "(Intercept)", "Gender[T.M]": "GenderM", "situ[T.self]": "situself"}
    names = [
        rename.get(n, n.replace("C(period)[T.", "period").replace("btype[T.", "btype")).replace(
            "C(encoding)[T.", "encoding"
        )
        for n in result.fixed_names
    ]
    names = [n.rstrip("]") for n in names]
    order = [names.index(n) for n in reference["fixef_names"]]
    return result.params[order], result.bse[order]


def compare(name: str, result, reference: dict, *, se_rtol: float) -> None:
    params, bse = in_r_order(name, result)
    np.testing.assert_allclose(params, reference["fixef"], rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(bse, reference["se"], rtol=se_rtol)
    sds = [row["sdcor"] for row in reference["varcorr"]]
    np.testing.assert_allclose(result.varcorr["sdcor"], sds, rtol=1e-3, atol=1e-3)
    assert list(result.varcorr["group"]) == [row["grp"] for row in reference["varcorr"]]
    loglik = reference["logLik"]
    if reference["nAGQ"] > 1:
        loglik += saturated_loglik(name)
    assert result.loglik == pytest.approx(loglik, abs=1e-3)
    assert result.converged


@pytest.mark.parametrize(
    "name",
    [
        "cbpp_laplace_tight",
        "cbpp_agq25",
        "cbpp_observation_tight",
        "study_pxe_tight",
        "study_slopes_tight",
        pytest.param("verbagg_laplace_tight", marks=pytest.mark.slow),
        pytest.param("verbagg_pxe_tight", marks=pytest.mark.slow),
        pytest.param("verbagg_slopes_tight", marks=pytest.mark.slow),
    ],
)
def test_matches_stored_lme4_converged_pirls(name):
    compare(name, python_fit(name), stored(name), se_rtol=1e-2)


@pytest.mark.parametrize(
    "name", ["cbpp_laplace", pytest.param("verbagg_laplace", marks=pytest.mark.slow)]
)
def test_close_to_stored_lme4_defaults(name):
    # lme4's default tolPwrss stops PIRLS early; its Laplace log-determinant is then off by
    # ~6e-4 on cbpp, which moves its SEs by up to 1.3%. Our modes are fully converged
    # (the *_tight references show lme4 agreeing once its PIRLS converges too).
    compare(name, python_fit(name + "_tight"), stored(name), se_rtol=2e-2)


@pytest.mark.r
def test_matches_lme4_live(rscript, tmp_path):
    for name in ("cbpp_laplace_tight", "cbpp_agq25", "study_crossed_tight"):
        compare(name, python_fit(name), fit_in_r(rscript, CASES[name], tmp_path), se_rtol=1e-2)


def test_aic_summary_and_frames():
    result = python_fit("cbpp_laplace_tight")
    data = CASES["cbpp_laplace_tight"].data()
    choose = gammaln(data["size"] + 1) - gammaln(data["incidence"] + 1)
    choose -= gammaln(data["size"] - data["incidence"] + 1)
    assert result.trial_loglik == pytest.approx(result.loglik - choose.sum())
    assert result.aic == pytest.approx(-2 * result.trial_loglik + 2 * 5)
    assert result.n_trials == data["size"].sum() and result.nobs == len(data)
    frame = result.to_frame()
    assert list(frame["term"]) == list(result.fixed_names)
    assert np.allclose(frame["odds_ratio"], np.exp(frame["estimate"]))
    assert (frame["ci_low"] < frame["estimate"]).all() and frame["p"].between(0, 1).all()
    assert "Laplace" in result.summary() and "herd" in result.random_frame()["group"].tolist()


@pytest.mark.parametrize("n_factors", [1, 2, 3])
def test_laplace_gradient_is_exact(rng, n_factors):
    n = 250
    groups = [rng.integers(0, size, n) for size in (15, 6, 4)[:n_factors]]
    groups = [pd.factorize(g, sort=True)[0] for g in groups]
    X = np.column_stack([np.ones(n), rng.normal(size=n)])
    size = rng.integers(1, 5, n).astype(float)
    problem = BinomialProblem(rng.binomial(size.astype(int), 0.4).astype(float), size, X, groups)
    x = np.concatenate([np.linspace(0.5, 1.0, n_factors), [-0.3, 0.2]])
    value, gradient = problem.laplace_objective(x)
    assert value == pytest.approx(problem.deviance(x), rel=1e-12)
    steps = np.eye(x.size) * 1e-5
    numeric = [(problem.deviance(x + s) - problem.deviance(x - s)) / 2e-5 for s in steps]
    np.testing.assert_allclose(gradient, numeric, rtol=1e-5, atol=1e-5)


def test_one_node_quadrature_is_laplace():
    data = CASES["cbpp_laplace"].data()
    formula, kwargs = CBPP
    one = fit_glmm(data, formula, nagq=1, **kwargs)
    assert one.loglik == pytest.approx(python_fit("cbpp_laplace_tight").loglik, abs=1e-8)


def test_zero_variance_is_a_boundary_fit(rng):
    # Every group holds the same rows, so the between-group variance MLE is exactly 0.
    block = pd.DataFrame({"x": rng.normal(size=40)})
    block["y"] = (rng.random(40) < 1 / (1 + np.exp(-0.8 * block["x"]))).astype(int)
    data = pd.concat([block.assign(g=g) for g in range(10)], ignore_index=True)
    result = fit_glmm(data, "y ~ x", random=["g"])
    assert result.random_sd["g"] < 1e-3
    assert result.converged and np.isfinite(result.bse).all()


def test_bad_specifications():
    data = CASES["cbpp_laplace"].data()
    with pytest.raises(AnalysisError, match="exactly one grouping factor"):
        fit_glmm(data, "incidence ~ 1", random=["herd", "period"], trials="size", nagq=5)
    with pytest.raises(AnalysisError, match="not in the data"):
        fit_glmm(data, "incidence ~ 1", random=["farm"], trials="size")
    with pytest.raises(AnalysisError, match="whole counts"):
        fit_glmm(data, "size ~ 1", random=["herd"], trials="incidence")
    with pytest.raises(AnalysisError, match="cannot build"):
        fit_glmm(data, "incidence ~ nope", random=["herd"], trials="size")
    with pytest.raises(AnalysisError, match="not estimable"):
        fit_glmm(data.assign(z=1.0), "incidence ~ z", random=["herd"], trials="size")
    with pytest.raises(AnalysisError, match="no rows"):
        fit_glmm(data.iloc[:0], "incidence ~ 1", random=["herd"], trials="size")


def test_separation_is_noted_not_hidden(rng):
    from analysis.models.study import fit_accuracy_glmm
    from analysis.trials import load_trials
    from tests.analysis.factories import simulated_trials

    frame = simulated_trials(rng, n_participants=10, n_datasets=5)
    perfect = frame["encoding"] == "gan_face"
    frame.loc[perfect, "selected"] = frame.loc[perfect, "true_outliers"]
    result = fit_accuracy_glmm(load_trials(frame))
    assert any("gan_face" in note and "separation" in note for note in result.notes)
    assert np.isinf(result.to_frame()["or_ci_high"]).any() or result.bse.max() > 10


#: The study's own coding (analysis.models.study): the start that ran onto the saddle.
SADDLE = "n_correct ~ C(encoding, Treatment(reference='table'))"


def saddle_study_cells() -> pd.DataFrame:
    """A colleague's simulated study where L-BFGS-B stopped at both SDs = 0 (a saddle).

    There the deviance is 802.67 (logLik -401.34), but it falls to 791.01 at participant
    SD 0.508: the zero theta-gradient at 0 (the deviance is even in theta) looked converged.
    """
    from analysis.models.study import aggregate_cells
    from analysis.simulate import ModelObserver, SimulationDesign, make_design, simulate_trials
    from analysis.trials import load_trials

    observer = ModelObserver.simple(
        {"gan_face": 2, "chernoff": 1.5, "table": 1, "plot": 1.2},
        criterion=0.5,
        sensitivity_sd=0.3,
    )
    rng = np.random.default_rng(1)  # fixed (not --seed): this data set showed the bug
    design = make_design(SimulationDesign(n_participants=24, n_datasets=10), rng=rng)
    cells = aggregate_cells(load_trials(simulate_trials(design, observer, rng=rng)).trials)
    return cells[["participant", "dataset_id", "encoding", "n_correct", "n_trials"]].astype(
        {"encoding": str}
    )


def test_sd_saddle_at_zero_is_left_for_the_maximum():
    data = saddle_study_cells()
    result = fit_glmm(data, SADDLE, **STUDY[1])
    codes = [pd.factorize(data[g], sort=True)[0] for g in ("participant", "dataset_id")]
    X = design_matrix(data, SADDLE)[1]
    problem = BinomialProblem(
        data["n_correct"].to_numpy(float), data["n_trials"].to_numpy(float), X, codes
    )
    colleague = -0.5 * problem.deviance(np.concatenate([[0.508, 0.0], result.params]))
    assert colleague == pytest.approx(-395.5, abs=0.05)
    assert result.loglik >= colleague - 1e-6
    assert result.random_sd["participant"] == pytest.approx(0.508, abs=0.01)
    assert result.converged


def test_a_saddle_at_zero_is_found_by_the_profile_check():
    # Where the colleague's L-BFGS-B stopped (both SDs 0): the check finds a lower deviance
    # off 0, so that point could never be reported as converged.
    from analysis.models._optimize import _lower_off_zero

    data = saddle_study_cells()
    codes = [pd.factorize(data[g], sort=True)[0] for g in ("participant", "dataset_id")]
    X = design_matrix(data, SADDLE)[1]
    problem = BinomialProblem(
        data["n_correct"].to_numpy(float), data["n_trials"].to_numpy(float), X, codes
    )
    saddle = np.concatenate([[0.0, 0.0], fit_glmm(data, SADDLE, **STUDY[1]).params])
    f = problem.deviance(saddle)
    lower = _lower_off_zero(
        problem, problem.laplace_objective, True, saddle, f, [(0, None)] * 2 + [(None, None)] * 4
    )
    assert lower is not None and problem.deviance(lower) < f - 1


def test_dense_laplace_gradient_is_exact(rng):
    from analysis.models._dense_likelihood import DenseBinomialProblem
    from analysis.models.random_terms import parse_term, term_matrix

    n = 300
    data = pd.DataFrame(
        {"g": rng.integers(0, 12, n), "h": rng.integers(0, 5, n), "e": rng.choice(list("abc"), n)}
    )
    size = rng.integers(1, 5, n).astype(float)
    X = np.column_stack([np.ones(n), rng.normal(size=n)])
    terms = [term_matrix(data, parse_term(t)) for t in ("(1 + e | g)", "h", "g:e")]
    problem = DenseBinomialProblem(
        rng.binomial(size.astype(int), 0.4).astype(float), size, X, terms
    )
    assert problem.n_theta == 8 and list(problem.diagonal) == [0, 3, 5, 6, 7]
    x = np.concatenate([rng.uniform(0.2, 0.9, 8) * [1, -1, 1, 1, -1, 1, 1, 1], [-0.3, 0.2]])
    value, gradient = problem.laplace_objective(x)
    assert value == pytest.approx(problem.deviance(x), rel=1e-12)
    steps = np.eye(x.size) * 1e-5
    numeric = [(problem.deviance(x + s) - problem.deviance(x - s)) / 2e-5 for s in steps]
    np.testing.assert_allclose(gradient, numeric, rtol=1e-5, atol=1e-5)


def test_a_singular_fit_is_reported_as_such_and_kept(rng):
    # No dataset x encoding variability at all: that SD's ML estimate is 0 (as in lme4,
    # "boundary (singular) fit"); the fit is still the ML fit, converged, with its SEs.
    data = CASES["study_pxe_tight"].data()
    data["n_correct"] = data.groupby(["participant", "encoding"])["n_correct"].transform(
        lambda col: np.sort(col.to_numpy())
    )
    data["dataset_id"] = data.groupby(["participant", "encoding"]).cumcount().map("d{:02d}".format)
    result = fit_glmm(data, "n_correct ~ C(encoding)", random=PXE, trials="n_trials")
    assert result.singular and result.converged
    assert result.status == "converged, singular (boundary) fit"
    assert "singular" in result.message and np.isfinite(result.bse).all()


@pytest.mark.r
def test_sd_saddle_study_matches_lme4_live(rscript, tmp_path):
    from tests.analysis.lme4_cases import REFERENCE

    csv, out = tmp_path / "study.csv", tmp_path / "out.json"
    saddle_study_cells().to_csv(csv, index=False)
    formula, factors = CASES["study_crossed_tight"].formula, "participant,dataset_id,encoding"
    script = str(REFERENCE / "fit_lme4.R")
    command = [rscript, script, str(csv), formula, "binomial", "1", "TRUE", factors, str(out)]
    subprocess.run([*command, "1e-12"], check=True, capture_output=True, timeout=120)
    reference = json.loads(out.read_text())
    result = fit_glmm(saddle_study_cells(), SADDLE, **STUDY[1])
    assert result.loglik == pytest.approx(reference["logLik"], abs=1e-3)
    sds = [row["sdcor"] for row in reference["varcorr"]]
    np.testing.assert_allclose(list(result.random_sd.values()), sds, atol=2e-3)


def test_an_extreme_estimate_is_noted_even_with_a_moderate_se(monkeypatch, rng):
    import analysis.models.glmm as glmm

    frame = pd.DataFrame({"g": np.repeat(np.arange(8), 20), "x": rng.normal(size=160)})
    frame["y"] = (rng.random(160) < 0.4).astype(int)
    monkeypatch.setattr(glmm, "_MAX_ESTIMATE", 0.1)  # stands in for a separated estimate
    result = fit_glmm(frame, "y ~ x", random=["g"])
    assert any(note.startswith("Intercept: not identified (estimate") for note in result.notes)


def test_satterthwaite_df_of_a_split_plot_glmm_are_its_within_participant_count():
    # 20 participants x 4 encodings, one binomial cell each with 20,000 trials, so the
    # binomial noise is negligible next to the participant x encoding SD 0.6: the
    # encoding effects are tested against that term, with P (E - 1) = 60 df under ML
    # (REML, lmerTest's for an LMM, would give (P - 1)(E - 1) = 57). Tests are t, not z.
    from analysis.contrasts import encoding_contrasts

    rng = np.random.default_rng(3)
    p, e = (a.ravel() for a in np.meshgrid(np.arange(20), np.arange(4), indexing="ij"))
    eta = 0.2 + rng.normal(0, 0.5, 20)[p] + rng.normal(0, 0.6, (20, 4))[p, e]
    cells = pd.DataFrame(
        {
            "participant": p,
            "encoding": np.array(list("abcd"))[e],
            "k": rng.binomial(20_000, 1 / (1 + np.exp(-eta))),
            "n": 20_000,
        }
    )
    random = ["participant", "participant:encoding"]
    result = fit_glmm(cells, "k ~ C(encoding)", random=random, trials="n")
    table = result.to_frame()
    np.testing.assert_allclose(table["df"].iloc[1:], 60.0, atol=0.1)
    assert "z" not in table.columns
    t = table["estimate"] / table["se"]
    np.testing.assert_allclose(table["p"], 2 * stats.t.sf(np.abs(t), table["df"]))
    pairs = encoding_contrasts(result).table
    np.testing.assert_allclose(pairs["df"], 60.0, atol=0.1)
    assert "Satterthwaite" in encoding_contrasts(result).note


def test_satterthwaite_df_hold_singular_terms_fixed_and_shrink_with_fewer_groups():
    # A study-shaped fit: the df lie between the number of datasets and the number
    # of cells, and only thetas off 0 enter Cov(theta).
    study = python_fit("study_pxe_tight")
    df = study.df[1:]
    assert np.all((df > 11) & (df < len(CASES["study_pxe_tight"].data())))
    assert study.satterthwaite.varpar_cov.shape[0] == int(np.sum(study.theta > 1e-4))


def test_free_gradient_leaves_out_only_sds_held_at_their_bound() -> None:
    # theta = (SD 0, correlation, SD 0.3), then one beta
    problem = SimpleNamespace(diagonal=np.array([0, 2]))
    x = np.array([0.0, 0.0, 0.3, 1.0])
    # an SD at 0 whose deviance rises into SD > 0 is at its optimum there
    assert free_gradient(problem, x, np.array([5.0, 1e-5, -2e-4, 3e-4])) == pytest.approx(3e-4)
    # ... one whose deviance falls off 0 is not, and neither is a free SD with a slope
    assert free_gradient(problem, x, np.array([-5.0, 0.0, 0.0, 0.0])) == 5.0
    assert free_gradient(problem, x, np.array([0.0, 0.0, 7e-3, 0.0])) == 7e-3
