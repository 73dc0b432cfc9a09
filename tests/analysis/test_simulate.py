"""Simulated participants: contract, validation, and parameter recovery through analysis.sdt."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analysis import sdt
from analysis.simulate import (
    TRIAL_COLUMNS,
    ModelObserver,
    SimulationDesign,
    SimulationError,
    make_design,
    simulate_trials,
)
from analysis.trials import REQUIRED_COLUMNS, load_trials

TRUE_D = {"gan_face": 2.0, "table": 1.0}


def pooled_sdt(frame: pd.DataFrame) -> pd.DataFrame:
    """d' and c per encoding from the summed cell counts."""
    columns = ["hits", "misses", "false_alarms", "correct_rejections"]
    sums = frame.groupby("encoding")[columns].sum()
    hit_rate, fa_rate = sdt.rates(*(sums[c].to_numpy() for c in columns))
    return pd.DataFrame(
        {"d": sdt.dprime(hit_rate, fa_rate), "c": sdt.criterion(hit_rate, fa_rate)},
        index=sums.index,
    )


def pooled_dprime(frame: pd.DataFrame) -> pd.Series:
    return pooled_sdt(frame)["d"]


def simulate(rng, observer, **design) -> pd.DataFrame:
    settings = {"n_participants": 10, "n_datasets": 150, "encodings": tuple(TRUE_D), **design}
    return simulate_trials(make_design(SimulationDesign(**settings), rng=rng), observer, rng=rng)


def test_trial_table_follows_the_contract_and_loads(rng):
    observer = ModelObserver.simple(TRUE_D, criterion=0.5, lapse_rate=0.05)
    table = simulate(rng, observer, n_participants=3, n_datasets=4)
    assert tuple(table.columns) == TRIAL_COLUMNS
    assert set(REQUIRED_COLUMNS) <= set(table.columns)
    assert len(table) == 3 * 4 * 2
    assert (
        table.groupby("participant")["trial_index"]
        .apply(list)
        .map(sorted)
        .eq([list(range(8))] * 3)
        .all()
    )
    assert (pd.to_datetime(table["answered_at"]) > pd.to_datetime(table["presented_at"])).all()
    loaded = load_trials(table)
    assert len(loaded.trials) == len(table)


@pytest.mark.parametrize("criterion", [0.0, 0.8])
def test_item_level_dprime_and_criterion_are_recovered(rng, criterion):
    observer = ModelObserver.simple(TRUE_D, criterion=criterion)
    scored = load_trials(simulate(rng, observer)).trials
    recovered = pooled_sdt(scored)
    for encoding, true_d in TRUE_D.items():
        assert recovered.loc[encoding, "d"] == pytest.approx(true_d, abs=0.15)
        assert recovered.loc[encoding, "c"] == pytest.approx(criterion, abs=0.1)


def test_mafc_proportion_correct_gives_back_dprime(rng):
    observer = ModelObserver.simple(TRUE_D)
    table = simulate(rng, observer, n_items=4, response_mode="m_afc")
    scored = load_trials(table).trials
    pc = scored.groupby("encoding")["correct"].mean()
    for encoding, true_d in TRUE_D.items():
        assert float(sdt.dprime_mafc(pc[encoding], 4)) == pytest.approx(true_d, abs=0.15)


def test_yes_no_presence_rule_recovers_dprime_and_max_rule_is_a_search_observer(rng):
    design = {"response_mode": "yes_no", "absent_fraction": 0.5, "n_datasets": 250}
    scored = load_trials(simulate(rng, ModelObserver.simple(TRUE_D), **design)).trials
    recovered = pooled_dprime(scored)
    assert recovered["gan_face"] == pytest.approx(2.0, abs=0.2)
    assert recovered["table"] == pytest.approx(1.0, abs=0.2)
    assert (scored["selected"].map(len) == 0).all()
    searching = ModelObserver.simple(TRUE_D, yes_no_rule="max", criterion=1.5)
    scored = load_trials(simulate(rng, searching, **design)).trials
    recovered_max = pooled_dprime(scored)
    assert recovered_max["gan_face"] > recovered_max["table"] > 0


