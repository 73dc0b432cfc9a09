"""Who is calling the runner API, and where they are in their plan: one query.

Every runner call starts here. One statement reads the tab token's browser session
(live or superseded), its participant and study, and the participant's first two
unanswered trials' state: what ``start`` and ``answer`` need to decide, so neither
reads again before it writes. The token is checked against the database on every call
(a reload in another tab or process supersedes it at once); only the fixed plan and
study settings come from the process's cache (``services/plans.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from experiment.driver_sql import DriverStatement
from experiment.errors import Conflict, Forbidden
from experiment.models import (
    BrowserSession,
    Participant,
    ParticipantStatus,
    Study,
    StudyStatus,
    Trial,
)
from experiment.services.participants import no_study_at
from experiment.services.plans import Plan, PlanCache, StudyInfo, TrialState


@dataclass(frozen=True)
class Caller:
    """A live tab: its study, session, participant, and the next two open trials."""

    study: StudyInfo
    browser_session_id: int
    participant_id: int
    finished: bool
    #: the first two unanswered trials, in order (fewer near the end)
    upcoming: tuple[TrialState, ...]
    plan: Plan


SESSIONS, PARTICIPANTS, STUDIES, TRIALS = (
    model.__table__ for model in (BrowserSession, Participant, Study, Trial)
)
#: built once (composing a statement costs more CPU than PostgreSQL spends running it)
#: and run on the driver's cursor (experiment/driver_sql.py): every runner call reads it
CALLER = DriverStatement(
    sa.select(
        SESSIONS.c.id,
        SESSIONS.c.superseded_at,
        PARTICIPANTS.c.id,
        PARTICIPANTS.c.study_id,
        PARTICIPANTS.c.status,
        STUDIES.c.slug,
        STUDIES.c.status,
        TRIALS.c.id,
        TRIALS.c.served_at,
        TRIALS.c.presented_at,
    )
    .select_from(SESSIONS)
    .join(PARTICIPANTS, PARTICIPANTS.c.id == SESSIONS.c.participant_id)
    .join(STUDIES, STUDIES.c.id == PARTICIPANTS.c.study_id)
    .outerjoin(
        TRIALS,
        sa.and_(TRIALS.c.participant_id == PARTICIPANTS.c.id, TRIALS.c.answered_at.is_(None)),
    )
    .where(SESSIONS.c.token == sa.bindparam("token"))
    .order_by(TRIALS.c.trial_index)
    .limit(2)
)
STUDY_AT = sa.select(STUDIES.c.id).where(STUDIES.c.slug == sa.bindparam("slug"))


def authenticate(
    connection: sa.Connection, cache: PlanCache, *, slug: str, token: str | None
) -> Caller:
    """The caller of a runner token; 404 for an unknown study, else 403/409 with what to do."""
    rows = CALLER.execute(connection, {"token": token}) if token else []
    if not rows or rows[0][5] != slug:
        if connection.execute(STUDY_AT, {"slug": slug}).first() is None:
            raise no_study_at(slug)
        if not token:
            raise Forbidden("Missing X-Glyphlab-Token header: reload the study page.")
        if not rows:
            raise Forbidden("Unknown session token: reload the study page.")
        raise Forbidden("This session token belongs to another study.")
    session_id, superseded_at, participant_id, study_id, status = rows[0][:5]
    if superseded_at is not None:
        raise Conflict(
            "The study was opened again in another tab or reloaded; continue in the newest tab."
        )
    draft = rows[0][6] == StudyStatus.draft
    upcoming = tuple(TrialState(*row[7:]) for row in rows if row[7] is not None)
    return Caller(
        study=cache.study(connection, study_id, draft=draft),
        browser_session_id=session_id,
        participant_id=participant_id,
        finished=status == ParticipantStatus.finished,
        upcoming=upcoming,
        plan=cache.plan(connection, participant_id, study_id=study_id, token=token),
    )
