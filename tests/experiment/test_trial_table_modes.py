"""The trial table of bot-answered studies follows the contract's semantics per mode."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from analysis.trials import read_trials
from experiment.services.trial_table import COLUMNS, trial_table
from tests.experiment.test_dashboard import take_study

MODES = {
    "mark_outliers": {"layouts": ("grid",)},
    "yes_no": {"layouts": ("grid",)},
    "m_afc": {"layouts": ("grid",)},
    "keypress": {"layouts": ("sequence",), "encodings": ("chernoff", "table")},
}


@pytest.mark.parametrize("mode", sorted(MODES))
def test_each_mode_writes_contract_rows(mode, app, make_study, stimulus_set, db_session):
    study = make_study(slug=f"mode-{mode.replace('_', '-')}", response_modes=(mode,), **MODES[mode])
    take_study(app, stimulus_set, study.slug, pid=f"{mode}-1")
    table = trial_table(db_session, study.id)
    assert {name: str(dtype) for name, dtype in table.dtypes.items()} == COLUMNS
    assert len(table) == 4 + 1 + 1 and set(table["response_mode"]) == {mode}
    assert table["trial_index"].tolist() == list(range(6))
    assert table["is_practice"].tolist()[0] and table["is_practice"].sum() == 1
    assert table["is_attention_check"].sum() == 1
    answered = table[~table["timed_out"]]
    selected = answered["selected"].map(json.loads)
    if mode == "yes_no":
        assert answered["said_present"].notna().all()
        assert (selected.map(len) == 0).all()
    else:
        assert table["said_present"].isna().all()
    if mode == "m_afc":
        assert (selected.map(len) == 1).all()
        assert (answered["true_outliers"].map(json.loads).map(len) == 1).all()
    for items, n_items in zip(selected, answered["n_items"], strict=True):
        assert all(0 <= item < n_items for item in items)
    assert pd.to_datetime(table["presented_at"], format="ISO8601").dt.tz is not None
    assert (table["rt_ms"].dropna() > 0).all()
    read_trials(table)  # the analysis package accepts it as it is
