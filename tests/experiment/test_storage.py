"""Schema from the migrations, the SQLite settings, and study creation."""

import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from experiment import create_app, db
from experiment.config import SiteConfig
from experiment.design import DesignError
from experiment.models import Base, Condition, Researcher, Study, StudyStatus
from experiment.services.studies import StudyError, StudyParams, create_study, set_status
from tests.experiment.conftest import TEST_SECRET_KEY, cut_every_connection, small_study_params
from tests.experiment.participant_client import Participant as Browser


def test_migrations_build_exactly_the_models(engine):
    with engine.connect() as connection:
        tables = set(sa.inspect(connection).get_table_names()) - {"alembic_version"}
    assert tables == set(Base.metadata.tables)
    assert db.schema_is_current(str(engine.url.render_as_string(hide_password=False)))


def test_the_runner_api_connection_autocommits_where_its_writes_are_one_statement(migrated_url):
    """On PostgreSQL a runner API statement runs without a BEGIN (nothing is left open
    after it), so a write is stored without a COMMIT round trip, and so does a read-only
    page's session; on SQLite the connection keeps its BEGIN IMMEDIATE transactions.
    Given back to the pool, the same connection opens transactions again for the
    sessions that take it next."""
    database = db.Database(migrated_url)
    postgresql = database.engine.dialect.name == "postgresql"
    try:
        with database.connect() as connection:
            connection.execute(sa.select(Study.id).limit(1)).all()
            driver = connection.connection.driver_connection
            if postgresql:
                assert driver.autocommit
                assert driver.info.transaction_status == 0  # IDLE: no BEGIN was sent
            else:
                assert driver.in_transaction  # BEGIN IMMEDIATE
        with database.read_sessionmaker() as reading:
            reading.execute(sa.select(Study.id).limit(1)).all()
            reader = reading.connection().connection.driver_connection
            assert reader is driver
            if postgresql:
                assert reader.info.transaction_status == 0  # no BEGIN, so no ROLLBACK due
        with database.engine.connect() as connection:  # the pooled connection, given back
            connection.execute(sa.select(Study.id).limit(1)).all()
            assert connection.connection.driver_connection is driver
            assert not getattr(driver, "autocommit", False)  # transactions, as sessions need
    finally:
        database.dispose()


def test_each_server_thread_keeps_its_runner_connection(migrated_url):
    """A request's runner connection is its thread's, kept for the thread's next request
    (not taken from the pool and given back each time); another thread has its own; what
    a request left open is rolled back when it ends."""
    database = db.Database(migrated_url)
    kept = database.runner_connections
    try:
        first = kept.get()
        first.execute(sa.select(Study.id).limit(1)).all()
        kept.release(first)
        assert kept.get() is first and not first.in_transaction()
        checked_out = database.engine.pool.checkedout()
        with ThreadPoolExecutor(1) as other_thread:
            assert other_thread.submit(kept.get).result() is not first
            assert database.engine.pool.checkedout() == checked_out + 1
        assert database.engine.pool.checkedout() == checked_out  # its thread ended
        first.execute(sa.update(Study).values(title="never stored"))
        kept.release(first)
        with database.engine.connect() as other:
            titles = other.execute(sa.select(Study.title)).scalars().all()
        assert "never stored" not in titles
    finally:
        database.dispose()


def test_a_database_restart_renews_every_threads_connection(request):
    """Once one thread's statement finds the server gone (its connection invalidated),
    every other thread takes a fresh connection at its next request instead of failing
    on its own dead one: a restart costs one failed request, not one per thread."""
    url = request.getfixturevalue("postgres_database_factory")()
    database = db.Database(url)
    kept = database.runner_connections
    other_thread = ThreadPoolExecutor(1)  # one thread: it keeps its connection
    try:
        here = kept.get()
        there = other_thread.submit(kept.get).result()
        assert here.execute(sa.text("select 1")).scalar() == 1
        cut_every_connection(url)
        with pytest.raises(sa.exc.OperationalError):
            here.execute(sa.text("select 1"))
        kept.release(here)

        def next_request_elsewhere():
            connection = kept.get()
            return connection, connection.execute(sa.text("select 1")).scalar()

        renewed, answer = other_thread.submit(next_request_elsewhere).result()
        assert renewed is not there and answer == 1
        assert kept.get().execute(sa.text("select 1")).scalar() == 1
    finally:
        other_thread.shutdown()
        database.dispose()


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
    finally:
        engine.dispose()
    assert db.current_revision(url) is None
    assert not db.schema_is_current(url)


