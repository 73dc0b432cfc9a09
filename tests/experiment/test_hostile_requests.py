"""Hostile input the fuzz tests do not reach: each case here used to answer 500.

Python's JSON parser accepts what JSON does not (``NaN``, ``Infinity``, ``1e400``,
arbitrarily deep nesting, NUL characters, unpaired surrogates), PostgreSQL refuses NUL
in text and non-JSON numbers in JSON, and huge integers overflow ``float``. Every case
must be a 4xx JSON/HTML message that changes nothing stored, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from analysis.response_modes import TrialContext
from analysis.response_modes.base import ResponseError
from experiment.models import BrowserSession, Event, Participant, Response, StimulusSet, Study
from tests.experiment.participant_client import CSRF, consented, some_answer
from tests.experiment.participant_client import Participant as Browser
from tests.experiment.test_auth import csrf_token

STORED = (Participant, BrowserSession, Response, Event)
KEY = '"idempotency_key": "hostile-key-0001"'
DEEP_OBJECT = "{" + KEY + ', "response": ' + '{"a": ' * 30 + "1" + "}" * 31


def stored_rows(db_session: Session) -> dict[str, int]:
    db_session.expire_all()
    return {
        model.__name__: db_session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in STORED
    }


@pytest.fixture
def browser(client, study: Study) -> Browser:
    return consented(client)


@pytest.fixture
def trial(browser: Browser) -> dict:
    """The first trial, fetched and started: an answer to it would be stored."""
    trial = browser.next().json["trial"]
    assert browser.start(trial["id"]).status_code == 200
    return trial


def assert_refused(response, status: int, message: str) -> None:
    assert response.status_code == status, response.data[:300]
    text = response.get_data(as_text=True)
    assert message in text and "Traceback" not in text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (f'{{{KEY}, "response": {{"positions": []}}, "rt_ms": NaN}}', "NaN is not a JSON number"),
        (
            f'{{{KEY}, "response": {{"positions": []}}, "frame_stats": {{"mean_ms": NaN}}}}',
            "NaN is not a JSON number",
        ),
        (
            f'{{{KEY}, "response": {{"positions": [], "x": -Infinity}}}}',
            "-Infinity is not a JSON number",
        ),
        (
            f'{{{KEY}, "response": {{"positions": []}}, "frame_stats": {{"sd_ms": 1e400}}}}',
            "too large for a number",
        ),
        (
            f'{{{KEY}, "response": {{"positions": []}}, "rt_ms": 1{"0" * 400}}}',
            "rt_ms is too large",
        ),
        ("[" * 20_000 + "]" * 20_000, "nested more than"),
        (DEEP_OBJECT, "nested more than"),
        (
            f'{{{KEY}, "response": {{"positions": []}}, "frame_stats": {{"a\\u0000": 1}}}}',
            "NUL character",
        ),
        (f'{{{KEY}, "response": {{"positions": [], "note": "\\ud800"}}}}', "unpaired"),
    ],
    ids=[
        "nan-rt",
        "nan-frame-stats",
        "infinity",
        "1e400",
        "huge-int-rt",
        "deep-array",
        "deep-object",
        "nul-key",
        "lone-surrogate",
    ],
)
def test_unstorable_answers_are_400_and_store_nothing(
    browser: Browser, trial: dict, db_session: Session, body: str, message: str
) -> None:
    before = stored_rows(db_session)
    response = browser.client.post(
        f"/s/site-test/api/trials/{trial['id']}/answer",
        headers={**browser.headers, "Content-Type": "application/json"},
        data=body,
    )
    assert_refused(response, 400, message)
    assert response.is_json and response.json["status"] == 400
    assert stored_rows(db_session) == before
    # the refusal used up nothing: the same trial still takes a proper answer
    assert browser.answer(trial["id"], some_answer(trial)).status_code == 201


def test_a_click_too_far_for_a_float_is_a_response_error() -> None:
    plot = TrialContext("plot", "grid", item_at_position=(0, 1), points=((0, 0), (5, 5)))
    with pytest.raises(ResponseError, match="click x is too large"):
        plot.nearest_item({"x": 10**400, "y": 0})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"kind": "blur", "t_ms": 1' + "0" * 400 + "}", "t_ms is too large"),
        ('{"kind": "blur", "trial_id": "ab\\u0000cd"}', "NUL character"),
        ('{"kind": "blur", "trial_id": "\\udfff"}', "unpaired"),
        ('{"kind": "blur", "t_ms": Infinity}', "Infinity is not a JSON number"),
    ],
    ids=["huge-t_ms", "nul-trial-id", "surrogate-trial-id", "infinity"],
)
def test_unstorable_events_are_400_and_store_nothing(
    browser: Browser, db_session: Session, body: str, message: str
) -> None:
    before = stored_rows(db_session)
    response = browser.client.post(
        "/s/site-test/api/events",
        headers={**browser.headers, "Content-Type": "application/json"},
        data=body,
    )
    assert_refused(response, 400, message)
    assert stored_rows(db_session) == before


def test_nul_in_urls_headers_and_forms_is_400(
    client, browser: Browser, trial: dict, db_session: Session
) -> None:
    before = stored_rows(db_session)
    api = "/s/site-test/api"
    login_csrf = csrf_token(client)
    refused = [
        client.get("/s/site%00test/"),
        client.get(f"{api}/next", headers={"X-Glyphlab-Token": "tok\x00en"}),
        client.post(f"{api}/trials/ab%00cd/start", headers=browser.headers),
        client.get("/s/site-test/run", headers={"User-Agent": "Mozilla\x00"}),
        client.get("/s/site-test/?pid=a%00b"),
        client.post(
            "/login",
            data={"csrf_token": login_csrf, "email": "a@example.org\x00", "password": "x" * 12},
        ),
    ]
    for response in refused:
        assert_refused(response, 400, "NUL character")
    assert refused[1].is_json and refused[2].is_json
    assert stored_rows(db_session) == before


def test_a_missing_stimulus_set_is_503_without_its_path(
    app: Flask, client, browser: Browser, study: Study, db_session: Session, tmp_path
) -> None:
    gone = tmp_path / "moved-away-set"
    db_session.get(StimulusSet, study.stimulus_set_id).folder = str(gone)
    db_session.commit()
    app.extensions["glyphlab.site"].stimulus_sets = type(
        app.extensions["glyphlab.site"].stimulus_sets
    )()
    before = stored_rows(db_session)
    in_run = browser.next()
    newcomer = Browser(app.test_client())
    csrf = CSRF.search(newcomer.client.get("/s/site-test/").data).group(1).decode()
    consent = newcomer.client.post(
        "/s/site-test/consent", data={"csrf_token": csrf, "consent": "yes"}
    )
    for response in (in_run, consent):
        assert_refused(response, 503, "tell the researcher")
        assert str(gone) not in response.get_data(as_text=True)
    assert in_run.is_json
    assert stored_rows(db_session) == before
