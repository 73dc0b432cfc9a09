"""The site's tables, as SQLAlchemy 2.x typed models.

The schema itself is made by Alembic (``migrations/``), never by ``create_all``; a
migration is written whenever this file changes. Ground truth (``Trial.true_outliers``,
``Trial.display_order``) lives here because the database is never served: only the
views decide what reaches the browser, and they send display positions, never items.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

#: Constraint names are fixed so migrations (and SQLite batch mode) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Timezone-aware UTC now (the default clock of every timestamp column)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps in UTC on every backend: PostgreSQL keeps the zone, SQLite stores naive
    UTC text, so values are converted to UTC on the way in and tagged UTC on the way out
    (comparisons with ``utcnow()`` then work on both)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("store timezone-aware datetimes (use models.utcnow())")
        return None if value is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        list[int]: JSON,
        list[str]: JSON,
        datetime: UTCDateTime(),
    }


class StudyStatus(enum.StrEnum):
    draft = "draft"
    open = "open"
    closed = "closed"


class ParticipantStatus(enum.StrEnum):
    consented = "consented"
    finished = "finished"


class Researcher(Base):
    __tablename__ = "researcher"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    #: Part of every login session's id; logging out bumps it, so a copied session
    #: cookie stops working at once (auth.blueprint).
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    studies: Mapped[list[Study]] = relationship(back_populates="researcher")


class LoginThrottle(Base):
    """Failed logins per throttle key, shared by every worker and server of the site.

    ``key`` is a keyed hash of the key's kind and value (an e-mail, a client address, a
    trusted-browser nonce), so the table stores neither; see auth/throttle.py.
    """

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime]
    blocked_until: Mapped[datetime | None]


class StimulusSet(Base):
    """A reference to a stimulus set folder on disk (the files stay where they are)."""

    __tablename__ = "stimulus_set"

    id: Mapped[int] = mapped_column(primary_key=True)
    set_id: Mapped[str] = mapped_column(String(64), unique=True)
    folder: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Study(Base):
    __tablename__ = "study"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[StudyStatus] = mapped_column(
        Enum(StudyStatus, native_enum=False, length=16), default=StudyStatus.draft
    )
    researcher_id: Mapped[int] = mapped_column(ForeignKey("researcher.id"))
    stimulus_set_id: Mapped[int] = mapped_column(ForeignKey("stimulus_set.id"))
    encodings: Mapped[list[str]]
    layouts: Mapped[list[str]]
    response_modes: Mapped[list[str]]
    #: response mode name -> its validated Params as a dict (jsPsych-style defaults filled)
    response_mode_params: Mapped[dict[str, Any]]
    trials_per_participant: Mapped[int] = mapped_column(Integer)
    practice_trials: Mapped[int] = mapped_column(Integer)
    attention_checks: Mapped[int] = mapped_column(Integer)
    deadline_ms: Mapped[int] = mapped_column(Integer)
    frame_ms: Mapped[int] = mapped_column(Integer)
    #: the fixation cross between trials (ms); the next trial's media arrive during it,
    #: and the server's deadline allows for it (docs/participant-api.md, "Timing rules")
    fixation_ms: Mapped[int] = mapped_column(Integer, default=500, server_default="500")
    #: share of target-present main trials in modes that detect presence
    target_present_share: Mapped[float] = mapped_column(Float, default=0.5)
    expected_minutes: Mapped[int] = mapped_column(Integer, default=10)
    #: an enrolment not finished this long after consent frees its Latin-square row
    abandon_after_minutes: Mapped[int] = mapped_column(Integer, default=20)
    consent_text: Mapped[str] = mapped_column(Text)
    debrief_text: Mapped[str] = mapped_column(Text)
    #: participant texts the researcher changed (key -> text, see experiment/texts.py)
    texts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: people who declined at the consent page (nothing else about them is stored)
    declined_count: Mapped[int] = mapped_column(Integer, default=0)
    #: the smallest browser window (CSS px) a participant may take the study in
    min_viewport_width: Mapped[int] = mapped_column(Integer, default=1000)
    min_viewport_height: Mapped[int] = mapped_column(Integer, default=600)
    #: whether phones may take part (refused with a polite page otherwise)
    allow_phones: Mapped[bool] = mapped_column(Boolean, default=False)
    completion_code: Mapped[str | None] = mapped_column(String(64))
    completion_url: Mapped[str | None] = mapped_column(Text)
    #: Main trials a participant must answer in time (not timed out) to be shown the
    #: completion code and URL.
    min_answered_trials: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Participants enrolled so far; bumped atomically to number them, and the update
    #: locks the study row so that concurrent enrolments pick Latin-square rows in turn.
    enrolled_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    researcher: Mapped[Researcher] = relationship(back_populates="studies")
    stimulus_set: Mapped[StimulusSet] = relationship()
    conditions: Mapped[list[Condition]] = relationship(
        back_populates="study", order_by="Condition.position", cascade="all, delete-orphan"
    )
    participants: Mapped[list[Participant]] = relationship(back_populates="study")


class Condition(Base):
    """One treatment row (encoding x layout x response mode), built by ``design.py``."""

    __tablename__ = "condition"
    __table_args__ = (UniqueConstraint("study_id", "encoding", "layout", "response_mode"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    encoding: Mapped[str] = mapped_column(String(32))
    layout: Mapped[str] = mapped_column(String(32))
    response_mode: Mapped[str] = mapped_column(String(32))

    study: Mapped[Study] = relationship(back_populates="conditions")


class Participant(Base):
    """An anonymous participant. External ids (Prolific) are kept only as keyed hashes."""

    __tablename__ = "participant"
    __table_args__ = (
        UniqueConstraint("study_id", "code"),
        UniqueConstraint("study_id", "external_id_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(16))
    external_source: Mapped[str | None] = mapped_column(String(16))
    external_id_hash: Mapped[str | None] = mapped_column(String(64))
    external_session_hash: Mapped[str | None] = mapped_column(String(64))
    seed: Mapped[int] = mapped_column(BigInteger)
    latin_square_row: Mapped[int] = mapped_column(Integer)
    status: Mapped[ParticipantStatus] = mapped_column(
        Enum(ParticipantStatus, native_enum=False, length=16),
        default=ParticipantStatus.consented,
    )
    consented_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    #: the researcher trying the study from the dashboard: left out of progress, the
    #: trial table, the report and the export unless asked for, and deletable
    is_preview: Mapped[bool] = mapped_column(Boolean, default=False)

    study: Mapped[Study] = relationship(back_populates="participants")
    trials: Mapped[list[Trial]] = relationship(
        back_populates="participant", order_by="Trial.trial_index"
    )


class BrowserSession(Base):
    """One browser tab's session token; the newest one of a participant is the live one."""

    __tablename__ = "browser_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participant.id", ondelete="CASCADE"), index=True
    )
    token: Mapped[str] = mapped_column(String(64), unique=True)
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    superseded_at: Mapped[datetime | None]
    #: what the tab measured (POST .../api/screen): CSS pixels, and the display's
    #: refresh rate from requestAnimationFrame over about a second
    screen_width: Mapped[int | None]
    screen_height: Mapped[int | None]
    window_width: Mapped[int | None]
    window_height: Mapped[int | None]
    device_pixel_ratio: Mapped[float | None]
    refresh_hz: Mapped[float | None]


