"""The trial API under bad input, resends, out-of-order answers and deadlines."""

import pytest
import sqlalchemy as sa

from experiment.app import SITE_KEY
from experiment.models import Participant, ParticipantStatus, Response, Trial
from experiment.services.trials import ServedTrials
from tests.experiment.conftest import statements
from tests.experiment.participant_client import consented, some_answer


@pytest.fixture
def browser(client, study):
    return consented(client)


def first_main_trial(browser):
    """Answer the practice trial; return the first main trial's JSON."""
    practice = browser.next().json["trial"]
    assert browser.answer(practice["id"], some_answer(practice)).status_code == 201
    trial = browser.next().json["trial"]
    assert browser.start(trial["id"]).status_code == 200
    return trial


def count(db_session, model) -> int:
    return db_session.scalar(sa.select(sa.func.count()).select_from(model))


def test_resent_answer_is_acknowledged_and_stored_once(browser, db_session):
    trial = first_main_trial(browser)
    first = browser.answer(trial["id"], some_answer(trial), key="resend-key-0001")
    again = browser.answer(trial["id"], some_answer(trial), key="resend-key-0001")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json["status"] == "duplicate"
    assert count(db_session, Response) == 2  # practice + this one
    # the same key for another trial is refused, a new key for an answered trial too
    following = browser.next().json["trial"]
    assert (
        browser.answer(following["id"], some_answer(following), key="resend-key-0001").status_code
        == 409
    )
    assert browser.answer(trial["id"], some_answer(trial)).status_code == 409
    assert count(db_session, Response) == 2


def test_out_of_order_answer_is_409(browser, db_session):
    browser.next()
    later = db_session.scalars(sa.select(Trial).where(Trial.trial_index == 3)).one()
    response = browser.answer(later.public_id, {"positions": [0]})
    assert response.status_code == 409 and "Out of order" in response.json["error"]
    assert count(db_session, Response) == 0


def test_answer_before_fetching_is_409(browser):
    # the client guessed nothing: it has no trial id before /next; use a foreign id
    response = browser.answer("0" * 24, {"positions": [0]})
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"idempotency_key": "short", "response": {}}, "idempotency_key"),
        ({"idempotency_key": "x" * 20, "response": {"positions": [99]}}, "out of range"),
        ({"idempotency_key": "x" * 20, "response": {"positions": [-1]}}, "out of range"),
        ({"idempotency_key": "x" * 20, "response": {"positions": ["0"]}}, "whole number"),
        ({"idempotency_key": "x" * 20, "response": {"positions": 3}}, "must be a list"),
        ({"idempotency_key": "x" * 20, "response": [1]}, "JSON object"),
        ({"idempotency_key": "x" * 20}, 'no "response"'),
        ({"idempotency_key": "x" * 20, "response": {}, "rt_ms": "fast"}, "rt_ms"),
        ({"idempotency_key": "x" * 20, "response": {}, "rt_ms": -4}, "negative"),
        ({"idempotency_key": "x" * 20, "response": {}, "timed_out": "no"}, "timed_out"),
        ([1, 2, 3], "JSON object"),
    ],
)
def test_bad_answers_are_400_with_a_message(browser, db_session, body, message):
    trial = first_main_trial(browser)
    response = browser.client.post(
        f"/s/site-test/api/trials/{trial['id']}/answer", headers=browser.headers, json=body
    )
    assert response.status_code == 400, response.json
    assert message in response.json["error"]
    assert count(db_session, Response) == 1


def test_malformed_json_and_oversize_body(browser, app):
    trial = first_main_trial(browser)
    url = f"/s/site-test/api/trials/{trial['id']}/answer"
    headers = {**browser.headers, "Content-Type": "application/json"}
    broken = browser.client.post(url, headers=headers, data="{not json")
    assert broken.status_code == 400 and broken.is_json
    huge = browser.client.post(url, headers=headers, data="[" + "1," * 40_000 + "1]")
    assert huge.status_code == 413 and huge.is_json
    assert "too large" in huge.json["error"]


def test_token_and_origin_are_required(client, browser):
    assert client.get("/s/site-test/api/next").status_code == 403
    assert (
        client.get("/s/site-test/api/next", headers={"X-Glyphlab-Token": "nope"}).status_code == 403
    )
    cross = client.get(
        "/s/site-test/api/next", headers={**browser.headers, "Origin": "https://evil.example"}
    )
    assert cross.status_code == 403
    fetch_site = client.get(
        "/s/site-test/api/next", headers={**browser.headers, "Sec-Fetch-Site": "cross-site"}
    )
    assert fetch_site.status_code == 403
    same = client.get(
        "/s/site-test/api/next", headers={**browser.headers, "Origin": "http://localhost"}
    )
    assert same.status_code == 200


