"""The participant side end to end with Flask's test client, on SQLite and PostgreSQL."""

import json
import re

import numpy as np
import sqlalchemy as sa

from experiment.bot import Bot, app_wait, wsgi_client
from experiment.models import (
    BrowserSession,
    Event,
    Participant,
    ParticipantStatus,
    Response,
    StudyStatus,
    Trial,
)
from experiment.services.studies import set_status
from tests.experiment.conftest import plan_seeds
from tests.experiment.participant_client import CSRF, TOKEN, some_answer
from tests.experiment.participant_client import Participant as Browser


def test_whole_flow_stores_every_answer_once(client, study, db_session):
    browser = Browser(client)
    browser.consent("?PROLIFIC_PID=5f1e0000aaaa&STUDY_ID=st1&SESSION_ID=se1")
    assert client.get("/s/site-test/instructions").status_code == 200
    browser.open_runner()
    seen = []
    while not (nxt := browser.next().json)["done"]:
        trial = nxt["trial"]
        seen.append((trial["phase"], trial["number"], trial["of"]))
        assert browser.start(trial["id"]).status_code == 200
        saved = browser.answer(trial["id"], some_answer(trial))
        assert saved.status_code == 201, saved.json
        assert (saved.json["feedback"] is not None) == (trial["phase"] == "practice")
    assert seen[0] == ("practice", 1, 1)
    assert [s[1] for s in seen[1:]] == [1, 2, 3, 4, 5]
    assert nxt["next_url"] == "/s/site-test/debrief"
    debrief = client.get("/s/site-test/debrief")
    assert debrief.status_code == 200 and b"C0DE1234" in debrief.data

    participant = db_session.scalars(sa.select(Participant)).one()
    assert participant.status == ParticipantStatus.finished
    assert participant.code == "P0001" and participant.external_source == "prolific"
    assert participant.external_id_hash and "5f1e0000aaaa" not in participant.external_id_hash
    rows = db_session.scalars(sa.select(Response)).all()
    assert len(rows) == 6
    assert {(r.response_mode, r.response_mode_version) for r in rows} == {("mark_outliers", "1.0")}
    trials = db_session.scalars(sa.select(Trial).order_by(Trial.trial_index)).all()
    assert all(t.presented_at and t.answered_at for t in trials)
    assert sum(t.is_attention_check for t in trials) == 1


def test_an_answer_brings_the_next_trial_along(client, study):
    """The reply to an answer carries the next trial, exactly as GET .../next (a reload)
    would serve it; a resend of the answer carries none, nor does a practice answer."""
    browser = Browser(client)
    browser.consent("?pid=chain")
    browser.open_runner()
    trial = browser.next().json["trial"]
    brought = 0
    while True:
        assert browser.start(trial["id"]).status_code == 200
        answer = some_answer(trial)
        saved = browser.answer(trial["id"], answer, key=f"key-{trial['id']}")
        assert saved.status_code == 201
        resent = browser.answer(trial["id"], answer, key=f"key-{trial['id']}")
        assert resent.status_code == 200 and "next" not in resent.json
        if saved.json["finished"]:
            assert "next" not in saved.json
            break
        if trial["phase"] == "practice":
            # practice feedback waits for a click: the next trial is fetched after it
            assert saved.json["next"] is None
            trial = browser.next().json["trial"]
            continue
        assert saved.json["next"] == browser.next().json["trial"]
        trial = saved.json["next"]
        brought += 1
    assert brought == 4


def test_finished_participant_cannot_start_again(client, study):
    browser = Browser(client)
    browser.consent("?pid=abc")
    browser.open_runner()
    while not (nxt := browser.next().json)["done"]:
        browser.answer(nxt["trial"]["id"], some_answer(nxt["trial"]))
    again = client.get("/s/site-test/")
    assert again.status_code == 403 and b"already completed" in again.data
    assert client.get("/s/site-test/run").status_code == 302
    # a new browser with the same external id is recognised too
    client.delete_cookie("glyphlab_session")
    assert client.get("/s/site-test/?pid=abc").status_code == 403


