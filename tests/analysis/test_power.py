"""Power by simulation: error rate under the null, power under an effect, exact effect sizes."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from analysis.errors import AnalysisError
from analysis.power import PowerConfig, estimate_power, power_curve, trial_accuracy
from analysis.simulate import ModelObserver, SimulationDesign, make_design, simulate_trials
from analysis.trials import load_trials

SMALL = {"n_participants": 12, "n_datasets": 4, "n_simulations": 100}


def test_false_positive_rate_under_the_null_is_at_most_alpha(rng):
    result = estimate_power(PowerConfig(effect=0.0, **SMALL), rng=rng, progress=False)
    assert result.power < 0.08  # one-sided by sign: about alpha / 2 expected
    assert result.mc_se == pytest.approx(np.sqrt(result.power * (1 - result.power) / 100))


def test_a_large_effect_is_found_and_power_grows_with_n(rng):
    curve = power_curve(
        PowerConfig(effect=0.9, **SMALL), [4, 24], rng=rng, progress=False
    ).set_index("n_participants")
    assert curve.loc[24, "power"] > 0.85
    assert curve.loc[24, "power"] > curve.loc[4, "power"]
    assert curve.loc[24, "dprime_gan_face"] == pytest.approx(1.9)


@pytest.mark.parametrize(
    "settings",
    [
        {"response_mode": "mark_outliers", "n_items": 8},
        {"response_mode": "mark_outliers", "n_items": 8, "absent_fraction": 0.5},
        {"response_mode": "m_afc", "n_items": 4},
        {"response_mode": "yes_no", "absent_fraction": 0.5},
    ],
)
def test_trial_accuracy_matches_simulated_accuracy(rng, settings):
    config = PowerConfig(criterion=0.4, **settings)
    design = make_design(
        SimulationDesign(
            n_participants=40, n_datasets=50, encodings=("table",), n_items=config.n_items,
            absent_fraction=config.absent_fraction, response_mode=config.response_mode,
        ),
        rng=rng,
    )  # fmt: skip
    observer = ModelObserver.simple({"table": 1.5}, criterion=0.4)
    simulated = load_trials(simulate_trials(design, observer, rng=rng)).trials["correct"].mean()
    assert simulated == pytest.approx(trial_accuracy(1.5, config), abs=0.03)


def test_log_odds_effects_are_exact_on_the_trial_accuracy_scale():
    config = PowerConfig(effect=0.7, effect_scale="log_odds")
    dprimes = config.dprimes()
    change = special.logit(trial_accuracy(dprimes["gan_face"], config)) - special.logit(
        trial_accuracy(dprimes["table"], config)
    )
    assert change == pytest.approx(0.7, abs=1e-8)
    with pytest.raises(AnalysisError, match="out of reach"):
        PowerConfig(effect=40.0, effect_scale="log_odds").dprimes()


def test_glmm_method_runs_the_report_model(rng):
    config = PowerConfig(method="glmm", effect=2.0, n_participants=10, n_datasets=8,
                         n_simulations=2)  # fmt: skip
    result = estimate_power(config, rng=rng, progress=False)
    assert result.n_significant == 2


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"encodings": ("table", "table")}, "two different encodings"),
        ({"n_participants": 1}, "n_participants"),
        ({"method": "bayes"}, "method"),
        ({"response_mode": "m_afc", "n_outliers": 2}, "m_afc"),
    ],
)
def test_bad_configs_say_what_to_fix(settings, message):
    with pytest.raises(AnalysisError, match=message):
        PowerConfig(**settings)
