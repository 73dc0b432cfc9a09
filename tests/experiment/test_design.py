"""Latin-square counterbalancing and per-participant trial plans."""

from collections import Counter

import numpy as np
import pytest

from experiment import design
from experiment.stimulus_sets import load


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


def test_plan_is_reproducible_and_shaped_by_the_square(stimulus_set, seed):
    loaded = load(stimulus_set)
    conditions = design.build_conditions(
        ("gan_face", "chernoff", "table", "plot"), ("grid",), ("mark_outliers",)
    )

    def plan(row, s):
        return design.plan_trials(
            loaded,
            conditions,
            latin_square_row=row,
            main_trials=8,
            practice_trials=2,
            attention_checks=2,
            rng=np.random.default_rng(s),
        )

    first = plan(0, seed)
    assert first == plan(0, seed)
    assert first != plan(0, seed + 1)
    assert [t.is_practice for t in first] == [True, True] + [False] * 10
    assert sum(t.is_attention_check for t in first) == 2
    main = [t for t in first if not t.is_practice]
    assert Counter(t.condition.encoding for t in main if not t.is_attention_check) == {
        "gan_face": 2,
        "chernoff": 2,
        "table": 2,
        "plot": 2,
    }
    # blocks follow the square's row: encodings appear in row order
    square = design.balanced_latin_square(4)
    names = ["gan_face", "chernoff", "table", "plot"]
    for row in range(4):
        blocks = list(
            dict.fromkeys(t.condition.encoding for t in plan(row, seed) if not t.is_practice)
        )
        assert blocks == [names[i] for i in square[row]]
    for trial in first:
        stimulus = loaded.stimuli[trial.stimulus_id]
        assert sorted(trial.display_order) == sorted(i["item"] for i in stimulus["items"])
        assert stimulus["encoding"] == trial.condition.encoding


def test_m_afc_only_gets_single_outlier_datasets(stimulus_set, rng):
    loaded = load(stimulus_set)
    conditions = design.build_conditions(("chernoff",), ("grid",), ("m_afc",))
    trials = design.plan_trials(
        loaded,
        conditions,
        latin_square_row=0,
        main_trials=12,
        practice_trials=0,
        attention_checks=0,
        rng=rng,
    )
    assert {len(loaded.true_outliers(t.dataset_id)) for t in trials} == {1}
