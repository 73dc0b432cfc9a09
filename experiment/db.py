"""Engines, sessions and migrations.

One engine per process, made from ``SiteConfig.database_url``. A request gets one
``Session`` (``get_session()``), closed when the app context ends; views commit
explicitly after calling a service. The runner API, the site's hottest path, works on a
plain Core ``Connection`` instead (``get_connection()``): it runs Core statements only,
and an ORM ``Session`` around them cost about a tenth of a millisecond of CPU a call.
On PostgreSQL that connection autocommits: every write the runner API makes is one
statement (an answer's INSERT and UPDATEs included, ``services/answers.py``), so a
transaction around it would only add its BEGIN and COMMIT, two of an answer's four
round trips. Each server thread keeps its runner connection between requests
(:class:`ThreadConnections`). Pages that only read autocommit too
(``read_only_session()``): they send no BEGIN and no ROLLBACK, two of an entry page's
four round trips, and the pooled connections keep their prepared statements (psycopg
drops them at every ROLLBACK).
The schema comes only from Alembic (``migrations/``): ``upgrade()`` is what ``glyphlab db
upgrade`` and the tests run, and ``schema_is_current()`` is what ``glyphlab serve`` checks
before starting.

SQLite (the embedded default) is set up for a small multi-threaded server: WAL so
readers never wait for the writer, a busy timeout instead of instant "database is
locked", foreign keys on, and ``BEGIN IMMEDIATE`` so a transaction that reads and then
writes takes the write lock up front and cannot deadlock on a lock upgrade (views that
only read use ``read_only_session()``, a deferred BEGIN that never waits for writers). pysqlite's
own transaction handling is switched off (the recipe in SQLAlchemy's SQLite docs) so
SAVEPOINTs work, which the idempotent answer insert and the test fixtures rely on.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask, current_app, g
from sqlalchemy.orm import Session, sessionmaker

from experiment.driver_sql import WRITES_IN_ONE_STATEMENT
from glyphlab.errors import GlyphlabError

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
EXTENSION_KEY = "glyphlab.db"
READ_ONLY = "glyphlab_read_only"


class DatabaseUnavailable(GlyphlabError):
    """The configured database cannot be opened (no driver, no server, no such file)."""


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return repr(url)


@contextmanager
def reachable(url: str) -> Iterator[None]:
    """Turn a failure to create an engine or to connect into one line that names the
    database and the reason: ``glyphlab db``/``serve``/``researcher`` connect through
    here first, so a wrong GLYPHLAB_DATABASE_URL or a stopped server is not a traceback."""
    try:
        yield
    except (ImportError, sa.exc.ArgumentError) as error:
        raise DatabaseUnavailable(
            f"GLYPHLAB_DATABASE_URL {safe_url(url)} cannot be used "
            f"({str(error).splitlines()[0]}); use e.g. "
            "sqlite:////path/glyphlab.sqlite3 or postgresql+psycopg://user@host/db"
        ) from None
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as error:
        reason = " ".join(str(error.orig).split()) or type(error.orig).__name__
        raise DatabaseUnavailable(f"cannot open the database {safe_url(url)}: {reason}") from None


#: The pool keeps this many idle connections. It opens more when asked, never making a
#: request wait: each server thread keeps its runner connection (ThreadConnections) and
#: may take one more for a page's session, so a process opens at most two per thread
#: (plus its background jobs'), whatever the pool's size.
POOL_SIZE = 10


def make_engine(url: str) -> sa.Engine:
    """An engine with the per-backend settings described in the module docstring."""
    pooling = {"pool_size": POOL_SIZE, "max_overflow": -1}
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False}, **pooling)
        sa.event.listen(engine, "connect", _sqlite_on_connect)
        sa.event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    # No pre-ping: it costs a round trip on every request. A connection that died with
    # the server fails its statement instead; SQLAlchemy then drops the whole pool, the
    # request answers 503 with Retry-After (which the runner retries) and the next
    # request connects afresh.
    return sa.create_engine(url, **pooling)


def _sqlite_on_connect(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_on_begin(connection: sa.Connection) -> None:
    readonly = connection.get_execution_options().get(READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def read_only_session() -> Session:
    """The request's session for a view that only reads (media, the study link, the
    instructions, the debrief): on PostgreSQL it autocommits (no BEGIN, no ROLLBACK), on
    SQLite its transaction is a plain deferred BEGIN, so it never waits for the write
    lock. ``get_session()`` returns it for the rest of the request; a request that
    already has a session keeps that one."""
    if "db_session" not in g:
        g.db_session = current_app.extensions[EXTENSION_KEY].read_sessionmaker()
        g.db_session.connection(execution_options={READ_ONLY: True})
    return g.db_session


class _Kept:
    """A thread's kept connection, given back to the pool when the thread ends (servers
    retire idle threads: granian after 30 s) and with it this record."""

    def __init__(self, connection: sa.Connection, generation: int) -> None:
        self.connection = connection
        self.generation = generation

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # at interpreter exit the pool may be gone
            self.connection.close()


class ThreadConnections:
    """The runner API's connection of each server thread, kept between its requests.

    Taking a connection from SQLAlchemy's pool and giving it back (a new ``Connection``,
    the pool's checkout and return, the driver switched to autocommit and back) cost
    about a tenth of a runner call's CPU. So each thread keeps its own; what a request
    leaves open is rolled back when it ends, as giving it back would, and a thread that
    ends gives it back.

    After a database restart every kept connection is dead, but only the one that finds
    out is invalidated: so any invalidation in the pool (SQLAlchemy's ``invalidate``
    event, which its disconnect handling fires) makes every thread take a fresh one at
    its next request, and a restart costs one failed request (a 503 the runner
    retries), not one per thread.
    """

    def __init__(self, engine: sa.Engine, connect: Callable[[], sa.Connection]) -> None:
        self._connect = connect
        self._local = threading.local()
        #: bumped by every invalidation; a connection kept from an older one is renewed
        self._generation = 0
        sa.event.listen(engine, "invalidate", self._renew_all)

    def _renew_all(self, *_args: object) -> None:
        self._generation += 1

    def get(self) -> sa.Connection:
        """This thread's connection, taken afresh where it has none or an outdated one."""
        kept: _Kept | None = getattr(self._local, "kept", None)
        if kept is not None:
            if kept.generation == self._generation and not kept.connection.invalidated:
                return kept.connection
            del self._local.kept  # back to the pool, which replaces what is stale
        self._local.kept = kept = _Kept(self._connect(), self._generation)
        return kept.connection

    @staticmethod
    def release(connection: sa.Connection) -> None:
        """The end of a request: roll back whatever it left open; keep the connection."""
        if connection.in_transaction():
            connection.rollback()


