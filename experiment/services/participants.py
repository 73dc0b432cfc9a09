"""Enrolling participants and their browser sessions (service layer).

A participant is created when they accept the consent form. External ids (Prolific's
PROLIFIC_PID / STUDY_ID / SESSION_ID, or a generic ``?pid=``) are stored only as
HMAC-SHA256 hashes keyed with the site's secret and the study id: a returning
participant is recognised, nobody reading the database learns the id, and ids cannot
be linked across studies. Knowing an id is not enough to continue as that participant:
resuming from another browser needs the same session (services/external_ids.py).

Each page load of the trial runner opens a new browser session (a random token the
runner sends in ``X-Glyphlab-Token``); opening one supersedes the participant's older
ones, so after a reload or in a second tab only the newest tab can answer.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import numpy as np
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from experiment import design
from experiment.errors import Conflict, Forbidden, Gone, NotFound
from experiment.models import (
    BrowserSession,
    Event,
    Participant,
    ParticipantStatus,
    Response,
    Study,
    StudyStatus,
    Trial,
)
from experiment.services.external_ids import EnrolmentKey
from experiment.services.studies import study_design as study_design_of
from experiment.stimulus_sets import LoadedStimulusSet


class TakenElsewhere(Conflict):
    """The external id belongs to a participant who started in another browser."""

    def __init__(self) -> None:
        super().__init__(
            "This study was already started with your id in another browser or session. "
            "Continue there, or open the study again from the recruitment site's link."
        )


def find_study(session: Session, slug: str) -> Study:
    study = session.scalars(sa.select(Study).where(Study.slug == slug)).first()
    if study is None:
        raise NotFound(f"There is no study at /s/{slug}. Check the link you were given.")
    return study


def require_open(study: Study) -> None:
    if study.status == StudyStatus.closed:
        raise Gone(f"The study “{study.title}” is closed and takes no more participants.")
    if study.status != StudyStatus.open:
        raise Forbidden(f"The study “{study.title}” has not opened yet. Try again later.")


def returning_participant(
    session: Session, *, study: Study, key: EnrolmentKey
) -> Participant | None:
    """The participant enrolled under ``key``'s external id, if they may resume here.

    Raises :class:`TakenElsewhere` when the id is known but the session is not (another
    browser, or another SESSION_ID): knowing someone's id is not enough to take over.
    A finished participant is returned either way: their page says they are done.
    """
    participant = session.scalars(
        sa.select(Participant).where(
            Participant.study_id == study.id, Participant.external_id_hash == key.id_hash
        )
    ).first()
    if participant is None or participant.status == ParticipantStatus.finished:
        return participant
    if participant.external_session_hash != key.session_hash:
        raise TakenElsewhere()
    return participant


def enrol(
    session: Session,
    *,
    study: Study,
    stimulus_set: LoadedStimulusSet,
    key: EnrolmentKey,
    now: datetime,
    seed: int | None = None,
    preview: bool = False,
) -> Participant:
    """Create a participant with all their planned trials (or return the one already
    enrolled under the same external id and session: a double-clicked consent form).
    A ``preview`` participant (the researcher, from the dashboard) may enter a study in
    any state and is flagged as such."""
    if not preview:
        require_open(study)
    existing = returning_participant(session, study=study, key=key)
    if existing is not None:
        return existing
    try:
        with session.begin_nested():  # rolled back on a clash, counter increment included
            participant = _new_participant(
                session,
                study=study,
                stimulus_set=stimulus_set,
                key=key,
                now=now,
                seed=seed,
                preview=preview,
            )
    except IntegrityError:
        # The same external id enrolled concurrently (double click, two tabs): use theirs.
        winner = returning_participant(session, study=study, key=key)
        if winner is None:
            raise
        return winner
    return participant


def _new_participant(
    session: Session,
    *,
    study: Study,
    stimulus_set: LoadedStimulusSet,
    key: EnrolmentKey,
    now: datetime,
    seed: int | None,
    preview: bool = False,
) -> Participant:
    """The next participant number's row and planned trials, inserted (inside the caller's
    SAVEPOINT). The trials go in as one Core executemany: a plan is ten to hundreds of
    rows that nothing in this request reads back, so the ORM's unit of work (and the
    RETURNING of their ids) would be pure cost."""
    # Atomic counter: numbers participants and, by locking the study row, lets
    # concurrent enrolments pick their Latin-square rows in turn. Previews get no number.
    number = session.execute(
        sa.update(Study)
        .where(Study.id == study.id)
        .values(enrolled_count=Study.enrolled_count + (0 if preview else 1))
        .returning(Study.enrolled_count)
    ).scalar_one()
    conditions = {
        (c.encoding, c.layout, c.response_mode): c
        for c in sorted(study.conditions, key=lambda c: c.position)
    }
    specs, study_design = study_design_of(study, stimulus_set)
    seed = secrets.randbits(62) if seed is None else seed
    row = next_latin_square_row(session, study=study, rows=study_design.rows, now=now)
    plan = design.plan_trials(
        stimulus_set,
        specs,
        study_design,
        latin_square_row=row,
        practice_trials=study.practice_trials,
        attention_checks=study.attention_checks,
        rng=np.random.default_rng(seed),
    )
    participant = Participant(
        study_id=study.id,
        code=f"PV{secrets.token_hex(4)}" if preview else f"P{number:04d}",
        is_preview=preview,
        external_source=key.source,
        external_id_hash=key.id_hash,
        external_session_hash=key.session_hash,
        seed=seed,
        latin_square_row=row,
        status=ParticipantStatus.consented,
        consented_at=now,
    )
    session.add(participant)
    session.flush()
    session.connection().execute(
        Trial.__table__.insert(),
        [
            {
                "public_id": secrets.token_hex(12),
                "participant_id": participant.id,
                "condition_id": conditions[
                    (t.condition.encoding, t.condition.layout, t.condition.response_mode)
                ].id,
                "trial_index": index,
                "is_practice": t.is_practice,
                "is_attention_check": t.is_attention_check,
                "dataset_id": t.dataset_id,
                "stimulus_id": t.stimulus_id,
                "n_items": len(t.display_order),
                "display_order": list(t.display_order),
                "true_outliers": stimulus_set.true_outliers(t.dataset_id),
                "deadline_ms": study.deadline_ms,
                "frame_ms": study.frame_ms,
            }
            for index, t in enumerate(plan)
        ],
    )
    return participant


def next_latin_square_row(session: Session, *, study: Study, rows: int, now: datetime) -> int:
    """The row with the fewest finished plus active participants (lowest on a tie).

    Counterbalancing by completions: a participant who consented less than the study's
    cutoff ago holds a row; one who has not finished by then frees it, so abandoned
    starts do not leave rows without finishers. Previews hold none. The caller has
    already locked the study row (the enrolment counter update), so concurrent
    enrolments take turns.
    """
    since = now - timedelta(minutes=study.abandon_after_minutes)
    holding = session.execute(
        sa.select(Participant.latin_square_row, sa.func.count())
        .where(
            Participant.study_id == study.id,
            Participant.is_preview.is_(False),
            sa.or_(
                Participant.status == ParticipantStatus.finished,
                Participant.consented_at >= since,
            ),
        )
        .group_by(Participant.latin_square_row)
    ).all()
    counts = [0] * rows
    for row, count in holding:
        counts[row % rows] += count
    return min(range(rows), key=counts.__getitem__)


def answered_in_time(session: Session, participant: Participant) -> int:
    """Main trials (not practice, not attention checks) the participant answered before
    the deadline: what the study's completion minimum counts."""
    return session.scalar(
        sa.select(sa.func.count())
        .select_from(Response)
        .join(Trial, Response.trial_id == Trial.id)
        .where(
            Trial.participant_id == participant.id,
            Trial.is_practice.is_(False),
            Trial.is_attention_check.is_(False),
            Response.timed_out.is_(False),
        )
    )