def test_origin_of_an_international_domain_is_the_same_origin(client, browser):
    """A browser sends such a domain in its ASCII (xn--) form, in Host and Origin alike."""
    host = "xn--mnchen-3ya.example:8443"
    headers = {**browser.headers, "Host": host}
    same = client.get("/s/site-test/api/next", headers={**headers, "Origin": f"http://{host}"})
    assert same.status_code == 200, same.json
    spoofed = client.get(
        "/s/site-test/api/next", headers={**headers, "Origin": "http://münchen.example:8443"}
    )
    assert spoofed.status_code == 403
    other_port = client.get(
        "/s/site-test/api/next", headers={**headers, "Origin": "http://xn--mnchen-3ya.example"}
    )
    assert other_port.status_code == 403


def test_server_enforces_the_deadline(browser, clock, db_session, site_config):
    trial = first_main_trial(browser)
    clock.advance(trial["deadline_ms"] + site_config.grace_ms + 1)
    late = browser.answer(trial["id"], some_answer(trial), rt_ms=900.0)
    assert late.status_code == 201 and late.json["timed_out"] is True
    row = db_session.scalars(sa.select(Response).order_by(Response.id.desc())).first()
    assert row.timed_out and row.selected == [] and row.raw["late"] is True


def test_rt_beyond_the_deadline_is_timed_out(browser, db_session):
    trial = first_main_trial(browser)
    saved = browser.answer(trial["id"], some_answer(trial), rt_ms=trial["deadline_ms"] + 1.0)
    assert saved.json["timed_out"] is True


def test_answer_within_grace_counts(browser, clock, site_config):
    trial = first_main_trial(browser)
    clock.advance(trial["deadline_ms"] + site_config.grace_ms - 5)
    assert browser.answer(trial["id"], some_answer(trial), rt_ms=900.0).json["timed_out"] is False


def test_abandoned_trial_is_timed_out_by_the_server_on_resume(browser, clock, db_session):
    trial = first_main_trial(browser)
    clock.advance(60_000)
    browser.open_runner()
    following = browser.next().json["trial"]
    assert following["id"] != trial["id"]
    row = db_session.scalars(
        sa.select(Response).join(Trial).where(Trial.public_id == trial["id"])
    ).one()
    assert row.timed_out and row.idempotency_key.startswith("server-timeout:")


def test_a_trial_fetched_and_shown_again_soon_is_not_timed_out(browser, clock, db_session):
    practice = browser.next().json["trial"]  # fetched; the page reloads during fixation
    clock.advance(300)
    browser.open_runner()
    again = browser.next().json["trial"]
    assert again["id"] == practice["id"] and again["time_left_ms"] == practice["deadline_ms"]
    assert count(db_session, Response) == 0
    # (left unstarted past its deadline it is timed out: tests/experiment/test_timing_rules.py)


def test_reload_mid_trial_keeps_the_clock_running(browser, clock):
    trial = first_main_trial(browser)
    clock.advance(4000)
    browser.open_runner()
    again = browser.next().json["trial"]
    assert again["id"] == trial["id"]
    assert again["time_left_ms"] == trial["deadline_ms"] - 4000


def test_client_timeout_needs_no_response(browser, db_session):
    trial = first_main_trial(browser)
    saved = browser.answer(trial["id"], None, timed_out=True, rt_ms=float(trial["deadline_ms"]))
    assert saved.status_code == 201 and saved.json["timed_out"] is True


def test_events_are_stored_and_validated(browser, db_session):
    trial = browser.next().json["trial"]
    url = "/s/site-test/api/events"
    ok = browser.client.post(
        url, headers=browser.headers, json={"kind": "blur", "trial_id": trial["id"], "t_ms": 12.5}
    )
    assert ok.status_code == 201
    bad = browser.client.post(url, headers=browser.headers, json={"kind": "nap"})
    assert bad.status_code == 400 and "kind must be one of" in bad.json["error"]


def writes(seen: list[str]) -> list[str]:
    """The first word of each statement that changed rows (WITH for a combined write)."""
    return [s.split()[0] for s in seen if s.startswith(("INSERT", "UPDATE", "WITH"))]