class Trial(Base):
    """One planned trial of one participant, in order; created at enrolment."""

    __tablename__ = "trial"
    __table_args__ = (UniqueConstraint("participant_id", "trial_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"))
    condition_id: Mapped[int] = mapped_column(ForeignKey("condition.id"))
    trial_index: Mapped[int] = mapped_column(Integer)
    is_practice: Mapped[bool] = mapped_column(Boolean, default=False)
    is_attention_check: Mapped[bool] = mapped_column(Boolean, default=False)
    dataset_id: Mapped[str] = mapped_column(String(64))
    stimulus_id: Mapped[str] = mapped_column(String(64))
    n_items: Mapped[int] = mapped_column(Integer)
    #: item index (dataset row) shown at each display position; private
    display_order: Mapped[list[int]]
    #: item indices of the planted outliers, copied from truth.json; private
    true_outliers: Mapped[list[int]]
    deadline_ms: Mapped[int] = mapped_column(Integer)
    frame_ms: Mapped[int] = mapped_column(Integer)
    #: when the trial JSON (with its media) was first sent: the deadline counts from here,
    #: allowing for the study's fixation (docs/participant-api.md, "Timing rules")
    served_at: Mapped[datetime | None]
    #: stimulus onset: a start call's arrival, or served_at plus the time the answer
    #: reports (docs/participant-api.md, "Timing rules"; rt_ms is checked against it)
    presented_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]

    participant: Mapped[Participant] = relationship(back_populates="trials")
    condition: Mapped[Condition] = relationship()
    response: Mapped[Response | None] = relationship(back_populates="trial")