def participant_in_study(
    session: Session, study: Study, participant_id: object
) -> Participant | None:
    """The participant a browser cookie names, if it belongs to this study."""
    if not isinstance(participant_id, int):
        return None
    participant = session.get(Participant, participant_id)
    if participant is None or participant.study_id != study.id:
        return None
    return participant


def open_browser_session(
    session: Session, *, participant: Participant, user_agent: str, now: datetime
) -> BrowserSession:
    """A new tab token; older live tokens are superseded and a ``reload`` event logged."""
    if participant.status == ParticipantStatus.finished:
        raise Forbidden("You have already completed this study; thank you.")
    superseded = session.execute(
        sa.update(BrowserSession)
        .where(
            BrowserSession.participant_id == participant.id,
            BrowserSession.superseded_at.is_(None),
        )
        .values(superseded_at=now)
    ).rowcount
    browser_session = BrowserSession(
        participant_id=participant.id,
        token=secrets.token_urlsafe(32),
        user_agent=user_agent[:300],
        created_at=now,
    )
    session.add(browser_session)
    session.flush()
    if superseded:
        session.add(
            Event(
                participant_id=participant.id,
                browser_session_id=browser_session.id,
                kind="reload",
                detail={"superseded_sessions": superseded},
                created_at=now,
            )
        )
    return browser_session
