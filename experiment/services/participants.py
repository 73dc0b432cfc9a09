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
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from experiment import design
from experiment.errors import Conflict, Forbidden, Gone, NotFound
from experiment.models import (
    BrowserSession,
    Event,
    Participant,
    ParticipantStatus,
    Response,
    StimulusSet,
    Study,
    StudyStatus,
    Trial,
)
from experiment.services.external_ids import EnrolmentKey
from experiment.services.plans import PlanCache, enrolment_design
from experiment.stimulus_sets import LoadedStimulusSet


class TakenElsewhere(Conflict):
    """The external id belongs to a participant who started in another browser."""

    def __init__(self) -> None:
        super().__init__(
            "This study was already started with your id in another browser or session. "
            "Continue there, or open the study again from the recruitment site's link."
        )


def no_study_at(slug: str) -> NotFound:
    return NotFound(f"There is no study at /s/{slug}. Check the link you were given.")


def find_study(session: Session, slug: str) -> Study:
    study = session.scalars(sa.select(Study).where(Study.slug == slug)).first()
    if study is None:
        raise no_study_at(slug)
    return study


FOLDER = sa.select(StimulusSet.__table__.c.folder).where(
    StimulusSet.__table__.c.id == sa.bindparam("set")
)


def stimulus_set_folder(session: Session, study: Study) -> str:
    """The folder of ``study``'s stimulus set, as stored now (one Core read, not the ORM's
    lazy load of the set's row)."""
    return session.connection().execute(FOLDER, {"set": study.stimulus_set_id}).scalar_one()


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
    designs: PlanCache | None = None,
) -> Participant:
    """Create a participant with all their planned trials (or return the one already
    enrolled under the same external id and session: a double-clicked consent form).
    A ``preview`` participant (the researcher, from the dashboard) may enter a study in
    any state and is flagged as such. ``designs`` (the process's plan cache) keeps the
    study's conditions and design between enrolments; without it they are made from the
    study's rows."""
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
                designs=designs,
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
    designs: PlanCache | None = None,
) -> Participant:
    """The next participant number's row and planned trials, inserted (inside the caller's
    SAVEPOINT). The trials go in as one Core executemany: a plan is ten to hundreds of
    rows that nothing in this request reads back, so the ORM's unit of work (and the
    RETURNING of their ids) would be pure cost. The counter and the Latin-square counts
    are Core statements on the session's connection for the same reason."""
    fixed = (
        designs.enrolment(study, stimulus_set)
        if designs is not None
        else enrolment_design(study, stimulus_set)
    )
    session.flush()  # what the ORM's statements would autoflush (nothing, from the consent page)
    connection = session.connection()
    # Atomic counter: numbers participants and, by locking the study row, lets
    # concurrent enrolments pick their Latin-square rows in turn. Previews get no number.
    number = connection.execute(
        sa.update(STUDIES)
        .where(STUDIES.c.id == study.id)
        .values(enrolled_count=STUDIES.c.enrolled_count + (0 if preview else 1))
        .returning(STUDIES.c.enrolled_count)
    ).scalar_one()
    set_committed_value(study, "enrolled_count", number)  # as the ORM update would
    seed = secrets.randbits(62) if seed is None else seed
    row = _least_held_row(
        connection,
        study_id=study.id,
        rows=fixed.design.rows,
        since=now - timedelta(minutes=fixed.abandon_after_minutes),
    )
    plan = design.plan_trials(
        stimulus_set,
        list(fixed.specs),
        fixed.design,
        latin_square_row=row,
        practice_trials=fixed.practice_trials,
        attention_checks=fixed.attention_checks,
        rng=np.random.default_rng(seed),
    )
    values = {
        "study_id": study.id,
        "code": f"PV{secrets.token_hex(4)}" if preview else f"P{number:04d}",
        "is_preview": preview,
        "external_source": key.source,
        "external_id_hash": key.id_hash,
        "external_session_hash": key.session_hash,
        "seed": seed,
        "latin_square_row": row,
        "status": ParticipantStatus.consented,
        "consented_at": now,
        "finished_at": None,
    }
    # A Core INSERT ... RETURNING id, then the row as a persistent ORM object with every
    # column set (callers change and commit it): the unit of work's flush, for one row,
    # cost more than the rest of the plan's writes.
    participant = Participant(
        id=connection.execute(INSERT_PARTICIPANT, values).scalar_one(), **values
    )
    make_transient_to_detached(participant)
    session.add(participant)
    condition_ids = fixed.condition_ids
    connection.execute(
        Trial.__table__.insert(),
        [
            {
                "public_id": secrets.token_hex(12),
                "participant_id": participant.id,
                "condition_id": condition_ids[
                    (t.condition.encoding, t.condition.layout, t.condition.response_mode)
                ],
                "trial_index": index,
                "is_practice": t.is_practice,
                "is_attention_check": t.is_attention_check,
                "dataset_id": t.dataset_id,
                "stimulus_id": t.stimulus_id,
                "n_items": len(t.display_order),
                "display_order": list(t.display_order),
                "true_outliers": stimulus_set.true_outliers(t.dataset_id),
                "deadline_ms": fixed.deadline_ms,
                "frame_ms": fixed.frame_ms,
            }
            for index, t in enumerate(plan)
        ],
    )
    return participant


PARTICIPANTS = Participant.__table__
STUDIES = Study.__table__
INSERT_PARTICIPANT = PARTICIPANTS.insert().returning(PARTICIPANTS.c.id)
HOLDING = (
    sa.select(PARTICIPANTS.c.latin_square_row, sa.func.count())
    .where(
        PARTICIPANTS.c.study_id == sa.bindparam("study"),
        PARTICIPANTS.c.is_preview.is_(False),
        sa.or_(
            PARTICIPANTS.c.status == ParticipantStatus.finished,
            PARTICIPANTS.c.consented_at >= sa.bindparam("since"),
        ),
    )
    .group_by(PARTICIPANTS.c.latin_square_row)
)


def _least_held_row(connection: sa.Connection, *, study_id: int, rows: int, since: datetime) -> int:
    """The row with the fewest finished plus active participants (lowest on a tie).

    Counterbalancing by completions: a participant who consented after ``since`` (the
    study's cutoff ago) holds a row; one who has not finished by then frees it, so
    abandoned starts do not leave rows without finishers. Previews hold none. The caller
    has already locked the study row (the enrolment counter update), so concurrent
    enrolments take turns.
    """
    holding = connection.execute(HOLDING, {"study": study_id, "since": since}).all()
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
