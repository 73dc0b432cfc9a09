"""Designs valid by construction: Latin square over encoding x dataset, equal trials per
encoding, each dataset at most once per participant, target-absent trials, refusals."""

from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from experiment import design
from experiment.stimulus_sets import load

ALL = ("gan_face", "chernoff", "table", "plot")


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_balanced_latin_square_is_latin_and_balanced(n):
    rows = design.balanced_latin_square(n)
    assert len(rows) == (n if n % 2 == 0 else 2 * n)
    for row in rows:
        assert sorted(row) == list(range(n))
    for column in range(n):
        assert Counter(row[column] for row in rows) == {k: len(rows) // n for k in range(n)}
    # every ordered pair of neighbours occurs equally often (carry-over balance)
    pairs = Counter((row[i], row[i + 1]) for row in rows for i in range(n - 1))
    assert len(set(pairs.values())) == 1
    assert len(pairs) == n * (n - 1)


def _design(loaded, encodings, modes=("mark_outliers",), layouts=("grid",), trials=4, share=0.5):
    conditions = design.build_conditions(encodings, layouts, modes)
    return conditions, design.build_design(
        loaded, conditions, main_trials=trials, target_present_share=share
    )


def _plan(loaded, conditions, study_design, row, seed, practice=2, checks=2):
    return design.plan_trials(
        loaded,
        conditions,
        study_design,
        latin_square_row=row,
        practice_trials=practice,
        attention_checks=checks,
        rng=np.random.default_rng(seed),
    )


def test_plan_is_reproducible_and_shaped_by_the_square(stimulus_set, seed):
    loaded = load(stimulus_set)
    conditions, study_design = _design(loaded, ALL, trials=8)
    first = _plan(loaded, conditions, study_design, 0, seed)
    assert first == _plan(loaded, conditions, study_design, 0, seed)
    assert first != _plan(loaded, conditions, study_design, 0, seed + 1)
    assert [t.is_practice for t in first] == [True, True] + [False] * 10
    assert sum(t.is_attention_check for t in first) == 2
    main = [t for t in first if not (t.is_practice or t.is_attention_check)]
    assert Counter(t.condition.encoding for t in main) == dict.fromkeys(ALL, 2)
    square = design.balanced_latin_square(4)
    for row in range(4):
        trials = _plan(loaded, conditions, study_design, row, seed)
        blocks = list(dict.fromkeys(t.condition.encoding for t in trials if not t.is_practice))
        assert blocks == [ALL[i] for i in square[row]]
    for trial in first:
        stimulus = loaded.stimuli[trial.stimulus_id]
        assert sorted(trial.display_order) == sorted(i["item"] for i in stimulus["items"])
        assert stimulus["encoding"] == trial.condition.encoding


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    n_encodings=st.integers(1, 4),
    per_condition=st.integers(1, 3),
    modes=st.sampled_from([("mark_outliers",), ("yes_no",), ("mark_outliers", "yes_no")]),
    seed=st.integers(0, 2**32),
)
def test_every_participant_sees_each_dataset_once_and_every_encoding_equally(
    stimulus_set, n_encodings, per_condition, modes, seed
):
    loaded = load(stimulus_set)
    encodings = ALL[:n_encodings]
    trials = n_encodings * len(modes) * per_condition
    try:
        conditions, study_design = _design(loaded, encodings, modes, trials=trials)
    except design.DesignError as error:
        # refused only when the set really is short of datasets, and it says so
        assert "missing" in str(error)
        return
    seen_in = Counter()
    for row in range(study_design.rows):
        plan = _plan(loaded, conditions, study_design, row, seed + row, practice=1, checks=1)
        main = [t for t in plan if not (t.is_practice or t.is_attention_check)]
        assert len(main) == trials
        datasets = [t.dataset_id for t in main]
        assert len(set(datasets)) == len(datasets)
        per_encoding = Counter(t.condition.encoding for t in main)
        assert per_encoding == dict.fromkeys(encodings, trials // n_encodings)
        seen_in.update((t.dataset_id, t.condition.encoding) for t in main)
    # across a complete square every dataset appears in every encoding equally often
    used = {d for d, _ in seen_in}
    assert set(seen_in) == {(d, e) for d in used for e in encodings}
    assert len(set(seen_in.values())) == 1


def test_yes_no_gets_target_absent_trials_at_the_share(stimulus_set, seed):
    loaded = load(stimulus_set)
    conditions, study_design = _design(loaded, ALL, ("yes_no",), trials=4, share=0.5)
    present = Counter()
    for row in range(study_design.rows):
        for trial in _plan(loaded, conditions, study_design, row, seed, practice=0, checks=0):
            has = bool(loaded.true_outliers(trial.dataset_id))
            present[(trial.condition.encoding, has)] += 1
    # 2 of 4 trials per participant have an outlier; each encoding gets both kinds equally
    assert present == {(e, flag): 2 for e in ALL for flag in (True, False)}
    _, mostly = _design(loaded, ALL, ("yes_no",), trials=4, share=0.75)
    assert sum(s.target_present for g in mostly.groups for s in g) == 3


def test_m_afc_only_gets_single_outlier_datasets(stimulus_set, seed):
    loaded = load(stimulus_set)
    conditions, study_design = _design(loaded, ("chernoff",), ("m_afc",), trials=6)
    trials = _plan(loaded, conditions, study_design, 0, seed, practice=0, checks=0)
    assert {len(loaded.true_outliers(t.dataset_id)) for t in trials} == {1}


@pytest.mark.parametrize(
    ("encodings", "modes", "layouts", "trials", "message"),
    [
        (ALL, ("mark_outliers",), ("grid",), 6, r"6 main trials cannot be shared equally by 4 "),
        (ALL, ("mark_outliers",), ("grid",), 6, r"use a multiple of 4, e.g. 4 or 8"),
        (
            ALL,
            ("mark_outliers",),
            ("grid",),
            16,
            r"16 of any kind .*\(12 available, 4 missing\)",
        ),
        (ALL, ("yes_no",), ("grid",), 12, r"6 without an outlier .*\(4 available, 2 missing\)"),
        (ALL, ("keypress",), ("sequence",), 4, r"gan_face/sequence, plot/sequence"),
        (("chernoff",), ("keypress",), ("grid",), 1, r"layout \['grid'\] has no condition"),
        (
            ("chernoff",),
            ("mark_outliers", "keypress"),
            ("grid",),
            1,
            r"response mode \['keypress'\]",
        ),
    ],
)
def test_a_study_the_set_cannot_supply_is_refused_with_what_is_missing(
    stimulus_set, encodings, modes, layouts, trials, message
):
    with pytest.raises(design.DesignError, match=message):
        _design(load(stimulus_set), encodings, modes, layouts, trials=trials)
