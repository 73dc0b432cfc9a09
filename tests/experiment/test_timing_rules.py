"""Trustworthy timing (issue 15): the deadline counts from delivery, rt_ms is checked
against the server's own clock, and answers must follow ``start``.

The rules are in docs/participant-api.md ("Timing rules"). Every test here failed before
they were written into ``services/answers.py``.
"""

import pytest
import sqlalchemy as sa

from experiment.models import Response, Trial
from experiment.services.studies import StudyError, StudyParams
from tests.experiment.conftest import statements
from tests.experiment.participant_client import Participant as Browser
from tests.experiment.participant_client import consented, some_answer


@pytest.fixture
def browser(client, study):
    return consented(client)


def stored(db_session, trial_id: str) -> Response:
    return db_session.scalars(
        sa.select(Response).join(Trial).where(Trial.public_id == trial_id)
    ).one()


def count(db_session) -> int:
    return db_session.scalar(sa.select(sa.func.count()).select_from(Response))


def post(browser, trial_id: str, body: dict):
    return browser.client.post(
        f"/s/site-test/api/trials/{trial_id}/answer", headers=browser.headers, json=body
    )


def test_the_payload_carries_the_fixation_length(browser):
    trial = browser.next().json["trial"]
    assert trial["fixation_ms"] == 500


def test_fixation_is_a_bounded_study_setting():
    assert StudyParams(title="t").fixation_ms == 500
    assert StudyParams(title="t", fixation_ms=0).fixation_ms == 0
    for bad in (-1, 5001, 2.5, True):
        with pytest.raises(StudyError, match="fixation_ms"):
            StudyParams(title="t", fixation_ms=bad)


def test_studying_the_media_before_start_buys_no_time(browser, clock, db_session, site_config):
    """The audit: fetched, studied 6 s, ``start``, answered at once with rt_ms 250."""
    trial = browser.next().json["trial"]
    clock.advance(trial["fixation_ms"] + trial["deadline_ms"] + site_config.grace_ms + 1)
    assert browser.start(trial["id"]).status_code == 200
    saved = browser.answer(trial["id"], some_answer(trial), rt_ms=250.0)
    assert saved.status_code == 201 and saved.json["timed_out"] is True
    row = stored(db_session, trial["id"])
    assert row.timed_out and row.raw["late"] is True


def test_the_fixation_counts_towards_the_deadline_budget(browser, clock, site_config):
    trial = browser.next().json["trial"]
    clock.advance(trial["fixation_ms"])  # the fixation cross, media arriving meanwhile
    browser.start(trial["id"])
    clock.advance(trial["deadline_ms"] + site_config.grace_ms - 5)
    saved = browser.answer(trial["id"], some_answer(trial), rt_ms=trial["deadline_ms"] - 1.0)
    assert saved.json["timed_out"] is False


def test_a_fetched_trial_left_unstarted_is_timed_out_when_fetched_again(
    browser, clock, db_session, site_config
):
    first = browser.next().json["trial"]
    clock.advance(first["fixation_ms"] + first["deadline_ms"] + site_config.grace_ms + 1)
    browser.open_runner()
    again = browser.next().json["trial"]
    assert again["id"] != first["id"]
    row = stored(db_session, first["id"])
    assert row.timed_out and row.idempotency_key.startswith("server-timeout:")


def test_a_fetched_trial_shown_again_soon_keeps_its_clock(browser, clock):
    first = browser.next().json["trial"]
    clock.advance(first["fixation_ms"] + 1000)  # reloaded during the fixation, and a bit
    browser.open_runner()
    again = browser.next().json["trial"]
    assert again["id"] == first["id"]
    assert again["time_left_ms"] == first["deadline_ms"] - 1000


def test_an_answer_before_start_is_409(browser, db_session):
    trial = browser.next().json["trial"]
    refused = browser.answer(trial["id"], some_answer(trial), start=False)
    assert refused.status_code == 409 and "start" in refused.json["error"]
    assert count(db_session) == 0


@pytest.mark.parametrize(
    "extra", [{}, {"rt_ms": None}, {"rt_ms": 0}, {"rt_ms": 0.0}, {"rt_ms": -0.0}]
)
def test_an_answered_trial_needs_a_positive_rt(browser, db_session, extra):
    trial = browser.next().json["trial"]
    browser.start(trial["id"])
    body = {"idempotency_key": "rt-check-0001", "response": some_answer(trial), **extra}
    refused = post(browser, trial["id"], body)
    assert refused.status_code == 400 and "rt_ms" in refused.json["error"]
    assert count(db_session) == 0


def test_a_non_finite_rt_is_refused(browser, client, db_session):
    trial = browser.next().json["trial"]
    browser.start(trial["id"])
    url = f"/s/site-test/api/trials/{trial['id']}/answer"
    headers = {**browser.headers, "Content-Type": "application/json"}
    for text in ("NaN", "Infinity", "1e999"):
        data = f'{{"idempotency_key": "rt-nonfinite", "rt_ms": {text}, "response": {{}}}}'
        assert client.post(url, headers=headers, data=data).status_code == 400
    assert count(db_session) == 0


