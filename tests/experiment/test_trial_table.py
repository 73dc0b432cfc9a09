"""The trial table matches the contract (analysis.trial_contract) column for column, type
for type; CONTRACT_COLUMNS pins the order a published CSV has."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from sqlalchemy.orm import Session

from analysis.trial_contract import dtypes, written_columns
from analysis.trials import REQUIRED_COLUMNS, read_trials
from experiment.services.trial_table import COLUMNS, trial_table, trial_table_csv
from tests.experiment.researcher_data import (
    Answer,
    add_participant,
    add_researcher,
    add_study,
)

CONTRACT_COLUMNS = [
    "participant",
    "study",
    "encoding",
    "layout",
    "response_mode",
    "response_mode_version",
    "is_attention_check",
    "dataset_id",
    "stimulus_id",
    "trial_index",
    "is_practice",
    "n_items",
    "true_outliers",
    "selected",
    "said_present",
    "rt_ms",
    "timed_out",
    "deadline_ms",
    "presented_at",
    "answered_at",
]
#: the screen each trial was answered on, and per participant how often they left
#: full screen or the tab (optional columns: tables from elsewhere may lack them)
SCREEN_COLUMNS = [
    "screen_width",
    "screen_height",
    "window_width",
    "window_height",
    "device_pixel_ratio",
    "refresh_hz",
    "fullscreen_exits",
    "times_hidden",
]
#: when the trial's media were sent, the server's own clock, and the timing check's flag
TIMING_COLUMNS = ["served_at", "server_elapsed_ms", "timing_flag"]


@pytest.fixture
def session(connection) -> Session:
    with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
        yield session


def mark_study(session: Session):
    study = add_study(session, add_researcher(session), encodings=("chernoff", "table"))
    add_participant(
        session,
        study,
        [
            Answer("chernoff", (3,), (3,), is_practice=True),
            Answer("chernoff", (3, 7), (7, 3)),
            Answer("table", (1,), (1, 2), rt_ms=2500.25),
            Answer("table", (5,), (5,), timed_out=True, rt_ms=None),
            Answer("chernoff", (4,), (4,), is_attention_check=True),
            Answer("table", (2,), None),  # shown, never answered
        ],
        finished=True,
    )
    add_participant(session, study, [Answer("table", (), ())])
    return study


def test_columns_and_types_are_the_contract(session):
    study = mark_study(session)
    table = trial_table(session, study.id)
    assert list(table.columns) == [*CONTRACT_COLUMNS, *SCREEN_COLUMNS, *TIMING_COLUMNS, "response"]
    assert list(table.columns[: len(REQUIRED_COLUMNS)]) == list(REQUIRED_COLUMNS)
    assert {name: str(dtype) for name, dtype in table.dtypes.items()} == COLUMNS
    assert dtypes(written_columns()) == COLUMNS  # the site keeps no list of its own
    assert len(table) == 6  # the unanswered trial has no row
    first, second = sorted(table["participant"].unique())
    rows = table[table["participant"] == first].set_index("trial_index")
    assert list(rows.index) == [0, 1, 2, 3, 4]
    assert rows.loc[0, "is_practice"] and not rows.loc[1, "is_practice"]
    assert rows.loc[4, "is_attention_check"] and not rows.loc[1:3, "is_attention_check"].any()
    assert rows.loc[1, "true_outliers"] == "[3, 7]" and rows.loc[1, "selected"] == "[7, 3]"
    assert rows.loc[2, "rt_ms"] == 2500.25 and rows.loc[2, "deadline_ms"] == 10000.0
    assert rows.loc[3, "timed_out"] and rows.loc[3, "selected"] == "[]"
    assert pd.isna(rows.loc[3, "rt_ms"])
    assert table["said_present"].isna().all()  # not a yes_no study
    assert set(table["study"]) == {study.slug}
    assert set(table["response_mode"]) == {"mark_outliers"}
    assert rows.loc[1, "presented_at"] == "2026-11-23T09:00:10.000+00:00"
    assert rows.loc[1, "answered_at"] == "2026-11-23T09:00:11.500+00:00"
    assert json.loads(rows.loc[2, "response"]) == {"selected": [1, 2]}
    assert table[table["participant"] == second]["true_outliers"].tolist() == ["[]"]


def test_yes_no_answers_go_to_said_present_and_timeouts_stay_empty(session):
    study = add_study(session, add_researcher(session), response_mode="yes_no")
    add_participant(
        session,
        study,
        [
            Answer("chernoff", (3,), (), said_present=True),
            Answer("table", (), (), said_present=False),
            Answer("table", (1,), (), said_present=True, timed_out=True),
        ],
    )
    table = trial_table(session, study.id)
    assert table["said_present"].tolist()[:2] == [True, False]
    assert pd.isna(table["said_present"].iloc[2])
    assert table["selected"].tolist() == ["[]", "[]", "[]"]


def test_csv_and_frame_pass_the_analysis_loader(session, tmp_path):
    study = mark_study(session)
    text = trial_table_csv(session, study.id)
    assert text.splitlines()[0] == ",".join(
        [*CONTRACT_COLUMNS, *SCREEN_COLUMNS, *TIMING_COLUMNS, "response"]
    )
    path = tmp_path / "trials.csv"
    path.write_text(text, encoding="utf-8")
    from_csv = read_trials(path)
    from_frame = read_trials(trial_table(session, study.id))
    assert len(from_csv) == len(from_frame) == 6
    assert list(from_csv["selected"].iloc[1]) == [7, 3]
    assert from_csv["timed_out"].tolist() == from_frame["timed_out"].tolist()


def test_a_study_without_answers_gives_the_columns_and_no_rows(session):
    study = add_study(session, add_researcher(session))
    table = trial_table(session, study.id)
    assert table.empty and list(table.columns) == [
        *CONTRACT_COLUMNS,
        *SCREEN_COLUMNS,
        *TIMING_COLUMNS,
        "response",
    ]
    assert trial_table(session, 10**9).empty


def test_only_the_asked_study_is_in_the_table(session):
    one = mark_study(session)
    other = mark_study(session)
    assert set(trial_table(session, one.id)["study"]) == {one.slug}
    assert set(trial_table(session, other.id)["study"]) == {other.slug}
