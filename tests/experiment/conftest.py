"""Fixtures for the site's tests (flaskr's trio: ``app``, ``client``, ``runner``).

The schema comes from ``alembic upgrade head``, once per session per backend (a SQLite
file and a PostgreSQL database from ``postgres_database_factory``). Each test runs inside
one outer transaction that is rolled back at the end; the app's sessions join it with
``join_transaction_mode="create_savepoint"``, so a view's ``commit()`` only releases a
savepoint, and the runner API's Core connections do the same (:class:`SavepointConnection`).
Concurrency tests build their own app on a throwaway PostgreSQL database
(``postgres_database_factory``) instead, since threads cannot share one connection.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.security import generate_password_hash
from werkzeug.serving import make_server

from experiment import create_app, db
from experiment.config import SiteConfig
from experiment.models import Researcher, Study, StudyStatus
from experiment.services.studies import StudyParams, create_study, set_status
from stimuli import StimulusSetConfig, generate_stimulus_set
from tests.experiment.stimulus_fixture import make_stimulus_set

TEST_SECRET_KEY = "glyphlab-test-secret-key-0123456789"


def plan_seeds(seed: int) -> Callable[[], int]:
    """Participants' plan seeds drawn from the run's ``--seed`` (replayable)."""
    rng = np.random.default_rng([seed, 0x91A4])
    return lambda: int(rng.integers(2**62))


class FakeClock:
    """An injectable clock: tests move it past deadlines instead of sleeping."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, ms: float) -> None:
        self.now += timedelta(milliseconds=ms)


