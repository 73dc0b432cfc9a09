"""screen requirements: a study's smallest window and whether phones may take part

Revision ID: 0008_screen_requirements
Revises: 0007_study_texts
Create Date: 2026-12-01 10:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_screen_requirements"
down_revision: str | None = "0007_study_texts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("study") as batch:
        batch.add_column(
            sa.Column("min_viewport_width", sa.Integer(), nullable=False, server_default="1000")
        )
        batch.add_column(
            sa.Column("min_viewport_height", sa.Integer(), nullable=False, server_default="600")
        )
        batch.add_column(
            sa.Column("allow_phones", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("study") as batch:
        batch.drop_column("allow_phones")
        batch.drop_column("min_viewport_height")
        batch.drop_column("min_viewport_width")
