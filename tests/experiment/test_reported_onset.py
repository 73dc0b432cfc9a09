"""The onset reported with the answer (``onset_after_request_ms``), instead of a start call.

The runner measures the time from sending the request whose reply brought a trial to
the trial's stimulus onset; the server adds it to ``served_at`` (that request's arrival)
and checks ``rt_ms`` against the result as it would against a start call
(docs/participant-api.md, "Timing rules"). Every test runs on SQLite and PostgreSQL.
"""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from experiment.app import SITE_KEY
from experiment.models import Response, Trial
from experiment.services.trials import ServedTrials
from tests.experiment.conftest import statements
from tests.experiment.participant_client import consented, some_answer


@pytest.fixture
def browser(client, study):
    return consented(client)


def row_of(db_session, trial_id: str) -> tuple[Trial, Response | None]:
    trial = db_session.scalars(sa.select(Trial).where(Trial.public_id == trial_id)).one()
    db_session.refresh(trial)
    response = db_session.scalars(sa.select(Response).where(Response.trial_id == trial.id)).first()
    return trial, response


def report(browser, trial: dict, onset_ms, **extra):
    """Answer ``trial`` as the runner does: no start call, the onset in the answer."""
    return browser.answer(
        trial["id"], some_answer(trial), start=False, onset_after_request_ms=onset_ms, **extra
    )


def first_main_trial(browser) -> dict:
    """Answer the practice trial; the first main trial, fetched (and so served)."""
    practice = browser.next().json["trial"]
    assert report(browser, practice, 500.0).status_code == 201
    return browser.next().json["trial"]


def test_the_onset_is_delivery_plus_the_reported_time(browser, clock, db_session):
    trial = browser.next().json["trial"]
    clock.advance(520)  # fixation 500 ms, the onset 20 ms late
    clock.advance(700)  # the participant answers 700 ms after it
    saved = report(browser, trial, 520.0, rt_ms=700.0)
    assert saved.status_code == 201 and saved.json["timed_out"] is False
    row, response = row_of(db_session, trial["id"])
    assert row.presented_at - row.served_at == timedelta(milliseconds=520)
    assert response.server_elapsed_ms == pytest.approx(700.0)
    assert response.timing_flag is None


def test_an_rt_far_below_the_time_since_the_reported_onset_is_flagged(browser, clock, db_session):
    """The audit case of a start call (rt_ms 1 sent 2.5 s after onset), reported instead."""
    trial = browser.next().json["trial"]
    clock.advance(500 + 2500)
    saved = report(browser, trial, 500.0, rt_ms=1.0)
    assert saved.status_code == 201
    _, response = row_of(db_session, trial["id"])
    assert response.timing_flag == "rt_below_server_elapsed"


def test_a_reported_onset_after_the_answer_arrived_is_put_at_its_arrival(
    browser, clock, db_session
):
    """Claiming the stimulus came later than the answer buys nothing: the onset is never
    after the answer's arrival, and the deadline still counts from delivery."""
    trial = browser.next().json["trial"]
    clock.advance(900)
    saved = report(browser, trial, 1e9, rt_ms=300.0)
    assert saved.status_code == 201 and saved.json["timed_out"] is False
    row, response = row_of(db_session, trial["id"])
    assert row.presented_at == row.answered_at
    assert response.server_elapsed_ms == 0.0


def test_a_late_reported_onset_does_not_move_the_deadline(browser, clock, db_session, site_config):
    trial = browser.next().json["trial"]
    allowed = trial["fixation_ms"] + trial["deadline_ms"] + site_config.grace_ms
    clock.advance(allowed + 1)
    saved = report(browser, trial, allowed, rt_ms=200.0)
    assert saved.status_code == 201 and saved.json["timed_out"] is True


def test_a_start_calls_onset_is_kept_over_a_reported_one(browser, clock, db_session):
    trial = browser.next().json["trial"]
    clock.advance(500)
    assert browser.start(trial["id"]).status_code == 200
    clock.advance(800)
    assert report(browser, trial, 100.0).status_code == 201
    row, response = row_of(db_session, trial["id"])
    assert row.presented_at - row.served_at == timedelta(milliseconds=500)
    assert response.server_elapsed_ms == pytest.approx(800.0)


@pytest.mark.parametrize(
    ("onset", "message"),
    [(-1, "must not be negative"), ("soon", "onset_after_request_ms"), (True, "number")],
)
def test_a_bad_reported_onset_is_400_and_stores_nothing(browser, db_session, onset, message):
    trial = browser.next().json["trial"]
    refused = report(browser, trial, onset)
    assert refused.status_code == 400 and message in refused.json["error"]
    row, response = row_of(db_session, trial["id"])
    assert response is None and row.presented_at is None and row.answered_at is None


def test_an_answer_with_no_onset_at_all_is_409(browser, db_session):
    trial = browser.next().json["trial"]
    refused = browser.answer(trial["id"], some_answer(trial), start=False)
    assert refused.status_code == 409 and "onset_after_request_ms" in refused.json["error"]
    assert row_of(db_session, trial["id"])[1] is None


@pytest.mark.parametrize("served_here", [True, False])
def test_an_answer_to_a_trial_this_process_served_is_one_statement_on_postgresql(
    app, browser, clock, connection, db_session, served_here
):
    """The trial the previous answer's reply brought, answered with its onset: on
    PostgreSQL one guarded statement (no read) where this process served it, the
    caller's read first where it did not; the onset is written with the answer."""
    first = first_main_trial(browser)
    following = report(browser, first, 500.0).json["next"]
    if not served_here:  # as if another process (or one restarted since) had served it
        app.extensions[SITE_KEY].served_trials = ServedTrials()
    clock.advance(1500)
    with statements(connection) as seen:
        saved = report(browser, following, 510.0)
    assert saved.status_code == 201
    one = connection.dialect.name == "postgresql"
    reads = sum(s.startswith("SELECT") for s in seen)
    assert reads == (0 if one and served_here else 1)
    row, response = row_of(db_session, following["id"])
    assert row.presented_at - row.served_at == timedelta(milliseconds=510)
    assert response is not None and response.rt_ms == 800.0


def test_a_resent_answer_keeps_its_first_onset(browser, clock, db_session):
    trial = browser.next().json["trial"]
    clock.advance(1000)
    first = report(browser, trial, 500.0, key="resend-onset-01")
    clock.advance(3000)
    again = report(browser, trial, 500.0, key="resend-onset-01")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json["status"] == "duplicate"
    row, _ = row_of(db_session, trial["id"])
    assert row.presented_at - row.served_at == timedelta(milliseconds=500)