@pytest.fixture(scope="session")
def stimulus_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny contract-conforming stimulus set folder (see stimulus_fixture.py)."""
    return make_stimulus_set(tmp_path_factory.mktemp("stimuli"))


REAL_SET_DATASET = {"n_items": 6, "n_features": 3, "n_informative": 2, "noise": 1.0}


@pytest.fixture(scope="session")
def real_stimulus_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny set made by ``stimuli.generate_stimulus_set`` (Chernoff faces, table, plot
    as grids and sequences; 5 main datasets with an outlier, 1 without; a few seconds):
    checks the contract end to end."""
    config = StimulusSetConfig.from_dict(
        {
            "name": "site-test-real",
            "seed": 5,
            "order": "random",
            "frame_ms": 200,
            "datasets": [
                {
                    "role": "main",
                    "count": 5,
                    "n_outliers": 1,
                    "magnitude_sd": 4.0,
                    **REAL_SET_DATASET,
                },
                {"role": "main", "count": 1, "n_outliers": 0, **REAL_SET_DATASET},
                {
                    "role": "practice",
                    "count": 1,
                    "n_outliers": 1,
                    "magnitude_sd": 6.0,
                    **REAL_SET_DATASET,
                },
                {"role": "attention_check", **REAL_SET_DATASET},
            ],
            "conditions": [{"encoding": e, "layout": "grid"} for e in ("chernoff", "table", "plot")]
            + [
                {"encoding": e, "layout": "sequence", "roles": ["main"]}
                for e in ("chernoff", "table", "plot")
            ],
        }
    )
    return generate_stimulus_set(config, tmp_path_factory.mktemp("real-set"), progress=False)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def migrated_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """One database per backend for the session, brought to head by the migrations.

    Made here rather than taken from the shared ``database_url``, which
    tests/test_databases.py expects to stay empty for the whole session."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('site-sqlite') / 'glyphlab.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_database_factory")()
    db.upgrade(url)
    return url


@pytest.fixture(scope="session")
def engine(migrated_url: str) -> Iterator[sa.Engine]:
    engine = db.make_engine(migrated_url)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: sa.Engine) -> Iterator[sa.Connection]:
    """One connection in an outer transaction that is always rolled back."""
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        if transaction.is_active:
            transaction.rollback()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))


@pytest.fixture
def site_config(migrated_url: str, data_dir: Path) -> SiteConfig:
    return SiteConfig(data_dir=data_dir, database_url=migrated_url, secret_key=TEST_SECRET_KEY)


@contextmanager
def statements(connection: sa.Connection) -> Iterator[list[str]]:
    """The SQL run on the test's connection meanwhile, each on one line."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        seen.append(" ".join(statement.split()))

    sa.event.listen(connection, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(connection, "before_cursor_execute", record)


class SavepointConnection:
    """The test's connection, as a view's request connection (``db.get_connection``):
    what the view commits is a released savepoint and what it rolls back (an answer that
    lost a race) or leaves open goes back to its savepoint, inside the test's outer
    transaction, as the sessions' ``create_savepoint`` mode does for ORM views. Its
    savepoint begins with the first statement after the last one ended, so that the
    site keeping the connection between requests (``db.ThreadConnections``) leaves
    nothing open in between, where the test's own session makes its savepoints."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection
        self._savepoint: sa.engine.NestedTransaction | None = None

    def __getattr__(self, name: str):
        # the rest as the connection has it (its dialect, DBAPI connection, events)
        return getattr(self._connection, name)

    def in_transaction(self) -> bool:
        return self._savepoint is not None and self._savepoint.is_active

    def begin(self) -> sa.engine.NestedTransaction:
        if not self.in_transaction():
            self._savepoint = self._connection.begin_nested()
        return self._savepoint

    def execute(self, *args, **kwargs):
        self.begin()
        return self._connection.execute(*args, **kwargs)

    def commit(self) -> None:
        if self.in_transaction():
            self._savepoint.commit()

    def rollback(self) -> None:
        if self.in_transaction():
            self._savepoint.rollback()

    def close(self) -> None:
        self.rollback()


@pytest.fixture
def app(
    site_config: SiteConfig, connection: sa.Connection, clock: FakeClock, seed: int
) -> Iterator[Flask]:
    app = create_app(site_config, clock=clock, plan_seed=plan_seeds(seed))
    app.config["TESTING"] = True
    database = app.extensions[db.EXTENSION_KEY]
    database.sessionmaker = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    database.read_sessionmaker = database.sessionmaker
    database.connect = lambda: SavepointConnection(connection)
    yield app
    database.dispose()


@pytest.fixture
def client(app: Flask):
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture
def db_session(app: Flask) -> Iterator[Session]:
    """A session on the test's transaction, for arranging and asserting."""
    session = app.extensions[db.EXTENSION_KEY].sessionmaker()
    yield session
    session.close()


@pytest.fixture
def researcher(db_session: Session) -> Researcher:
    researcher = Researcher(
        email="researcher@example.org",
        name="Test Researcher",
        password_hash=generate_password_hash("correct horse battery staple", "pbkdf2:sha256:1000"),
    )
    db_session.add(researcher)
    db_session.commit()
    return researcher


def small_study_params(**overrides) -> StudyParams:
    """A short study over every encoding (grids): 4 main, 1 practice, 1 attention check."""
    values = {
        "title": "Site test",
        "slug": "site-test",
        "trials_per_participant": 4,
        "practice_trials": 1,
        "attention_checks": 1,
        "deadline_ms": 10_000,
        "completion_code": "C0DE1234",
    }
    values.update(overrides)
    return StudyParams(**values)


def cut_every_connection(url: str) -> None:
    """What a PostgreSQL restart does to a running site: every other server connection
    to the database at ``url`` is terminated."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as admin:
            admin.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
    finally:
        engine.dispose()


def live_site(url: str, data_dir: Path, stimulus_set: Path) -> Flask:
    """A site on a database of its own (migrated here), with one open study and no
    shared test transaction: for threads that race, and connections that are cut."""
    db.upgrade(url)
    app = create_app(SiteConfig(data_dir=data_dir, database_url=url, secret_key=TEST_SECRET_KEY))
    session = app.extensions[db.EXTENSION_KEY].sessionmaker()
    researcher = Researcher(
        email="r@example.org", password_hash=generate_password_hash("pw", "pbkdf2:sha256:1000")
    )
    session.add(researcher)
    study = create_study(
        session,
        researcher=researcher,
        stimulus_set_folder=stimulus_set,
        params=small_study_params(practice_trials=0, attention_checks=0),
    )
    set_status(study, StudyStatus.open)
    session.commit()
    session.close()
    return app


@pytest.fixture
def make_study(db_session: Session, researcher: Researcher, stimulus_set: Path):
    """Create (and by default open) a study from the fixture set."""

    def make(open_: bool = True, **overrides) -> Study:
        study = create_study(
            db_session,
            researcher=researcher,
            stimulus_set_folder=stimulus_set,
            params=small_study_params(**overrides),
        )
        if open_:
            set_status(study, StudyStatus.open)
        db_session.commit()
        return study

    return make


@pytest.fixture
def study(make_study) -> Study:
    return make_study()


@pytest.fixture
def live_url(app: Flask, migrated_url: str) -> Iterator[str]:
    """The test app served on a free port for a browser (SQLite only: the pages are the
    same on PostgreSQL, which the other tests cover)."""
    if not migrated_url.startswith("sqlite"):
        pytest.skip("browser test runs on SQLite only")
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
