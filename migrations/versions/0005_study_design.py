"""study design: target-present share, expected duration, abandoned-start cutoff

Revision ID: 0005_study_design
Revises: 0004
Create Date: 2026-12-01 09:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_study_design"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("study") as batch:
        batch.add_column(
            sa.Column("target_present_share", sa.Float(), nullable=False, server_default="0.5")
        )
        batch.add_column(
            sa.Column("expected_minutes", sa.Integer(), nullable=False, server_default="10")
        )
        batch.add_column(
            sa.Column("abandon_after_minutes", sa.Integer(), nullable=False, server_default="20")
        )


def downgrade() -> None:
    with op.batch_alter_table("study") as batch:
        batch.drop_column("abandon_after_minutes")
        batch.drop_column("expected_minutes")
        batch.drop_column("target_present_share")
