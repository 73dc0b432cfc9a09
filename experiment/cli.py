"""``glyphlab serve`` and ``glyphlab db upgrade|current``.

``serve`` refuses to start on a database that is not at the newest migration (the app
never creates tables itself), then runs the site with one of the HTTP servers of
``experiment.servers`` (``--server``): waitress (threads, any platform, the default),
gunicorn or granian (worker processes x threads, for PostgreSQL deployments; each
worker builds its own app and engine after the fork). Outside this command use
``gunicorn 'experiment:create_app()'``.
"""

from __future__ import annotations

from pathlib import Path

import click

from experiment import db
from experiment.config import SiteConfig
from experiment.servers import SERVERS, ServeOptions
from glyphlab.errors import GlyphlabError


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
    type=click.Choice(list(SERVERS)),
    default="waitress",
    show_default=True,
    help="; ".join(f"{name}: {server.help}" for name, server in SERVERS.items()) + ".",
)
@click.option(
    "--workers",
    default=2,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker processes (gunicorn, granian).",
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
    options = ServeOptions(host, port, workers, threads, control_socket)
    if not with_worker:
        SERVERS[server].serve(config, options)
        return
    from experiment.cli_worker import start_worker_process

    child = start_worker_process()
    try:
        SERVERS[server].serve(config, options)
    finally:
        child.terminate()
        child.wait(timeout=30)


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
