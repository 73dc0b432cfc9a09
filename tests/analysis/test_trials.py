"""Trial-table loading, validation errors, scoring per response mode, and exclusions."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.errors import AnalysisError
from analysis.trials import REQUIRED_COLUMNS, TrialOptions, load_trials, read_trials, score_trials
from glyphlab.errors import GlyphlabError
from tests.analysis.factories import trial_frame, trial_row


def scored(**row) -> pd.Series:
    return score_trials(read_trials(trial_frame([trial_row(**row)]))).iloc[0]


def cells(row: pd.Series) -> tuple[int, int, int, int]:
    return tuple(int(row[c]) for c in ("hits", "false_alarms", "misses", "correct_rejections"))


def test_csv_round_trip_parses_types_and_passes_extra_columns(tmp_path):
    frame = trial_frame([trial_row(selected=[3]), trial_row(selected=[1, 3], rt_ms=900.5)])
    frame["age_band"] = ["18-24", "25-34"]
    path = tmp_path / "trials.csv"
    frame.to_csv(path, index=False)
    table = read_trials(path)
    assert table["selected"].tolist() == [[3], [1, 3]]
    assert table["true_outliers"].tolist() == [[3], [3]]
    assert table["timed_out"].dtype == bool and table["n_items"].dtype == np.int64
    assert table["response_mode_version"].tolist() == ["1", "1"]
    assert table["age_band"].tolist() == ["18-24", "25-34"]
    assert str(table["presented_at"].dt.tz) == "UTC"
    frame.loc[1, "selected"] = None  # an empty CSV cell: nothing selected
    frame.to_csv(path, index=False)
    assert read_trials(path)["selected"].tolist() == [[3], []]


def test_mark_outliers_counts_items():
    row = scored(n_items=8, true_outliers=[3, 7], selected=[3, 5])
    assert cells(row) == (1, 1, 1, 5)
    assert (row["n_signal"], row["n_noise"]) == (2, 6)
    assert not row["correct"]
    assert row["log_rt"] == pytest.approx(np.log(1500.0))
    assert scored(true_outliers=[3, 7], selected=[7, 3])["correct"]


def test_keypress_is_scored_per_item_like_marking():
    row = scored(response_mode="keypress", layout="sequence", true_outliers=[2], selected=[2])
    assert cells(row) == (1, 0, 0, 7) and row["correct"]


def test_m_afc_correct_means_the_outlier_was_chosen():
    right = scored(response_mode="m_afc", n_items=4, true_outliers=[2], selected=[2])
    wrong = scored(response_mode="m_afc", n_items=4, true_outliers=[2], selected=[0])
    assert cells(right) == (1, 0, 0, 3) and right["correct"]
    assert cells(wrong) == (0, 1, 1, 2) and not wrong["correct"]


def test_yes_no_is_presence_level():
    assert cells(scored(response_mode="yes_no", true_outliers=[1], said_present=True)) == (
        1,
        0,
        0,
        0,
    )
    absent_yes = scored(response_mode="yes_no", true_outliers=[], said_present="true")
    assert cells(absent_yes) == (0, 1, 0, 0) and not absent_yes["correct"]
    absent_no = scored(response_mode="yes_no", true_outliers=[], said_present=False)
    assert cells(absent_no) == (0, 0, 0, 1) and absent_no["correct"]


def test_timeouts_are_misses_without_rt():
    item = scored(true_outliers=[3], timed_out=True, rt_ms=10000.0)
    assert cells(item) == (0, 0, 1, 7) and not item["correct"] and np.isnan(item["log_rt"])
    yes_no = scored(response_mode="yes_no", true_outliers=[], timed_out=True)
    assert cells(yes_no) == (0, 0, 0, 0) and not yes_no["correct"]
    afc = scored(response_mode="m_afc", n_items=3, true_outliers=[1], timed_out=True)
    assert cells(afc) == (0, 0, 1, 2)


def test_practice_attention_checks_and_timeout_policy():
    rows = [trial_row(participant="P1", selected=[3])] * 3
    rows += [trial_row(participant="P1", is_practice=True, selected=[])]
    rows += [trial_row(participant="P1", is_attention_check=True, selected=[])]  # failed 1
    rows += [trial_row(participant="P2", selected=[3]), trial_row(participant="P2", timed_out=True)]
    rows += [trial_row(participant="P2", is_attention_check=True, selected=[])] * 2  # failed 2
    table = load_trials(trial_frame(rows))
    assert table.trials["participant"].unique().tolist() == ["P1"]
    assert len(table.trials) == 3
    p2 = table.participants.set_index("participant").loc["P2"]
    assert p2["excluded"] and "attention" in p2["exclusion_reason"]
    assert p2["n_timeouts"] == 1 and p2["n_attention_failed"] == 2
    lenient = load_trials(trial_frame(rows), TrialOptions(max_attention_failures=None))
    assert len(lenient.trials) == 5
    strict = TrialOptions(max_attention_failures=None, timeouts="exclude")
    assert len(load_trials(trial_frame(rows), strict).trials) == 4


def test_missing_columns_are_named():
    frame = trial_frame([trial_row()]).drop(columns=["rt_ms", "selected"])
    with pytest.raises(AnalysisError, match=r"lacks column\(s\) selected, rt_ms"):
        read_trials(frame)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("rt_ms", "fast", "'rt_ms': expected a number"),
        ("n_items", 2.5, "'n_items': expected an integer"),
        ("timed_out", "maybe", "'timed_out': expected true/false"),
        ("selected", "[1, 1]", "'selected': expected a JSON list"),
        ("true_outliers", "3, 7", "'true_outliers': expected a JSON list"),
        ("response_mode", "slider", "'response_mode': expected mark_outliers"),
        ("participant", "", "'participant': expected a non-empty"),
    ],
)
def test_wrong_types_name_the_column_and_row(column, value, message):
    frame = trial_frame([trial_row(), trial_row()])
    frame[column] = frame[column].astype(object)
    frame.loc[1, column] = value
    with pytest.raises(GlyphlabError, match=message) as error:
        read_trials(frame)
    assert "row 1" in str(error.value)


def test_inconsistent_answers_are_rejected():
    with pytest.raises(AnalysisError, match="one choice"):
        read_trials(trial_frame([trial_row(response_mode="m_afc", selected=[1, 2])]))
    with pytest.raises(AnalysisError, match="answered presence"):
        read_trials(trial_frame([trial_row(response_mode="yes_no")]))


def test_empty_inputs(tmp_path):
    with pytest.raises(AnalysisError, match="no rows"):
        read_trials(pd.DataFrame(columns=list(REQUIRED_COLUMNS)))
    with pytest.raises(AnalysisError, match="not found"):
        read_trials(tmp_path / "nope.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(AnalysisError, match="cannot read"):
        read_trials(tmp_path / "empty.csv")
    with pytest.raises(AnalysisError, match="no trials left"):
        load_trials(trial_frame([trial_row(is_practice=True)]))


def test_bad_options():
    with pytest.raises(AnalysisError, match="timeouts"):
        TrialOptions(timeouts="drop")


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_item_cells_partition_the_items(data):
    n_items = data.draw(st.integers(1, 16))
    items = st.lists(st.integers(0, n_items - 1), unique=True, max_size=n_items)
    truth, chosen = data.draw(items), data.draw(items)
    timed_out = data.draw(st.booleans())
    row = scored(
        n_items=n_items,
        true_outliers=truth,
        selected=[] if timed_out else chosen,
        timed_out=timed_out,
    )
    hits, false_alarms, misses, rejections = cells(row)
    assert hits + false_alarms + misses + rejections == n_items
    assert hits + misses == len(truth) == row["n_signal"]
    assert row["correct"] == (not timed_out and false_alarms == 0 and misses == 0)
