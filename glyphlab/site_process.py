"""Run the real site (``glyphlab serve``) in a child process, and set up a study for it.

Used by ``glyphlab demo``, the load benchmark and the fault tests: they all need a site
started the way a researcher starts it, on 127.0.0.1, that can be killed with SIGKILL
and started again on the same database.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from glyphlab.errors import GlyphlabError

START_TIMEOUT_S = 60.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def site_environment(data_dir: Path, database_url: str | None = None) -> dict[str, str]:
    """The environment a site on ``data_dir`` (and optionally another database) reads."""
    return {
        **os.environ,
        "GLYPHLAB_DATA_DIR": str(data_dir),
        "GLYPHLAB_DATABASE_URL": database_url or "",
    }


class SiteProcess:
    """``glyphlab serve`` as a child process: start, wait until it answers, kill, restart."""

    def __init__(
        self,
        environment: Mapping[str, str],
        *,
        port: int | None = None,
        serve_args: tuple[str, ...] = (),
        log_path: Path,
    ) -> None:
        self.environment = dict(environment)
        self.port = port or free_port()
        self.serve_args = serve_args
        self.log_path = log_path
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> SiteProcess:
        command = [sys.executable, "-m", "glyphlab", "serve", "--port", str(self.port)]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [*command, *self.serve_args],
                env=self.environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # so a kill reaches gunicorn's workers too
            )
        self.wait_until_ready()
        return self

    def wait_until_ready(self) -> None:
        import httpx

        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.process is None or self.process.poll() is not None:
                raise GlyphlabError(f"the site did not start; see {self.log_path}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.url}/login", timeout=2.0).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise GlyphlabError(f"the site did not answer within 60 s; see {self.log_path}")
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL the whole process group: no clean shutdown, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()

    def __enter__(self) -> SiteProcess:
        # The child runs in a session of its own (so a kill reaches its workers), so a
        # SIGTERM to us does not reach it: turn ours into KeyboardInterrupt, as Ctrl-C,
        # so that ``__exit__`` stops the child before we go.
        self._previous_sigterm = None
        if threading.current_thread() is threading.main_thread():  # only it gets signals
            self._previous_sigterm = signal.signal(signal.SIGTERM, _interrupt)
        try:
            return self.start()
        except BaseException:
            self.__exit__()
            raise

    def __exit__(self, *_exc) -> None:
        try:
            self.stop()
        finally:
            if self._previous_sigterm is not None:
                signal.signal(signal.SIGTERM, self._previous_sigterm)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def site_session(database_url: str) -> Iterator:
    """A SQLAlchemy session on the site's database (schema brought to head first)."""
    from experiment import db

    db.upgrade(database_url)
    database = db.Database(database_url)
    try:
        with database.sessionmaker() as session:
            yield session
    finally:
        database.dispose()


def open_study(database_url: str, set_folder: Path, params, *, email: str) -> tuple[str, str]:
    """Create (or re-key) researcher ``email`` and an open study; return (slug, password).

    The password is new on every call and only returned, never stored in clear.
    """
    import sqlalchemy as sa
    from werkzeug.security import generate_password_hash

    from experiment.auth.operations import create_researcher
    from experiment.models import Researcher, StudyStatus
    from experiment.services.studies import create_study, set_status

    password = secrets.token_urlsafe(12)
    with site_session(database_url) as session:
        researcher = session.scalar(sa.select(Researcher).where(Researcher.email == email))
        if researcher is None:
            researcher = create_researcher(session, email=email, password=password)
        else:
            researcher.password_hash = generate_password_hash(password)
        study = create_study(
            session, researcher=researcher, stimulus_set_folder=set_folder, params=params
        )
        set_status(study, StudyStatus.open)
        session.commit()
        return study.slug, password
