"""Who may continue as a participant, what the cookie holds, and who earns the code.

Each of these failed before (issue 15, point 6 and 7): a new browser with someone's
``PROLIFIC_PID`` took them over, ids were cut to 128 characters (two long ids became one
participant), the signed but readable cookie carried the raw ids, and ``timed_out: true``
on every trial earned the completion code.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from experiment.models import Participant
from experiment.services.studies import StudyError
from tests.experiment.conftest import small_study_params
from tests.experiment.participant_client import Participant as Browser
from tests.experiment.participant_client import some_answer

PID = "5f1e0000aaaabbbbccccdddd"
LINK = f"?PROLIFIC_PID={PID}&STUDY_ID=st1&SESSION_ID=session-one"


def finish(browser: Browser, *, timed_out: bool = False) -> None:
    browser.open_runner()
    while not (nxt := browser.next().json)["done"]:
        trial = nxt["trial"]
        browser.start(trial["id"])
        extra = {"timed_out": True} if timed_out else {}
        response = None if timed_out else some_answer(trial)
        assert browser.answer(trial["id"], response, **extra).status_code == 201


def test_the_external_id_alone_does_not_take_a_participant_over(app, client, study):
    Browser(client).consent(LINK)
    for link in (f"?PROLIFIC_PID={PID}", f"?PROLIFIC_PID={PID}&SESSION_ID=guessed"):
        intruder = app.test_client()
        page = intruder.get(f"/s/site-test/{link}")
        assert page.status_code == 409 and b"another browser" in page.data
        assert intruder.get("/s/site-test/run").status_code == 302  # back to the entry
    # the participant, from a new browser but with Prolific's same session, resumes
    again = app.test_client()
    assert again.get(f"/s/site-test/{LINK}").headers["Location"] == "/s/site-test/run"
    assert again.get("/s/site-test/run").status_code == 200


def test_a_generic_pid_resumes_only_in_its_own_browser(app, client, study, db_session):
    Browser(client).consent("?pid=participant-7")
    assert client.get("/s/site-test/?pid=participant-7").status_code == 302
    assert app.test_client().get("/s/site-test/?pid=participant-7").status_code == 409
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Participant)) == 1


def test_a_consent_posted_from_a_link_opened_before_enrolment_cannot_take_over(
    app, client, study, db_session
):
    """The intruder opens the link first, waits for the real participant to consent,
    then posts their own consent: a participant of their own? No: refused."""
    intruder = Browser(app.test_client())
    page = intruder.client.get("/s/site-test/?pid=shared-id")
    Browser(client).consent("?pid=shared-id")
    from tests.experiment.participant_client import CSRF

    csrf = CSRF.search(page.data).group(1).decode()
    taken = intruder.client.post(
        "/s/site-test/consent", data={"csrf_token": csrf, "consent": "yes"}
    )
    assert taken.status_code == 409
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Participant)) == 1


def test_a_finished_participant_found_by_id_sees_no_completion_code(app, client, study):
    browser = Browser(client)
    browser.consent(LINK)
    finish(browser)
    assert b"C0DE1234" in client.get("/s/site-test/debrief").data
    stranger = app.test_client()
    page = stranger.get(f"/s/site-test/?PROLIFIC_PID={PID}")
    assert page.status_code == 403 and b"C0DE1234" not in page.data
    assert stranger.get("/s/site-test/debrief").status_code == 302


def test_long_ids_are_never_cut_into_one(app, study, db_session):
    shared = "x" * 200
    for suffix in ("-alice", "-bob"):
        Browser(app.test_client()).consent(f"?pid={shared}{suffix}")
    hashes = db_session.scalars(sa.select(Participant.external_id_hash)).all()
    assert len(set(hashes)) == 2
    too_long = app.test_client().get(f"/s/site-test/?pid={'y' * 257}")
    assert too_long.status_code == 400 and b"longer than 256" in too_long.data


def test_the_cookie_holds_no_raw_external_id(app, client, study):
    client.get(f"/s/site-test/{LINK}")
    serializer = app.session_interface.get_signing_serializer(app)
    before_consent = serializer.loads(client.get_cookie("glyphlab_session").value)
    Browser(client).consent(LINK)
    after_consent = serializer.loads(client.get_cookie("glyphlab_session").value)
    for content in (before_consent, after_consent):
        text = json.dumps(content)
        assert PID not in text and "session-one" not in text


def test_timing_out_every_trial_earns_no_completion_code(client, study):
    browser = Browser(client)
    browser.consent("?pid=idle")
    finish(browser, timed_out=True)
    page = client.get("/s/site-test/debrief")
    assert page.status_code == 200
    assert b"C0DE1234" not in page.data
    assert b"You answered 0 trials in time" in page.data and b"at least 2" in page.data


def test_the_minimum_is_the_researchers_and_checked(make_study):
    assert make_study(slug="needs-four", min_answered_trials=4).min_answered_trials == 4
    assert make_study(slug="default-half").min_answered_trials == 2  # of 4 main trials
    with pytest.raises(StudyError, match="min_answered_trials must be a whole number from 0"):
        small_study_params(min_answered_trials=5)