class Response(Base):
    """The one stored answer of a trial. Both ``trial_id`` and ``idempotency_key`` are
    UNIQUE: a resent answer (same key) is acknowledged, another answer (second tab) is
    refused, and neither is stored twice."""

    __tablename__ = "response"

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trial.id", ondelete="CASCADE"), unique=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participant.id", ondelete="CASCADE"), index=True
    )
    browser_session_id: Mapped[int | None] = mapped_column(
        ForeignKey("browser_session.id", ondelete="SET NULL")
    )
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    response_mode: Mapped[str] = mapped_column(String(32))
    response_mode_version: Mapped[str] = mapped_column(String(16))
    selected: Mapped[list[int]]
    said_present: Mapped[bool | None] = mapped_column(Boolean)
    rt_ms: Mapped[float | None] = mapped_column(Float)
    timed_out: Mapped[bool] = mapped_column(Boolean, default=False)
    #: server-side time from presentation to receipt (deadline enforcement evidence)
    server_elapsed_ms: Mapped[float | None] = mapped_column(Float)
    #: why the stated rt_ms disagrees with the server's clock (None: it agrees), e.g.
    #: ``rt_exceeds_server_elapsed``; analysis leaves flagged trials out
    timing_flag: Mapped[str | None] = mapped_column(String(40))
    frame_stats: Mapped[dict[str, Any] | None]
    raw: Mapped[dict[str, Any]]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)

    trial: Mapped[Trial] = relationship(back_populates="response")


class Event(Base):
    """Something the browser reported (focus/blur, fullscreen exit) or a reload."""

    __tablename__ = "event"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participant.id", ondelete="CASCADE"), index=True
    )
    browser_session_id: Mapped[int | None] = mapped_column(
        ForeignKey("browser_session.id", ondelete="SET NULL")
    )
    trial_id: Mapped[int | None] = mapped_column(ForeignKey("trial.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(32))
    client_t_ms: Mapped[float | None] = mapped_column(Float)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class JobStatus(enum.StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class Job(Base):
    """One piece of background work (``experiment/jobs``): what, whose, how far, why not.

    The task queue only carries the job's id; everything a page shows (progress, log,
    the reason it failed, what it made) lives here, so it reads the same whichever queue
    backend runs it. ``heartbeat_at`` is renewed while a worker runs the job: a job that
    stays ``running`` without a heartbeat lost its worker and is retried or failed.
    """

    __tablename__ = "job"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[JobStatus] = mapped_column(
        Enum(JobStatus, native_enum=False, length=16),
        default=JobStatus.queued,
        index=True,
    )
    researcher_id: Mapped[int | None] = mapped_column(
        ForeignKey("researcher.id", ondelete="CASCADE"), index=True
    )
    study_id: Mapped[int | None] = mapped_column(
        ForeignKey("study.id", ondelete="CASCADE"), index=True
    )
    #: what the job's kind needs, as plain JSON values
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: what it made (a stimulus set id, a file), for the page's links
    result: Mapped[dict[str, Any] | None]
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(String(200), default="waiting for a worker")
    log: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=2)
    worker: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