def test_lapses_lower_sensitivity_and_random_sensitivity_spreads_participants(rng):
    lapsing = ModelObserver.simple(TRUE_D, lapse_rate=0.5)
    recovered = pooled_dprime(load_trials(simulate(rng, lapsing)).trials)
    assert recovered["gan_face"] < 1.6
    spread = ModelObserver.simple({"table": 1.5}, sensitivity_sd=0.8)
    table = simulate(rng, spread, encodings=("table",), n_participants=30, n_datasets=30)
    per_person = load_trials(table).trials.groupby("participant")
    sums = per_person[["hits", "misses", "false_alarms", "correct_rejections"]].sum()
    person_d = sdt.dprime(*sdt.rates(*(sums[c].to_numpy() for c in sums.columns)))
    assert np.std(person_d) > 0.5


def test_deadline_times_out_slow_answers(rng):
    observer = ModelObserver.simple({"table": 1.0}, rt_median_ms=3000, rt_sigma=0.5)
    table = simulate(rng, observer, encodings=("table",), deadline_ms=3000.0)
    assert 0.3 < table["timed_out"].mean() < 0.7
    late = table[table["timed_out"]]
    assert (late["selected"] == "[]").all() and late["said_present"].isna().all()
    assert (late["rt_ms"] == 3000.0).all()
    answer = observer.respond(
        n_items=5, true_outliers=[2], encoding="table", response_mode="mark_outliers",
        rng=rng, deadline_ms=1.0,
    )  # fmt: skip
    assert answer.timed_out and answer.selected == [] and answer.rt_ms == 1.0


@pytest.mark.parametrize("mode", ["mark_outliers", "keypress", "m_afc", "yes_no"])
def test_respond_answers_in_the_modes_terms(rng, mode):
    observer = ModelObserver.simple({"plot": 3.0})
    answer = observer.respond(
        n_items=6, true_outliers=[4], encoding="plot", response_mode=mode, rng=rng
    )
    assert answer.rt_ms > 0 and not answer.timed_out
    assert all(0 <= item < 6 for item in answer.selected)
    if mode == "m_afc":
        assert len(answer.selected) == 1
    if mode == "yes_no":
        assert answer.selected == [] and isinstance(answer.said_present, bool)
    else:
        assert answer.said_present is None


def test_same_seed_same_table(seed):
    observer = ModelObserver.simple(TRUE_D, sensitivity_sd=0.3, lapse_rate=0.1)
    first = simulate(np.random.default_rng(seed), observer, n_participants=2, n_datasets=3)
    again = simulate(np.random.default_rng(seed), observer, n_participants=2, n_datasets=3)
    pd.testing.assert_frame_equal(first, again)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"d_prime": {}}, "at least one encoding"),
        ({"rt_sigma": {"table": 0.0}}, "rt_sigma"),
        ({"lapse_rate": 1.0}, "lapse_rate"),
        ({"yes_no_rule": "vote"}, "yes_no_rule"),
        ({"rt_mu": {"plot": 7.0}}, "same encodings"),
    ],
)
def test_bad_observer_configs_say_what_to_fix(settings, message):
    base = {"d_prime": {"table": 1.0}, "rt_mu": {"table": 7.0}, "rt_sigma": {"table": 0.3}}
    with pytest.raises(SimulationError, match=message):
        ModelObserver(**{**base, **settings})


def test_bad_designs_and_unknown_encodings_are_refused(rng):
    with pytest.raises(SimulationError, match="m_afc"):
        SimulationDesign(response_mode="m_afc", n_outliers=2)
    observer = ModelObserver.simple({"table": 1.0})
    design = make_design(SimulationDesign(encodings=("plot",), n_participants=1), rng=rng)
    with pytest.raises(SimulationError, match="no parameters for encoding 'plot'"):
        simulate_trials(design, observer, rng=rng)
    with pytest.raises(SimulationError, match="lacks columns"):
        simulate_trials(design.drop(columns="n_items"), observer, rng=rng)
    assert json.loads(make_design(SimulationDesign(), rng=rng)["true_outliers"].map(json.dumps)[0])
