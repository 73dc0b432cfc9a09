"""trial timing: a study's fixation length and a response's timing flag

Revision ID: 0010_trial_timing
Revises: 0009_browser_screen
Create Date: 2026-12-01 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_trial_timing"
down_revision: str | None = "0009_browser_screen"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("study") as batch:
        batch.add_column(
            sa.Column("fixation_ms", sa.Integer(), nullable=False, server_default="500")
        )
    with op.batch_alter_table("response") as batch:
        batch.add_column(sa.Column("timing_flag", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("response") as batch:
        batch.drop_column("timing_flag")
    with op.batch_alter_table("study") as batch:
        batch.drop_column("fixation_ms")