def test_create_study_stores_conditions(db_session, make_study):
    study = make_study(
        open_=False,
        encodings=("chernoff", "table"),
        layouts=("grid", "sequence"),
        response_modes=("yes_no",),
    )
    assert study.status == StudyStatus.draft
    rows = db_session.scalars(
        sa.select(Condition).where(Condition.study_id == study.id).order_by(Condition.position)
    ).all()
    pairs = [(c.encoding, c.layout, c.response_mode) for c in rows]
    # yes_no works with grids and sequences; the fixture set has sequences for both
    assert pairs == [
        (encoding, layout, "yes_no")
        for encoding in ("chernoff", "table")
        for layout in ("grid", "sequence")
    ]
    assert study.response_mode_params == {"yes_no": {"yes_key": "y", "no_key": "n"}}


def test_condition_without_stimuli_is_refused(db_session, researcher, stimulus_set):
    params = small_study_params(
        encodings=("gan_face", "chernoff", "table", "plot"),
        layouts=("sequence",),
        response_modes=("keypress",),
    )
    with pytest.raises(DesignError, match=r"no main stimuli for gan_face/sequence, plot/seq"):
        create_study(
            db_session, researcher=researcher, stimulus_set_folder=stimulus_set, params=params
        )
    assert db_session.scalars(sa.select(Study)).all() == []


def test_a_study_defaults_to_the_encodings_its_set_has_in_its_layouts(
    db_session, researcher, stimulus_set
):
    params = small_study_params(layouts=("sequence",), response_modes=("keypress",))
    study = create_study(
        db_session, researcher=researcher, stimulus_set_folder=stimulus_set, params=params
    )
    assert study.encodings == ["chernoff", "table"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"title": " "}, "title"),
        ({"slug": "Bad Slug"}, "slug"),
        ({"encodings": ("faces",)}, "encodings"),
        ({"response_modes": ("mark_outliers",), "response_mode_params": {"yes_no": {}}}, "not in"),
        ({"response_mode_params": {"mark_outliers": {"colour": 1}}}, "unknown parameters"),
        ({"deadline_ms": 10}, "deadline_ms"),
        ({"completion_url": "javascript:alert(1)"}, "completion_url"),
    ],
)
def test_bad_study_params_name_the_field(overrides, message):
    values = {"title": "t", **overrides}
    with pytest.raises(StudyError, match=message):
        StudyParams(**values)


def test_duplicate_slug_and_a_return_to_draft_are_refused(make_study):
    study = make_study()
    with pytest.raises(StudyError, match="exists"):
        make_study()
    set_status(study, StudyStatus.closed)
    with pytest.raises(StudyError, match="has been open; duplicate it"):
        set_status(study, StudyStatus.draft)
    set_status(study, StudyStatus.open)  # a closed study reopens
    assert study.status == StudyStatus.open and study.closed_at is None


def test_media_reads_do_not_wait_for_a_writer(tmp_path, stimulus_set):
    """On SQLite, a media request is served while another connection holds the write lock."""
    url = f"sqlite:///{tmp_path / 'locks.sqlite3'}"
    db.upgrade(url)
    config = SiteConfig(
        data_dir=tmp_path, database_url=url, secret_key=TEST_SECRET_KEY, inline_media_bytes=0
    )
    app = create_app(config)
    session = app.extensions[db.EXTENSION_KEY].sessionmaker()
    researcher = Researcher(
        email="r@x.org", password_hash=generate_password_hash("p", "pbkdf2:sha256:1000")
    )
    study = create_study(
        session,
        researcher=researcher,
        stimulus_set_folder=stimulus_set,
        params=small_study_params(),
    )
    set_status(study, StudyStatus.open)
    session.commit()
    session.close()
    browser = Browser(app.test_client())
    browser.consent()
    browser.open_runner()
    trial = browser.next().json["trial"]
    writer = sqlite3.connect(tmp_path / "locks.sqlite3", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        started = time.perf_counter()
        media = browser.client.get(trial["images"][0]["src"])
        assert media.status_code == 200
        assert time.perf_counter() - started < 1.0
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        app.extensions[db.EXTENSION_KEY].dispose()