@pytest.mark.parametrize("started_here", [True, False])
def test_an_answer_is_one_write_on_postgresql_two_on_sqlite(
    app, browser, connection, db_session, started_here
):
    """PostgreSQL takes the response INSERT and the trial UPDATE (this one answered, the
    next served) as one statement, which commits by itself, and when this process
    recorded the trial's onset that statement is all (it checks what the caller's read
    would have: services/known_answers.py); otherwise the caller is read first. SQLite,
    which cannot put an INSERT in a WITH, reads and then runs them one after the other
    in its transaction. Either way the reply brings the next trial, already marked
    served, and the response is stored."""
    trial = first_main_trial(browser)
    if not started_here:  # as if another process (or one restarted since) had started it
        app.extensions[SITE_KEY].served_trials = ServedTrials()
    with statements(connection) as seen:
        reply = browser.answer(trial["id"], some_answer(trial), start=False)
    assert reply.status_code == 201
    following = reply.json["next"]
    one = connection.dialect.name == "postgresql"
    assert writes(seen) == (["WITH"] if one else ["INSERT", "UPDATE"])
    reads = sum(s.startswith("SELECT") for s in seen)  # the caller's
    assert reads == (0 if one and started_here else 1)
    rows = {
        t.public_id: t
        for t in db_session.scalars(
            sa.select(Trial).where(Trial.answered_at.is_not(None) | Trial.served_at.is_not(None))
        )
    }
    assert rows[trial["id"]].answered_at is not None
    assert rows[following["id"]].served_at is not None and rows[following["id"]].answered_at is None
    stored = db_session.scalars(
        sa.select(Response).where(Response.trial_id == rows[trial["id"]].id)
    ).one()
    assert stored.rt_ms == 800.0 and not stored.timed_out


def test_the_last_answer_finishes_the_participant_in_the_same_write(
    browser, connection, db_session
):
    trial = browser.next().json["trial"]
    while True:
        with statements(connection) as seen:
            reply = browser.answer(trial["id"], some_answer(trial))
        assert reply.status_code == 201
        if reply.json["finished"]:
            break
        trial = reply.json["next"] or browser.next().json["trial"]
    one = connection.dialect.name == "postgresql"
    assert writes(seen) == (["UPDATE", "WITH"] if one else ["UPDATE", "INSERT", "UPDATE", "UPDATE"])
    participant = db_session.scalars(sa.select(Participant)).one()
    db_session.refresh(participant)
    assert participant.status == ParticipantStatus.finished
    assert participant.finished_at is not None
    assert count(db_session, Response) == count(db_session, Trial)


def test_a_reload_between_start_and_answer_is_a_409_on_either_path(browser, db_session):
    """The process remembers the onset under the old token, but the database has
    superseded it: nothing is stored, and the usual path says to go on in the new tab."""
    trial = first_main_trial(browser)
    old_token = browser.token
    browser.open_runner()
    stale = browser.client.post(
        f"/s/site-test/api/trials/{trial['id']}/answer",
        headers={"X-Glyphlab-Token": old_token},
        json={"idempotency_key": "stale-tab-0001", "response": some_answer(trial), "rt_ms": 800},
    )
    assert stale.status_code == 409 and "newest tab" in stale.json["error"]
    assert count(db_session, Response) == 1  # the practice answer only


def test_an_answer_stored_behind_the_process_back_is_not_stored_again(
    browser, db_session, connection
):
    """Another process answered the trial after this one started it (a second tab on
    another worker): the guarded write finds it answered and writes nothing; the usual
    path answers 409."""
    trial = first_main_trial(browser)
    row = db_session.scalars(sa.select(Trial).where(Trial.public_id == trial["id"])).one()
    connection.execute(
        sa.update(Trial).where(Trial.id == row.id).values(answered_at=row.presented_at)
    )
    reply = browser.answer(trial["id"], some_answer(trial), start=False)
    assert reply.status_code == 409 and "already answered" in reply.json["error"]
    assert count(db_session, Response) == 1


def test_a_resend_of_an_answer_stored_in_one_statement_is_a_duplicate(browser, db_session):
    trial = first_main_trial(browser)
    body = some_answer(trial)
    first = browser.answer(trial["id"], body, key="one-statement-01", start=False)
    again = browser.answer(trial["id"], body, key="one-statement-01", start=False)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json["status"] == "duplicate" and "next" not in again.json
    assert count(db_session, Response) == 2
