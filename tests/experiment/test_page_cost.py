"""What the participant pages cost the server: an open study's record (title, texts,
response modes, ...) is read once per process, its status and set folder in every
request; a draft's is read afresh each time, since a draft can be edited."""

from __future__ import annotations

import flask
import sqlalchemy as sa

from experiment import db
from experiment.models import StudyStatus
from experiment.services.studies import set_status
from tests.experiment.conftest import live_site, statements
from tests.experiment.participant_client import Participant


def test_an_open_study_is_read_once_and_its_status_every_time(
    app, client, study, db_session, connection
):
    first = Participant(app.test_client())
    first.consent()
    with statements(connection) as seen:
        assert client.get("/s/site-test/").status_code == 200
        first.open_runner()
    assert not [s for s in seen if "FROM condition" in s or "consent_text" in s]
    assert sum("FROM study" in s for s in seen) == 2  # one small read per page
    set_status(study, StudyStatus.closed)
    db_session.commit()
    closed = app.test_client().get("/s/site-test/")
    assert closed.status_code == 410 and b"closed" in closed.data
    first.open_runner()  # an enrolled participant still continues
    set_status(study, StudyStatus.open)
    db_session.commit()
    assert app.test_client().get("/s/site-test/").status_code == 200


def test_a_draft_is_read_afresh(client, make_study, db_session):
    draft = make_study(open_=False, slug="draft-study", title="First title")
    assert "First title" in client.get("/s/draft-study/").text
    draft.title = "Second title"
    db_session.commit()
    assert "Second title" in client.get("/s/draft-study/").text


def test_pages_that_only_read_open_no_transaction_on_postgresql(request, tmp_path, stimulus_set):
    """The study link, the instructions and the debrief only read: on PostgreSQL their
    statements autocommit (no BEGIN, so no ROLLBACK round trip when the page is done),
    while the consent, which enrols, and the runner page, which mints a tab token, are
    transactions (all their statements or none)."""
    url = request.getfixturevalue("postgres_database_factory")()
    app = live_site(url, tmp_path, stimulus_set)
    autocommitted: dict[str, set[bool]] = {}

    def record(connection, cursor, statement, parameters, context, executemany):
        driver = connection.connection.driver_connection
        autocommitted.setdefault(flask.request.path, set()).add(driver.autocommit)

    engine = app.extensions[db.EXTENSION_KEY].engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        browser = Participant(app.test_client())
        browser.consent()
        assert browser.client.get("/s/site-test/instructions").status_code == 200
        browser.open_runner()
        assert browser.client.get("/s/site-test/debrief").status_code == 302  # not done yet
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
        app.extensions[db.EXTENSION_KEY].dispose()
    assert autocommitted == {
        "/s/site-test/": {True},
        "/s/site-test/consent": {False},
        "/s/site-test/instructions": {True},
        "/s/site-test/run": {False},
        "/s/site-test/debrief": {True},
    }
