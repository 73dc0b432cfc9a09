"""Alembic environment: the URL comes from glyphlab's settings, never from a file.

``experiment.db.alembic_config`` sets ``sqlalchemy.url`` (or hands over an open
connection); run bare (``alembic -c ...``) it falls back to ``SiteConfig.from_env()``.
SQLite gets ``render_as_batch=True`` so ALTERs become table copies it can do.
"""

from alembic import context

from experiment.config import SiteConfig
from experiment.db import make_engine
from experiment.models import Base

config = context.config


def run_migrations(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or SiteConfig.from_env().database_url
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            run_migrations(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("glyphlab migrations run online only: use `glyphlab db upgrade`")
run_online()
