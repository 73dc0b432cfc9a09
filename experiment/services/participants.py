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
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from experiment import design
from experiment.driver_sql import DriverStatement
from experiment.errors import Conflict, Forbidden, Gone, NotFound
from experiment.models import (
    BrowserSession,
    Condition,
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

PARTICIPANTS = Participant.__table__
STUDIES = Study.__table__
CONDITIONS = Condition.__table__
SESSIONS = BrowserSession.__table__


class TakenElsewhere(Conflict):
    """The external id belongs to a participant who started in another browser."""

    def __init__(self) -> None:
        super().__init__(
            "This study was already started with your id in another browser or session. "
            "Continue there, or open the study again from the recruitment site's link."
        )


def no_study_at(slug: str) -> NotFound:
    return NotFound(f"There is no study at /s/{slug}. Check the link you were given.")


@dataclass(frozen=True)
class StudyPage:
    """What the participant pages read of a study (its dicts are not to be changed: one
    record serves every request of an open study)."""

    id: int
    slug: str
    title: str
    #: as read in this request (an open study can be closed and reopened)
    status: StudyStatus
    #: the stimulus set's folder, as read in this request (a moved set must fail, not
    #: be served)
    folder: str
    opened_at: datetime | None
    consent_text: str
    debrief_text: str
    #: the participant texts the researcher changed (experiment/texts.py)
    texts: dict[str, Any]
    response_mode_params: dict[str, Any]
    practice_trials: int
    deadline_ms: int
    fixation_ms: int
    min_viewport_width: int
    min_viewport_height: int
    allow_phones: bool
    completion_code: str | None
    completion_url: str | None
    min_answered_trials: int
    #: the conditions' encodings, in condition order, each once
    encodings: tuple[str, ...]
    #: the conditions' response modes, in name order, each once
    response_modes: tuple[str, ...]


SETS = StimulusSet.__table__
#: the statements every participant's pages run are on the driver's cursor
#: (experiment/driver_sql.py): each is a fraction of a page's CPU through ``execute``
STUDY_STATE = DriverStatement(
    sa.select(STUDIES.c.id, STUDIES.c.status, STUDIES.c.opened_at, SETS.c.folder)
    .join(SETS, SETS.c.id == STUDIES.c.stimulus_set_id)
    .where(STUDIES.c.slug == sa.bindparam("slug"))
)
#: the record's fields read in every request, and those made from the conditions
_FRESH = ("status", "folder")
_FROM_CONDITIONS = ("encodings", "response_modes")
STUDY_PAGE = sa.select(
    *(STUDIES.c[f.name] for f in fields(StudyPage) if f.name not in _FRESH + _FROM_CONDITIONS)
).where(STUDIES.c.id == sa.bindparam("study"))
STUDY_CONDITIONS = (
    sa.select(CONDITIONS.c.encoding, CONDITIONS.c.response_mode)
    .where(CONDITIONS.c.study_id == sa.bindparam("study"))
    .order_by(CONDITIONS.c.position)
)


class StudyPages:
    """The participant pages' study records, for one process. A study's status is read
    in every request (an open study can be closed and reopened); the rest of a study
    that has been open never changes (it never goes back to draft), so it is kept,
    under the ``opened_at`` it was read with (a different study under a reused id is
    never served it). A draft's is read afresh each time: a draft can be edited."""

    def __init__(self) -> None:
        self._kept: dict[int, StudyPage] = {}

    def get(self, session: Session, slug: str) -> StudyPage:
        """The study at ``slug`` (404 if there is none): one small read when kept."""
        connection = session.connection()
        found = STUDY_STATE.execute(connection, {"slug": slug})
        if not found:
            raise no_study_at(slug)
        study_id, status, opened_at, folder = found[0]
        kept = self._kept.get(study_id)
        if kept is None or kept.opened_at != opened_at or status == StudyStatus.draft:
            kept = _study_page(connection, study_id, status=status, folder=folder)
            if status != StudyStatus.draft:
                self._kept[study_id] = kept
        if kept.status == status and kept.folder == folder:
            return kept
        return replace(kept, status=status, folder=folder)


def _study_page(
    connection: sa.Connection, study_id: int, *, status: StudyStatus, folder: str
) -> StudyPage:
    row = connection.execute(STUDY_PAGE, {"study": study_id}).one()
    conditions = connection.execute(STUDY_CONDITIONS, {"study": study_id}).all()
    return StudyPage(
        **row._mapping,
        status=status,
        folder=folder,
        encodings=tuple(dict.fromkeys(c.encoding for c in conditions)),
        response_modes=tuple(sorted({c.response_mode for c in conditions})),
    )


def require_open(study: Study | StudyPage) -> None:
    if study.status == StudyStatus.closed:
        raise Gone(f"The study “{study.title}” is closed and takes no more participants.")
    if study.status != StudyStatus.open:
        raise Forbidden(f"The study “{study.title}” has not opened yet. Try again later.")


@dataclass(frozen=True)
class Enrolled:
    """Who a browser (or an external id) is in a study: all the pages decide on, read by
    Core instead of loading the participant's ORM row."""

    id: int
    status: ParticipantStatus


ENROLLED = DriverStatement(
    sa.select(PARTICIPANTS.c.id, PARTICIPANTS.c.status, PARTICIPANTS.c.external_session_hash).where(
        PARTICIPANTS.c.study_id == sa.bindparam("study"),
        PARTICIPANTS.c.external_id_hash == sa.bindparam("id_hash"),
    )
)


def returning_participant(
    session: Session, *, study: Study | StudyPage, key: EnrolmentKey
) -> Enrolled | None:
    """The participant enrolled under ``key``'s external id, if they may resume here.

    Raises :class:`TakenElsewhere` when the id is known but the session is not (another
    browser, or another SESSION_ID): knowing someone's id is not enough to take over.
    A finished participant is returned either way: their page says they are done.
    """
    found = ENROLLED.execute(session.connection(), {"study": study.id, "id_hash": key.id_hash})
    if not found:
        return None
    participant_id, status, session_hash = found[0]
    if status != ParticipantStatus.finished and session_hash != key.session_hash:
        raise TakenElsewhere()
    return Enrolled(participant_id, status)


def enrol(
    session: Session,
    *,
    study: Study | StudyPage,
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
    study's conditions and design between enrolments; without it, or before it has
    them, they are made from the study's rows."""
    if not preview:
        require_open(study)
    existing = returning_participant(session, study=study, key=key)
    if existing is not None:
        return session.get_one(Participant, existing.id)
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
        return session.get_one(Participant, winner.id)
    return participant


def _new_participant(
    session: Session,
    *,
    study: Study | StudyPage,
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
    fixed = designs.kept(study, stimulus_set) if designs is not None else None
    if fixed is None:
        # made from the ORM row (its conditions and settings); a page's record has neither
        row = study if isinstance(study, Study) else session.get(Study, study.id)
        fixed = (
            designs.enrolment(row, stimulus_set)
            if designs is not None
            else enrolment_design(row, stimulus_set)
        )
    session.flush()  # what the ORM's statements would autoflush (nothing, from the consent page)
    connection = session.connection()
    # Atomic counter: numbers participants and, by locking the study row, lets
    # concurrent enrolments pick their Latin-square rows in turn. Previews get no number.
    [(number,)] = COUNT_ENROLMENT.execute(
        connection, {"study": study.id, "step": 0 if preview else 1}
    )
    if isinstance(study, Study):
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


COUNT_ENROLMENT = DriverStatement(
    STUDIES.update()
    .where(STUDIES.c.id == sa.bindparam("study"))
    .values(enrolled_count=STUDIES.c.enrolled_count + sa.bindparam("step"))
    .returning(STUDIES.c.enrolled_count)
)
INSERT_PARTICIPANT = PARTICIPANTS.insert().returning(PARTICIPANTS.c.id)
HOLDING = DriverStatement(
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
    holding = HOLDING.execute(connection, {"study": study_id, "since": since})
    counts = [0] * rows
    for row, count in holding:
        counts[row % rows] += count
    return min(range(rows), key=counts.__getitem__)


def answered_in_time(session: Session, participant: Participant | Enrolled) -> int:
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


IN_STUDY = DriverStatement(
    sa.select(PARTICIPANTS.c.id, PARTICIPANTS.c.status).where(
        PARTICIPANTS.c.id == sa.bindparam("participant"),
        PARTICIPANTS.c.study_id == sa.bindparam("study"),
    )
)


def participant_in_study(
    session: Session, study: Study | StudyPage, participant_id: object
) -> Enrolled | None:
    """The participant a browser cookie names, if it belongs to this study."""
    if not isinstance(participant_id, int):
        return None
    found = IN_STUDY.execute(
        session.connection(), {"participant": participant_id, "study": study.id}
    )
    return Enrolled(*found[0]) if found else None


SUPERSEDE = (
    SESSIONS.update()
    .where(
        SESSIONS.c.participant_id == sa.bindparam("participant"),
        SESSIONS.c.superseded_at.is_(None),
    )
    .values(superseded_at=sa.bindparam("now"))
)
INSERT_SESSION = SESSIONS.insert().returning(SESSIONS.c.id)


def open_browser_session(
    session: Session, *, participant: Participant | Enrolled, user_agent: str, now: datetime
) -> str:
    """A new tab token; older live tokens are superseded and a ``reload`` event logged.
    Core statements on the session's connection: nothing in the request reads the rows
    back, so the ORM's unit of work would be pure cost."""
    if participant.status == ParticipantStatus.finished:
        raise Forbidden("You have already completed this study; thank you.")
    connection = session.connection()
    superseded = connection.execute(SUPERSEDE, {"participant": participant.id, "now": now}).rowcount
    token = secrets.token_urlsafe(32)
    browser_session_id = connection.execute(
        INSERT_SESSION,
        {
            "participant_id": participant.id,
            "token": token,
            "user_agent": user_agent[:300],
            "created_at": now,
        },
    ).scalar_one()
    if superseded:
        session.add(
            Event(
                participant_id=participant.id,
                browser_session_id=browser_session_id,
                kind="reload",
                detail={"superseded_sessions": superseded},
                created_at=now,
            )
        )
    return token
