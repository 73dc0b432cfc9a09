"""Exactly-once under concurrency: threads race the same answer against a real database
of their own (a throwaway PostgreSQL database, or a SQLite file), no shared transaction."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from experiment import create_app, db
from experiment.models import Participant, Response, Study, Trial
from tests.experiment.conftest import live_site
from tests.experiment.participant_client import CSRF, some_answer
from tests.experiment.participant_client import Participant as Browser

THREADS = 8


@pytest.fixture(params=["postgresql", "sqlite"])
def live_app(request, tmp_path, stimulus_set):
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_database_factory")()
    else:
        url = f"sqlite:///{tmp_path / 'race.sqlite3'}"
    app = live_site(url, tmp_path, stimulus_set)
    yield app
    app.extensions[db.EXTENSION_KEY].dispose()


def race(app, url, headers, bodies):
    barrier = threading.Barrier(len(bodies))

    def post(body):
        client = app.test_client()
        barrier.wait()
        return client.post(url, headers=headers, json=body).status_code

    with ThreadPoolExecutor(len(bodies)) as pool:
        return sorted(pool.map(post, bodies))


def rows(app, **where) -> int:
    with app.extensions[db.EXTENSION_KEY].engine.connect() as connection:
        query = sa.select(sa.func.count()).select_from(Response).filter_by(**where)
        return connection.execute(query).scalar_one()


@pytest.mark.slow
def test_racing_answers_are_stored_exactly_once(live_app):
    """Trials alternate: the same answer resent by 8 threads at once (one 201, seven 200
    duplicates), then 8 different answers from "tabs" at once (one 201, seven 409)."""
    browser = Browser(live_app.test_client())
    browser.consent()
    browser.open_runner()
    for round_ in range(4):
        trial = browser.next().json["trial"]
        browser.start(trial["id"])
        url = f"/s/site-test/api/trials/{trial['id']}/answer"
        if round_ % 2 == 0:
            key = str(uuid.uuid4())
            body = {"idempotency_key": key, "response": some_answer(trial), "rt_ms": 700.0}
            assert race(live_app, url, browser.headers, [body] * THREADS) == [200] * (
                THREADS - 1
            ) + [201]
            assert rows(live_app, idempotency_key=key) == 1
        else:
            bodies = [
                {"idempotency_key": str(uuid.uuid4()), "response": some_answer(trial), "rt_ms": 9.0}
                for _ in range(THREADS)
            ]
            assert race(live_app, url, browser.headers, bodies) == [201] + [409] * (THREADS - 1)
        assert rows(live_app) == round_ + 1
    assert browser.next().json["done"] is True


def presented_at(app, public_id: str):
    with app.extensions[db.EXTENSION_KEY].engine.connect() as connection:
        query = sa.select(Trial.presented_at).where(Trial.public_id == public_id)
        return connection.execute(query).scalar_one()


@pytest.mark.slow
def test_racing_starts_record_one_onset(live_app):
    """8 threads send a trial's ``start`` at once, from a tab whose plan the process knows
    (each tries the one-statement start): all are answered 200, the onset is stored once
    and no later start moves it."""
    browser = Browser(live_app.test_client())
    browser.consent()
    browser.open_runner()
    trial = browser.next().json["trial"]
    url = f"/s/site-test/api/trials/{trial['id']}/start"
    assert race(live_app, url, browser.headers, [{}] * THREADS) == [200] * THREADS
    onset = presented_at(live_app, trial["id"])
    assert onset is not None
    assert browser.start(trial["id"]).status_code == 200
    assert presented_at(live_app, trial["id"]) == onset


@pytest.mark.slow
def test_a_consent_form_submitted_many_times_at_once_enrols_once(live_app):
    """A double-clicked consent form (no recruitment id): every submit carries the same
    cookie, all get the consent redirect, one participant exists and one number is used."""
    client = live_app.test_client()
    page = client.get("/s/site-test/")
    csrf = CSRF.search(page.data).group(1).decode()
    cookie = client.get_cookie("glyphlab_session").value
    barrier = threading.Barrier(THREADS)

    def submit(_):
        browser = live_app.test_client()
        browser.set_cookie("glyphlab_session", cookie)
        barrier.wait()
        form = {"csrf_token": csrf, "consent": "yes"}
        return browser.post("/s/site-test/consent", data=form).status_code

    with ThreadPoolExecutor(THREADS) as pool:
        assert list(pool.map(submit, range(THREADS))) == [302] * THREADS
    with live_app.extensions[db.EXTENSION_KEY].engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(Participant)).scalar() == 1
        assert connection.execute(sa.select(Study.enrolled_count)).scalar_one() == 1


@pytest.mark.slow
def test_concurrent_wrong_passwords_over_two_workers_get_exactly_the_allowance(live_app):
    """40 wrong passwords at once, half to each of two apps (two workers, one database):
    the count is taken before any password check, so exactly ACCOUNT.max_failures are
    checked (401) and the rest wait (429). A per-process count let 24 through."""
    from experiment.auth.throttle import ACCOUNT
    from tests.experiment.test_auth import csrf_token

    workers = [live_app, create_app(live_app.extensions["glyphlab.site"].config)]
    attempts = 40
    barrier = threading.Barrier(attempts)

    def attempt(number):
        client = workers[number % 2].test_client()
        form = {"csrf_token": csrf_token(client), "email": "r@example.org", "password": "no"}
        barrier.wait()
        return client.post("/login", data=form).status_code

    with ThreadPoolExecutor(attempts) as pool:
        statuses = sorted(pool.map(attempt, range(attempts)))
    workers[1].extensions[db.EXTENSION_KEY].dispose()
    assert statuses == [401] * ACCOUNT.max_failures + [429] * (attempts - ACCOUNT.max_failures)
