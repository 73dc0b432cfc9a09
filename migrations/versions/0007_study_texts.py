"""study texts: participant strings per study, and a count of consent declines

Revision ID: 0007_study_texts
Revises: 0006_preview_participants
Create Date: 2026-12-01 09:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_study_texts"
down_revision: str | None = "0006_preview_participants"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("study") as batch:
        batch.add_column(sa.Column("texts", sa.JSON(), nullable=False, server_default="{}"))
        batch.add_column(
            sa.Column("declined_count", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("study") as batch:
        batch.drop_column("declined_count")
        batch.drop_column("texts")
