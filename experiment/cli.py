"""``glyphlab serve`` and ``glyphlab db upgrade|current``.

``serve`` refuses to start on a database that is not at the newest migration (the app
never creates tables itself), then runs the site with waitress (threads, any platform,
the default) or gunicorn (processes, for PostgreSQL deployments; each worker builds its
own app and engine after the fork). Outside this command use
``gunicorn 'experiment:create_app()'``.

Several ``serve --server gunicorn`` instances on one machine (the two app servers of
deploy/, each its own systemd unit) each get their own gunicorn control socket, named
after the port, instead of sharing gunicorn's per-user default: otherwise the second
instance takes the first one's socket and ``gunicornc`` talks to the wrong server.
Forwarding headers are left to the site (``GLYPHLAB_PROXY_COUNT``, experiment/proxy.py):
gunicorn's own ``X-Forwarded-Proto`` handling is switched off so there is one rule.
"""

from __future__ import annotations

from pathlib import Path

import click

from experiment import db
from experiment.config import SiteConfig
from glyphlab.errors import GlyphlabError

#: Open connections waitress serves at once. Its default, 100, is about 20 browsers (each
#: keeps a few connections open): past it new participants wait at the door until an
#: idle connection times out, two minutes later.
WAITRESS_CONNECTIONS = 1000
#: Files (sockets) left to the rest of the process: database, stimulus files, logs.
SPARE_FILES = 100


class SchemaError(GlyphlabError):
    """The database schema is missing or older than the code."""


def _require_current_schema(config: SiteConfig) -> None:
    current, head = db.current_revision(config.database_url), db.head_revision()
    if current != head:
        raise SchemaError(
            f"the database {db.safe_url(config.database_url)} is at migration {current or 'none'}, "
            f"this code needs {head}: run `glyphlab db upgrade` first"
        )


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--server",
    type=click.Choice(["waitress", "gunicorn"]),
    default="waitress",
    show_default=True,
    help="waitress: one process, threads; gunicorn: several worker processes.",
)
@click.option(
    "--workers",
    default=2,
    show_default=True,
    type=click.IntRange(1, 64),
    help="gunicorn worker processes.",
)
@click.option(
    "--threads",
    default=8,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Threads per process.",
)
@click.option(
    "--control-socket",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="gunicorn's control socket. Default: gunicorn-PORT.ctl in the data folder.",
)
@click.option(
    "--worker/--no-worker",
    "with_worker",
    default=True,
    show_default=True,
    help="Also run one background-job worker (`glyphlab worker`) beside the site.",
)
def serve(
    host: str,
    port: int,
    server: str,
    workers: int,
    threads: int,
    control_socket: Path | None,
    with_worker: bool,
) -> None:
    """Run the experiment site (settings from GLYPHLAB_* environment variables)."""
    config = SiteConfig.from_env()
    _require_current_schema(config)
    where = db.safe_url(config.database_url)
    click.echo(f"glyphlab site on http://{host}:{port}/ ({server}, database {where})")
    if not with_worker:
        _serve(config, host, port, server, workers, threads, control_socket)
        return
    from experiment.cli_worker import start_worker_process

    child = start_worker_process()
    try:
        _serve(config, host, port, server, workers, threads, control_socket)
    finally:
        child.terminate()
        child.wait(timeout=30)


def _serve(
    config: SiteConfig,
    host: str,
    port: int,
    server: str,
    workers: int,
    threads: int,
    control_socket: Path | None,
) -> None:
    if server == "gunicorn":
        socket = control_socket or config.data_dir / f"gunicorn-{port}.ctl"
        socket.parent.mkdir(parents=True, exist_ok=True)
        _gunicorn(config, host, port, workers, threads, socket)
        return
    import waitress

    from experiment import create_app

    open_files = raise_open_file_limit(WAITRESS_CONNECTIONS + SPARE_FILES)
    # waitress reads a whole body (up to 1 GiB by default, spooled to disk) before the
    # app sees its Content-Length; the site's own limit stops that at the socket.
    waitress.serve(
        create_app(config),
        host=host,
        port=port,
        threads=threads,
        ident="glyphlab",
        max_request_body_size=config.max_body_bytes,
        connection_limit=min(WAITRESS_CONNECTIONS, open_files - SPARE_FILES),
        asyncore_use_poll=True,  # select() cannot watch sockets numbered past 1023
    )


def raise_open_file_limit(wanted: int) -> int:
    """Lift this process's soft limit on open files to ``wanted`` where the hard limit
    allows (a common soft limit is 1024); returns the limit in force afterwards (``wanted``
    where there is none)."""
    try:
        import resource
    except ImportError:  # Windows has no such limit
        return wanted
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return wanted if soft == resource.RLIM_INFINITY else soft
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


def gunicorn_settings(
    host: str, port: int, workers: int, threads: int, control_socket: Path
) -> dict[str, object]:
    """The gunicorn settings ``serve`` runs with (a function, so tests can read them)."""
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "accesslog": None,
        "graceful_timeout": 5,
        # A participant's connection idles for one think time between trials;
        # gthread parks idle connections without a thread, so keeping them for
        # a few trials is cheap and saves a reconnect (and a race) per trial.
        "keepalive": 15,
        "control_socket": str(control_socket),
        "forwarded_allow_ips": "",
    }


def _gunicorn(
    config: SiteConfig, host: str, port: int, workers: int, threads: int, control_socket: Path
) -> None:
    from gunicorn.app.base import BaseApplication

    from experiment import create_app

    class Site(BaseApplication):
        def load_config(self) -> None:
            settings = gunicorn_settings(host, port, workers, threads, control_socket)
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self):
            return create_app(config)

    Site().run()


@click.group("db")
def db_group() -> None:
    """Create or inspect the database schema (Alembic migrations)."""


@db_group.command()
def upgrade() -> None:
    """Bring the database schema up to the newest migration."""
    config = SiteConfig.from_env()
    db.upgrade(config.database_url)
    click.echo(f"{db.safe_url(config.database_url)} is at migration {db.head_revision()}")


@db_group.command()
def current() -> None:
    """Show the database's migration and whether it is up to date."""
    config = SiteConfig.from_env()
    revision, head = db.current_revision(config.database_url), db.head_revision()
    state = "up to date" if revision == head else f"behind: run `glyphlab db upgrade` (head {head})"
    click.echo(f"{db.safe_url(config.database_url)}: migration {revision or 'none'} ({state})")
