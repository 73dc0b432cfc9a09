"""Statements on the driver's cursor behave as ``Connection.execute`` would (SQLite and
PostgreSQL): the same rows and types, the connection's transaction, SQLAlchemy's errors,
a lost connection invalidated, and the connection's listeners told."""

import pytest
import sqlalchemy as sa

from experiment import db
from experiment.driver_sql import DriverStatement
from experiment.models import ParticipantStatus, Response, Trial
from experiment.services.answers import STORE_RESPONSE
from experiment.services.callers import CALLER
from tests.experiment.conftest import cut_every_connection, live_site, statements
from tests.experiment.participant_client import Participant as Browser
from tests.experiment.participant_client import some_answer


def test_rows_and_types_are_those_of_execute(client, study, connection):
    browser = Browser(client)
    browser.consent()
    token = browser.open_runner()
    browser.next()  # the first trial served: a timestamp to read back
    rows = CALLER.execute(connection, {"token": token})
    expected = connection.execute(CALLER.statement, {"token": token}).all()
    assert rows == [tuple(row) for row in expected] and len(rows) == 2
    status, served_at = rows[0][4], rows[0][8]
    assert status is ParticipantStatus.consented  # the enum, not its stored name
    assert served_at.utcoffset() is not None  # the site's UTC timestamps stay aware
    assert CALLER.execute(connection, {"token": "no such token"}) == []


def response_values(key: str, trial_id: int, participant_id: int, now) -> dict:
    values = {
        "trial_id": trial_id,
        "participant_id": participant_id,
        "browser_session_id": None,
        "idempotency_key": key,
        "response_mode": "mark_outliers",
        "response_mode_version": "1.0",
        "selected": [2, 5],
        "said_present": None,
        "rt_ms": 812.5,
        "timed_out": False,
        "server_elapsed_ms": 820.0,
        "timing_flag": None,
        "frame_stats": {"n_frames": 1},
        "raw": {"response": {"positions": [2, 5]}},
        "received_at": now,
    }
    return {f"response_{name}": value for name, value in values.items()}


def test_json_columns_are_stored_as_documents_and_a_clash_is_an_integrity_error(
    client, study, connection, db_session, clock
):
    Browser(client).consent()
    trial = db_session.scalars(sa.select(Trial).order_by(Trial.id)).first()
    store = DriverStatement(STORE_RESPONSE)
    with statements(connection) as seen:
        store.execute(
            connection, response_values("driver-key-1", trial.id, trial.participant_id, clock())
        )
    assert [s.split()[0] for s in seen] == ["INSERT"]  # the connection's listeners saw it
    stored = db_session.scalars(sa.select(Response)).one()
    assert stored.selected == [2, 5] and stored.frame_stats == {"n_frames": 1}
    assert stored.raw == {"response": {"positions": [2, 5]}}
    assert stored.received_at == clock()
    with pytest.raises(sa.exc.IntegrityError), connection.begin_nested():
        store.execute(
            connection, response_values("driver-key-1", trial.id, trial.participant_id, clock())
        )


def test_it_runs_in_the_connections_transaction(engine):
    """Begun first if need be, so that ``rollback`` undoes it and ``commit`` keeps it."""
    insert = DriverStatement(sa.text("INSERT INTO probe (x) VALUES (:x)"))
    with engine.connect() as connection:
        connection.exec_driver_sql("CREATE TEMPORARY TABLE probe (x INTEGER)")
        connection.commit()
        insert.execute(connection, {"x": 1})
        assert connection.in_transaction()
        connection.rollback()
        insert.execute(connection, {"x": 2})
        connection.commit()
        assert connection.exec_driver_sql("SELECT x FROM probe").scalars().all() == [2]


def test_a_lost_connection_is_invalidated(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("a SQLite connection cannot be cut from outside")
    with engine.connect() as victim, engine.connect() as other:
        pid = victim.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        victim.commit()
        other.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
        other.commit()
        with pytest.raises(sa.exc.OperationalError) as raised:
            CALLER.execute(victim, {"token": "any"})
        assert raised.value.connection_invalidated
        assert victim.invalidated


def test_a_database_restart_costs_one_retried_request(request, tmp_path, stimulus_set):
    """Every server connection of the site cut at once (what a PostgreSQL restart does
    to a running site): the next runner call is a 503 with Retry-After, which the runner
    resends with the same idempotency key, and the resend is stored, once."""
    url = request.getfixturevalue("postgres_database_factory")()
    app = live_site(url, tmp_path, stimulus_set)
    try:
        browser = Browser(app.test_client())
        browser.consent()
        browser.open_runner()
        trial = browser.next().json["trial"]
        assert browser.start(trial["id"]).status_code == 200
        cut_every_connection(url)
        body = some_answer(trial)
        first = browser.answer(trial["id"], body, key="restart-key-1", start=False)
        assert first.status_code == 503 and first.headers["Retry-After"]
        again = browser.answer(trial["id"], body, key="restart-key-1", start=False)
        assert again.status_code == 201, again.json
        with app.extensions[db.EXTENSION_KEY].engine.connect() as connection:
            stored = connection.execute(sa.select(sa.func.count()).select_from(Response))
            assert stored.scalar() == 1
    finally:
        app.extensions[db.EXTENSION_KEY].dispose()
