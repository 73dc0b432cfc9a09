"""browser screen: each browser session's screen, window, pixel ratio and refresh rate

Revision ID: 0009_browser_screen
Revises: 0008_screen_requirements
Create Date: 2026-12-01 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_browser_screen"
down_revision: str | None = "0008_screen_requirements"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    ("screen_width", sa.Integer()),
    ("screen_height", sa.Integer()),
    ("window_width", sa.Integer()),
    ("window_height", sa.Integer()),
    ("device_pixel_ratio", sa.Float()),
    ("refresh_hz", sa.Float()),
)


def upgrade() -> None:
    with op.batch_alter_table("browser_session") as batch:
        for name, kind in COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("browser_session") as batch:
        for name, _kind in reversed(COLUMNS):
            batch.drop_column(name)