def test_reload_resumes_and_old_tab_cannot_answer(client, study, db_session):
    browser = Browser(client)
    browser.consent()
    old_token = browser.open_runner()
    first = browser.next().json["trial"]
    assert browser.answer(first["id"], some_answer(first)).status_code == 201
    second = browser.next().json["trial"]
    browser.open_runner()  # reload (or a second tab)
    assert browser.next().json["trial"]["id"] == second["id"]
    old = client.post(
        f"/s/site-test/api/trials/{second['id']}/answer",
        headers={"X-Glyphlab-Token": old_token},
        json={"idempotency_key": "k" * 16, "response": some_answer(second), "rt_ms": 5.0},
    )
    assert old.status_code == 409 and "newest tab" in old.json["error"]
    assert browser.answer(second["id"], some_answer(second)).status_code == 201
    sessions = db_session.scalars(sa.select(BrowserSession)).all()
    assert sum(s.superseded_at is None for s in sessions) == 1
    assert [e.kind for e in db_session.scalars(sa.select(Event))] == ["reload"]
    # re-entering the study link resumes instead of enrolling again
    assert client.get("/s/site-test/").status_code == 302
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Participant)) == 1


def test_unknown_closed_and_draft_studies(client, make_study, db_session):
    assert client.get("/s/no-such-study/").status_code == 404
    draft = make_study(open_=False, slug="draft-study")
    assert client.get("/s/draft-study/").status_code == 403
    set_status(draft, StudyStatus.open)
    set_status(draft, StudyStatus.closed)
    db_session.commit()
    closed = client.get("/s/draft-study/")
    assert closed.status_code == 410 and b"closed" in closed.data


def test_consent_needs_the_box_and_a_csrf_token(client, study):
    page = client.get("/s/site-test/")
    assert client.post("/s/site-test/consent", data={"consent": "yes"}).status_code == 400
    csrf = CSRF.search(page.data).group(1).decode()
    refused = client.post("/s/site-test/consent", data={"csrf_token": csrf})
    assert refused.status_code == 400 and b"agree" in refused.data


def test_latin_square_rows_rotate_across_participants(app, study, db_session, stimulus_set):
    for k in range(4):
        with wsgi_client(app) as http:
            bot = Bot(http, stimulus_set, rng=np.random.default_rng(k), wait=app_wait(app))
            bot.take("site-test")
    rows = db_session.scalars(sa.select(Participant.latin_square_row).order_by(Participant.code))
    assert list(rows) == [0, 1, 2, 3]
    blocks = []
    for participant in db_session.scalars(sa.select(Participant).order_by(Participant.code)):
        main = [t for t in participant.trials if not t.is_practice]
        blocks.append(next(t.condition.encoding for t in main))
    assert len(set(blocks)) == 4  # each row starts with a different encoding


def test_participants_plans_come_from_the_runs_seed(client, study, db_session, seed):
    """Plans are drawn from the pytest ``--seed`` (not the OS), so a run replays."""
    for k in range(2):
        Browser(client).consent(f"?pid=seeded-{k}")
        client.delete_cookie("glyphlab_session")
    expected = plan_seeds(seed)
    stored = db_session.scalars(sa.select(Participant.seed).order_by(Participant.id)).all()
    assert stored == [expected(), expected()]


def test_the_runner_page_and_practice_replies_say_what_a_peek_would(client, study):
    """What comes next reaches the runner without a peek: the runner page carries it for
    the first open trial, a practice answer's reply for the trial after; both say what
    ``GET next?peek=1`` says at that moment."""
    browser = Browser(client)
    browser.consent("?pid=coming")
    page = client.get("/s/site-test/run").data.decode()
    browser.token = TOKEN.search(page.encode()).group(1).decode()
    on_page = json.loads(re.search(r'id="runner-coming">(.*?)</script>', page).group(1))
    peek = client.get("/s/site-test/api/next?peek=1", headers=browser.headers).json
    assert (
        on_page
        == peek
        == {
            "done": False,
            "phase": "practice",
            "response_mode": "mark_outliers",
            "fixation_ms": on_page["fixation_ms"],
        }
    )
    trial = browser.next().json["trial"]
    assert browser.start(trial["id"]).status_code == 200
    saved = browser.answer(trial["id"], some_answer(trial)).json
    assert saved["feedback"] is not None and saved["next"] is None
    peek = client.get("/s/site-test/api/next?peek=1", headers=browser.headers).json
    assert saved["coming"] == peek and peek["phase"] == "main"