class Database:
    """The process's engine, session factories and request connections (tests swap
    ``sessionmaker``, ``read_sessionmaker`` and ``connect`` to keep each test in one
    rolled-back transaction)."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.sessionmaker: sessionmaker[Session] = sessionmaker(self.engine, expire_on_commit=False)
        #: the same pool; on PostgreSQL its connections autocommit while checked out here
        autocommitting = self.engine
        if self.engine.dialect.name in WRITES_IN_ONE_STATEMENT:
            autocommitting = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self.read_sessionmaker: sessionmaker[Session] = sessionmaker(
            autocommitting, expire_on_commit=False
        )
        self.connect: Callable[[], sa.Connection] = autocommitting.connect
        #: the runner API's connections (tests swap ``connect``: it is looked up each time)
        self.runner_connections = ThreadConnections(self.engine, lambda: self.connect())

    def dispose(self) -> None:
        self.engine.dispose()


def init_app(app: Flask, database: Database) -> None:
    app.extensions[EXTENSION_KEY] = database
    app.teardown_appcontext(_close_session)
    for error in (sa.exc.OperationalError, sa.exc.InterfaceError):
        app.register_error_handler(error, _database_unavailable)


#: Seconds a client is asked to wait before retrying while the database is away.
RETRY_AFTER_S = 5


def _database_unavailable(error: sa.exc.DBAPIError):
    """The database stopped answering mid-request (restart, failover, network): the
    transaction was rolled back, so nothing is half-stored and the same request can
    simply be sent again. 503 with ``Retry-After`` says exactly that (the runner
    retries; a page shows "try again"); the cause goes to the log, not the visitor."""
    from experiment.error_pages import error_response

    current_app.logger.error("database unavailable: %s", " ".join(str(error.orig).split()))
    body, status = error_response(
        "The site's database is not answering right now; nothing was lost. "
        "Wait a few seconds and try again.",
        503,
        title="Try again shortly",
    )
    return body, status, {"Retry-After": str(RETRY_AFTER_S)}


def get_session() -> Session:
    """The current request's session (created on first use)."""
    if "db_session" not in g:
        g.db_session = current_app.extensions[EXTENSION_KEY].sessionmaker()
    return g.db_session


def get_connection() -> sa.Connection:
    """The current request's Core connection (the server thread's, kept between its
    requests: :class:`ThreadConnections`), for views that run Core statements only; a
    request uses this or ``get_session()``, never both (on SQLite two write transactions
    in one request would wait on each other)."""
    if "db_connection" not in g:
        g.db_connection = current_app.extensions[EXTENSION_KEY].runner_connections.get()
    return g.db_connection


def _close_session(_error: BaseException | None) -> None:
    """End the request's session or connection; what was not committed is rolled back."""
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
    connection = g.pop("db_connection", None)
    if connection is not None:
        ThreadConnections.release(connection)


def alembic_config(url: str, connection: sa.Connection | None = None) -> Config:
    """Alembic settings pointing at ``migrations/`` and the given database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (``glyphlab db upgrade``), after checking the
    database opens at all (errors from inside a migration are left as they are)."""
    current_revision(url)
    command.upgrade(alembic_config(url), revision)


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None, "migrations/versions is empty"
    return head


def current_revision(url: str) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with reachable(url):
        engine = make_engine(url)
    try:
        with reachable(url):
            connection = engine.connect()
        with connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def schema_is_current(url: str) -> bool:
    return current_revision(url) == head_revision()
