"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 09:12:02.097365
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "researcher",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_researcher")),
        sa.UniqueConstraint("email", name=op.f("uq_researcher_email")),
    )
    op.create_table(
        "stimulus_set",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("set_id", sa.String(length=64), nullable=False),
        sa.Column("folder", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stimulus_set")),
        sa.UniqueConstraint("set_id", name=op.f("uq_stimulus_set_set_id")),
    )
    op.create_table(
        "study",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column(
            "status",
            sa.Enum("draft", "open", "closed", name="studystatus", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("researcher_id", sa.Integer(), nullable=False),
        sa.Column("stimulus_set_id", sa.Integer(), nullable=False),
        sa.Column("encodings", sa.JSON(), nullable=False),
        sa.Column("layouts", sa.JSON(), nullable=False),
        sa.Column("response_modes", sa.JSON(), nullable=False),
        sa.Column("response_mode_params", sa.JSON(), nullable=False),
        sa.Column("trials_per_participant", sa.Integer(), nullable=False),
        sa.Column("practice_trials", sa.Integer(), nullable=False),
        sa.Column("attention_checks", sa.Integer(), nullable=False),
        sa.Column("deadline_ms", sa.Integer(), nullable=False),
        sa.Column("frame_ms", sa.Integer(), nullable=False),
        sa.Column("consent_text", sa.Text(), nullable=False),
        sa.Column("debrief_text", sa.Text(), nullable=False),
        sa.Column("completion_code", sa.String(length=64), nullable=True),
        sa.Column("completion_url", sa.Text(), nullable=True),
        sa.Column("enrolled_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["researcher_id"], ["researcher.id"], name=op.f("fk_study_researcher_id_researcher")
        ),
        sa.ForeignKeyConstraint(
            ["stimulus_set_id"],
            ["stimulus_set.id"],
            name=op.f("fk_study_stimulus_set_id_stimulus_set"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_study")),
        sa.UniqueConstraint("slug", name=op.f("uq_study_slug")),
    )
    op.create_table(
        "condition",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("encoding", sa.String(length=32), nullable=False),
        sa.Column("layout", sa.String(length=32), nullable=False),
        sa.Column("response_mode", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_condition_study_id_study"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_condition")),
        sa.UniqueConstraint(
            "study_id",
            "encoding",
            "layout",
            "response_mode",
            name=op.f("uq_condition_study_id_encoding_layout_response_mode"),
        ),
    )
    op.create_table(
        "participant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("external_source", sa.String(length=16), nullable=True),
        sa.Column("external_id_hash", sa.String(length=64), nullable=True),
        sa.Column("external_session_hash", sa.String(length=64), nullable=True),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("latin_square_row", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "consented", "finished", name="participantstatus", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("consented_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["study_id"],
            ["study.id"],
            name=op.f("fk_participant_study_id_study"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participant")),
        sa.UniqueConstraint("study_id", "code", name=op.f("uq_participant_study_id_code")),
        sa.UniqueConstraint(
            "study_id", "external_id_hash", name=op.f("uq_participant_study_id_external_id_hash")
        ),
    )
    op.create_table(
        "browser_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_browser_session_participant_id_participant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_browser_session")),
        sa.UniqueConstraint("token", name=op.f("uq_browser_session_token")),
    )
    with op.batch_alter_table("browser_session", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_browser_session_participant_id"), ["participant_id"], unique=False
        )

    op.create_table(
        "trial",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("condition_id", sa.Integer(), nullable=False),
        sa.Column("trial_index", sa.Integer(), nullable=False),
        sa.Column("is_practice", sa.Boolean(), nullable=False),
        sa.Column("is_attention_check", sa.Boolean(), nullable=False),
        sa.Column("dataset_id", sa.String(length=64), nullable=False),
        sa.Column("stimulus_id", sa.String(length=64), nullable=False),
        sa.Column("n_items", sa.Integer(), nullable=False),
        sa.Column("display_order", sa.JSON(), nullable=False),
        sa.Column("true_outliers", sa.JSON(), nullable=False),
        sa.Column("deadline_ms", sa.Integer(), nullable=False),
        sa.Column("frame_ms", sa.Integer(), nullable=False),
        sa.Column("served_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("presented_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["condition_id"], ["condition.id"], name=op.f("fk_trial_condition_id_condition")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_trial_participant_id_participant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trial")),
        sa.UniqueConstraint(
            "participant_id", "trial_index", name=op.f("uq_trial_participant_id_trial_index")
        ),
        sa.UniqueConstraint("public_id", name=op.f("uq_trial_public_id")),
    )
    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("browser_session_id", sa.Integer(), nullable=True),
        sa.Column("trial_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("client_t_ms", sa.Float(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["browser_session_id"],
            ["browser_session.id"],
            name=op.f("fk_event_browser_session_id_browser_session"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_event_participant_id_participant"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trial.id"], name=op.f("fk_event_trial_id_trial"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event")),
    )
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_event_participant_id"), ["participant_id"], unique=False
        )

    op.create_table(
        "response",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("browser_session_id", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("response_mode", sa.String(length=32), nullable=False),
        sa.Column("response_mode_version", sa.String(length=16), nullable=False),
        sa.Column("selected", sa.JSON(), nullable=False),
        sa.Column("said_present", sa.Boolean(), nullable=True),
        sa.Column("rt_ms", sa.Float(), nullable=True),
        sa.Column("timed_out", sa.Boolean(), nullable=False),
        sa.Column("server_elapsed_ms", sa.Float(), nullable=True),
        sa.Column("frame_stats", sa.JSON(), nullable=True),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["browser_session_id"],
            ["browser_session.id"],
            name=op.f("fk_response_browser_session_id_browser_session"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_response_participant_id_participant"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trial.id"], name=op.f("fk_response_trial_id_trial"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_response_idempotency_key")),
        sa.UniqueConstraint("trial_id", name=op.f("uq_response_trial_id")),
    )
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_response_participant_id"), ["participant_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_response_participant_id"))

    op.drop_table("response")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_participant_id"))

    op.drop_table("event")
    op.drop_table("trial")
    with op.batch_alter_table("browser_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_browser_session_participant_id"))

    op.drop_table("browser_session")
    op.drop_table("participant")
    op.drop_table("condition")
    op.drop_table("study")
    op.drop_table("stimulus_set")
    op.drop_table("researcher")
