"""Dashboard figures on hand-made answers whose right and wrong are known."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from experiment.services.progress import Accuracy, is_correct, study_progress
from tests.experiment.researcher_data import Answer, add_participant, add_researcher, add_study


@pytest.fixture
def session(connection) -> Session:
    with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
        yield session


@pytest.mark.parametrize(
    ("mode", "selected", "said_present", "truth", "timed_out", "expected"),
    [
        ("mark_outliers", [3, 7], None, [7, 3], False, True),
        ("mark_outliers", [3], None, [3, 7], False, False),
        ("mark_outliers", [], None, [], False, True),
        ("keypress", [2, 5], None, [2], False, False),
        ("m_afc", [4], None, [4], False, True),
        ("m_afc", [1], None, [4], False, False),
        ("yes_no", [], True, [4], False, True),
        ("yes_no", [], False, [], False, True),
        ("yes_no", [], True, [], False, False),
        ("yes_no", [], None, [4], False, False),
        ("mark_outliers", [3], None, [3], True, False),
    ],
)
def test_exact_scoring_per_mode(mode, selected, said_present, truth, timed_out, expected):
    assert (
        is_correct(
            mode,
            selected=selected,
            said_present=said_present,
            true_outliers=truth,
            n_items=8,
            timed_out=timed_out,
        )
        is expected
    )


def test_counts_and_accuracy_per_study(session):
    researcher = add_researcher(session)
    study = add_study(session, researcher, encodings=("chernoff", "table"))
    empty = add_study(session, researcher)
    add_participant(
        session,
        study,
        [
            Answer("chernoff", (3,), (), is_practice=True),  # wrong, but practice
            Answer("chernoff", (3,), (3,)),
            Answer("chernoff", (2,), (1,)),
            Answer("table", (1, 2), (2, 1)),
            Answer("table", (5,), (5,), timed_out=True),
            Answer("chernoff", (4,), (4,), is_attention_check=True),
            Answer("table", (0,), None),  # shown, not answered
        ],
        finished=True,
    )
    add_participant(session, study, [Answer("table", (0,), (0,))])
    figures = study_progress(session, [study.id, empty.id])
    progress = figures[study.id]
    assert (progress.participants_started, progress.participants_finished) == (2, 1)
    assert (progress.trials_planned, progress.trials_saved, progress.timed_out) == (8, 7, 1)
    assert progress.accuracy_by_encoding == {
        "chernoff": Accuracy(1, 2),
        "table": Accuracy(2, 3),
    }
    assert progress.attention_checks == Accuracy(1, 1)
    assert progress.as_json()["accuracy_by_encoding"]["table"]["proportion"] == pytest.approx(2 / 3)
    assert figures[empty.id].trials_saved == 0 and figures[empty.id].accuracy_by_encoding == {}
    assert figures[empty.id].attention_checks.proportion is None
    assert study_progress(session, []) == {}