def test_an_rt_beyond_the_servers_elapsed_time_is_flagged(browser, clock, db_session):
    trial = browser.next().json["trial"]
    browser.start(trial["id"])
    clock.advance(300)
    saved = browser.answer(trial["id"], some_answer(trial), rt_ms=2000.0)
    assert saved.status_code == 201 and saved.json["timed_out"] is False
    row = stored(db_session, trial["id"])
    assert row.timing_flag == "rt_exceeds_server_elapsed"


def test_an_rt_far_below_the_servers_elapsed_time_is_flagged(browser, clock, db_session):
    """The audit: rt_ms 1 sent 2.5 s after start."""
    trial = browser.next().json["trial"]
    browser.start(trial["id"])
    clock.advance(2500)
    saved = browser.answer(trial["id"], some_answer(trial), rt_ms=1.0)
    assert saved.status_code == 201
    assert stored(db_session, trial["id"]).timing_flag == "rt_below_server_elapsed"


def test_an_rt_within_the_tolerance_is_not_flagged(browser, clock, db_session, site_config):
    trial = browser.next().json["trial"]
    clock.advance(400)  # the fixation: media delivered, then onset
    browser.start(trial["id"])
    clock.advance(900)
    tolerance = site_config.rt_tolerance_ms
    assert tolerance == 250
    saved = browser.answer(trial["id"], some_answer(trial), rt_ms=900.0 - tolerance + 1)
    assert saved.status_code == 201
    row = stored(db_session, trial["id"])
    assert row.timing_flag is None and row.server_elapsed_ms == 900.0


def test_the_tolerance_is_a_setting():
    from experiment.config import ConfigError, SiteConfig

    config = SiteConfig.from_env(
        {
            "GLYPHLAB_SECRET_KEY": "x" * 20,
            "GLYPHLAB_RT_TOLERANCE_MS": "400",
            "GLYPHLAB_DATABASE_URL": "sqlite:///x.sqlite3",
        }
    )
    assert config.rt_tolerance_ms == 400
    with pytest.raises(ConfigError, match="GLYPHLAB_RT_TOLERANCE_MS"):
        SiteConfig.from_env(
            {
                "GLYPHLAB_SECRET_KEY": "x" * 20,
                "GLYPHLAB_RT_TOLERANCE_MS": "-1",
                "GLYPHLAB_DATABASE_URL": "sqlite:///x.sqlite3",
            }
        )


def test_a_timed_out_answer_needs_no_rt_and_gets_no_flag(browser, clock, db_session):
    trial = browser.next().json["trial"]
    browser.start(trial["id"])
    clock.advance(trial["deadline_ms"])
    saved = post(browser, trial["id"], {"idempotency_key": "timeout-0001", "timed_out": True})
    assert saved.status_code == 201 and saved.json["timed_out"] is True
    assert stored(db_session, trial["id"]).timing_flag is None


def test_the_trial_table_carries_the_times_and_the_flag(browser, clock, db_session, study):
    from experiment.services.trial_table import trial_table

    trial = browser.next().json["trial"]
    clock.advance(500)
    browser.start(trial["id"])
    clock.advance(1200)
    browser.answer(trial["id"], some_answer(trial), rt_ms=5000.0)
    row = trial_table(db_session, study.id).iloc[0]
    assert row["served_at"] == "2026-11-23T10:00:00.000+00:00"
    assert row["presented_at"] == "2026-11-23T10:00:00.500+00:00"
    assert row["answered_at"] == "2026-11-23T10:00:01.700+00:00"
    assert row["server_elapsed_ms"] == 1200.0
    assert row["timing_flag"] == "rt_exceeds_server_elapsed"


def test_a_start_the_process_can_decide_alone_is_one_guarded_update(
    app, browser, clock, connection, db_session
):
    """Once the process knows a tab's plan, ``start`` is one UPDATE, whose condition is
    the database's word on the tab: it decides what the caller's read would have. A
    second start keeps the first onset, a reloaded tab's old token changes nothing
    (409), and another participant's trial is not found (404)."""
    trial = browser.next().json["trial"]  # the process now knows the tab's plan
    clock.advance(1000)
    with statements(connection) as seen:
        first = browser.start(trial["id"])
    assert first.status_code == 200
    assert [s.split()[0] for s in seen if s.startswith(("SELECT", "UPDATE", "INSERT"))] == [
        "UPDATE"
    ]
    clock.advance(2000)
    again = browser.start(trial["id"])
    assert first.json["time_left_ms"] - again.json["time_left_ms"] == 2000

    assert browser.answer(trial["id"], some_answer(trial)).status_code == 201
    second = browser.next().json["trial"]
    old_token = browser.token
    browser.open_runner()  # a reload: the old token is superseded
    stale = browser.client.post(
        f"/s/site-test/api/trials/{second['id']}/start",
        headers={"X-Glyphlab-Token": old_token},
        json={},
    )
    assert stale.status_code == 409 and "newest tab" in stale.json["error"]
    row = db_session.scalars(sa.select(Trial).where(Trial.public_id == second["id"])).one()
    db_session.refresh(row)
    assert row.presented_at is None

    other = Browser(app.test_client())
    other.consent()
    other.open_runner()
    other.next()  # its plan known too
    theirs = other.client.post(
        f"/s/site-test/api/trials/{second['id']}/start", headers=other.headers, json={}
    )
    assert theirs.status_code == 404
    assert browser.start(second["id"]).status_code == 200
