"""preview participants: the researcher trying a study from the dashboard

Revision ID: 0006_preview_participants
Revises: 0005_study_design
Create Date: 2026-12-01 09:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_preview_participants"
down_revision: str | None = "0005_study_design"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("participant") as batch:
        batch.add_column(
            sa.Column("is_preview", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("participant") as batch:
        batch.drop_column("is_preview")
