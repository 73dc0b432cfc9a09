"""study: main trials to answer in time for the completion code

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 09:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Studies made before keep their old rule (no minimum); new ones get the form's.
    with op.batch_alter_table("study") as batch:
        batch.add_column(
            sa.Column("min_answered_trials", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("study") as batch:
        batch.drop_column("min_answered_trials")
