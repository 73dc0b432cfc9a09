"""``glyphlab researcher create`` and ``glyphlab export``: the researcher's command line.

Both read the site's settings from the environment (``SiteConfig.from_env``, the same
database the site uses) and refuse to touch a database whose schema is not at the
latest migration, saying to run ``glyphlab db upgrade``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import sqlalchemy as sa
from sqlalchemy.orm import Session

from experiment import db
from experiment.auth.operations import (
    create_researcher,
    set_password,
    validate_email,
    validate_password,
)
from experiment.config import SiteConfig
from experiment.models import Study
from experiment.services.trial_table import trial_table
from glyphlab.errors import GlyphlabError


@contextmanager
def site_session(*, existing_database: bool = False) -> Iterator[Session]:
    """A session on the configured database, after checking its schema is current
    (and, with ``existing_database``, that there is one: nothing is created)."""
    config = SiteConfig.from_env(existing_database=existing_database)
    if not db.schema_is_current(config.database_url):
        raise GlyphlabError(
            "the database schema is not up to date; run `glyphlab db upgrade` first"
        )
    database = db.Database(config.database_url)
    try:
        with database.sessionmaker() as session:
            yield session
    finally:
        database.dispose()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@click.group("researcher")
def researcher() -> None:
    """Manage researcher accounts (the people who log in to the dashboard)."""


@researcher.command("create")
@click.option("--email", required=True, help="Login name of the researcher.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input instead of a prompt.",
)
def create(email: str, password_stdin: bool) -> None:
    """Create a researcher account with a hashed password."""
    email = validate_email(email)
    # The database first: nobody should type a password twice to learn it is unreachable.
    with site_session() as session:
        password = validate_password(_read_password(password_stdin))
        try:
            created = create_researcher(session, email=email, password=password)
            session.commit()
        except sa.exc.IntegrityError:
            raise GlyphlabError(f"a researcher with e-mail {email} already exists") from None
        click.echo(f"researcher {created.email} created (id {created.id})")


@researcher.command("set-password")
@click.option("--email", required=True, help="Login name of the researcher.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the new password from the first line of standard input instead of a prompt.",
)
def change_password(email: str, password_stdin: bool) -> None:
    """Give a researcher a new password; their open dashboard sessions end."""
    with site_session() as session:
        password = validate_password(_read_password(password_stdin))
        changed = set_password(session, email=email, password=password)
        session.commit()
        click.echo(f"password of {changed.email} changed; their open sessions have ended")


def find_study(session: Session, reference: str) -> Study:
    """A study by number or slug, or a :class:`GlyphlabError` naming what exists."""
    condition = Study.slug == reference
    if reference.isdigit():
        condition = sa.or_(condition, Study.id == int(reference))
    study = session.scalar(sa.select(Study).where(condition))
    if study is None:
        known = session.scalars(sa.select(Study.slug).order_by(Study.id)).all()
        raise GlyphlabError(
            f"no study {reference!r}; known studies: {', '.join(known) or 'none yet'}"
        )
    return study


@click.command("export")
@click.option("--study", "reference", required=True, help="Study number or slug.")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="New (or empty) folder for the Psych-DS dataset.",
)
@click.option("--k", default=5, show_default=True, help="k for k-anonymity of participants.")
@click.option(
    "--with-previews",
    is_flag=True,
    help="Also export the researcher's preview participants (left out by default).",
)
def export(reference: str, out: Path, k: int, with_previews: bool) -> None:
    """Export a study's trials, anonymised, as a Psych-DS dataset."""
    from analysis.export import ExportConfig, export_psychds

    with site_session(existing_database=True) as session:
        study = find_study(session, reference)
        table = trial_table(session, study.id, include_preview=with_previews)
        title = study.title
    if table.empty:
        raise GlyphlabError(f"study {reference!r} has no answered trials yet; nothing to export")
    written = export_psychds(table, out, ExportConfig(k=k, name=title))
    click.echo(
        f"exported {len(table)} trials of {table['participant'].nunique()} "
        f"participants to {written}"
    )
