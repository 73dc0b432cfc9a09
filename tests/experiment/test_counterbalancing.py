"""Counterbalancing by completions: finished plus active participants hold Latin-square
rows; an enrolment not finished within the study's cutoff frees its row."""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from experiment.models import ParticipantStatus
from experiment.services.external_ids import ExternalIds
from experiment.services.participants import enrol
from experiment.stimulus_sets import load
from tests.experiment.conftest import TEST_SECRET_KEY

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _enrol(db_session, study, loaded, number, now):
    return enrol(
        db_session,
        study=study,
        stimulus_set=loaded,
        key=ExternalIds("pid", f"person-{number}").key(
            secret_key=TEST_SECRET_KEY, study_id=study.id, browser_nonce=f"browser-{number}"
        ),
        now=now,
        seed=number,
    )


@pytest.mark.parametrize("spacing_minutes", [12, 25])
def test_alternating_finishers_and_abandoned_consents_fill_every_row(
    make_study, db_session, stimulus_set, spacing_minutes
):
    """12 finishers alternate with 12 consents that never go on. Arrivals 12 minutes
    apart: an abandoned start still holds its row when the next person comes (it may
    yet finish), and is freed at its cutoff; 25 minutes apart it is freed by then."""
    study = make_study(expected_minutes=10)  # 4 encodings: 4 rows; cutoff 20 minutes
    assert study.abandon_after_minutes == 20
    loaded = load(stimulus_set)
    finishers = Counter()
    now = START
    for number in range(24):
        participant = _enrol(db_session, study, loaded, number, now)
        if number % 2 == 0:
            participant.status = ParticipantStatus.finished
            participant.finished_at = now + timedelta(minutes=8)
            finishers[participant.latin_square_row] += 1
        db_session.commit()
        now += timedelta(minutes=spacing_minutes)
    assert sorted(finishers) == [0, 1, 2, 3]  # every row gets finishers
    assert max(finishers.values()) - min(finishers.values()) <= 2
    if spacing_minutes > study.abandon_after_minutes:
        assert finishers == {0: 3, 1: 3, 2: 3, 3: 3}


def test_an_unfinished_enrolment_holds_its_row_until_the_cutoff(
    make_study, db_session, stimulus_set
):
    study = make_study(expected_minutes=5, abandon_after_minutes=30)
    loaded = load(stimulus_set)
    rows = [_enrol(db_session, study, loaded, n, START).latin_square_row for n in range(4)]
    assert rows == [0, 1, 2, 3]
    # nobody finished; within the cutoff every row is held once, so row 0 comes next
    assert _enrol(db_session, study, loaded, 4, START + timedelta(minutes=29)).latin_square_row == 0
    # after the cutoff the first four free their rows; only the fifth still holds row 0
    late = _enrol(db_session, study, loaded, 5, START + timedelta(minutes=31))
    assert late.latin_square_row == 1
