"""An answer in one statement, for a trial this process served or started (PostgreSQL).

An answer is normally the caller's read (``services/callers.py``) and then one write
(``services/answers.py``). But the process that served a trial (nearly always the one
that gets its answer: a tab keeps its connection) already knows what that read would
say: the tab's plan and study (``PlanCache.known_trial``) and the trial's ``served_at``
(the previous answer's reply or ``GET next`` brought it) and ``presented_at`` (unset,
unless a start call wrote it). So the answer is judged from those and the onset it
reports, and written by one statement whose conditions are the database's word on
everything the read would have checked:

- the tab's token is live (not superseded by a reload or another tab), and the response
  row takes its browser session and participant from it;
- the trial is that participant's, unanswered, with the remembered ``served_at`` and
  ``presented_at`` (so the timing rules saw the truth), and no earlier trial of theirs
  is unanswered (answers go in order);
- the next trial, which the reply brings along, has not been started.

If any of them does not hold, nothing is written and :func:`submit_known_answer`
returns None: the view then takes the usual path, which reads and answers or says why
not. The answer's body is checked first, so a malformed one is a 400 here even where
the usual path would have found the trial already answered (409): refused either way.
The unique keys keep answers exactly-once as on that path (a resend or a second tab's
answer fails the INSERT and is answered there). SQLite cannot write from a WITH;
it always takes the usual path.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from experiment.driver_sql import WRITES_IN_ONE_STATEMENT, DriverStatement
from experiment.models import BrowserSession, Response, Trial
from experiment.services.answers import (
    MARK,
    RESPONSE_COLUMNS,
    Answer,
    SubmitResult,
    feedback,
    judge,
    response_param,
    response_params,
    response_values,
)
from experiment.services.plans import KnownTrial, Plan, PlannedTrial, TrialState
from experiment.services.trials import FINISH, ServedTrials, with_reported_onset
from experiment.stimulus_sets import LoadedStimulusSet

RESPONSES, TRIALS, SESSIONS = Response.__table__, Trial.__table__, BrowserSession.__table__


def _store_if_current(serve: bool, last: bool) -> DriverStatement:
    """The guarded write (module docstring): the response INSERT selects from the live
    tab and inserts nothing unless every condition holds; the trials' UPDATE (and the
    participant's finish) run only if it inserted. Returns the stored trial's id."""
    tab, current, earlier, following = (
        SESSIONS.alias("tab"),
        TRIALS.alias("current"),
        TRIALS.alias("earlier"),
        TRIALS.alias("following"),
    )
    conditions = [
        tab.c.token == sa.bindparam("token"),
        tab.c.superseded_at.is_(None),
        sa.exists().where(
            current.c.id == sa.bindparam("answered"),
            current.c.participant_id == tab.c.participant_id,
            current.c.answered_at.is_(None),
            current.c.served_at == sa.bindparam("served_at", type_=TRIALS.c.served_at.type),
            current.c.presented_at.is_not_distinct_from(
                sa.bindparam("presented_at", type_=TRIALS.c.presented_at.type)
            ),
        ),
        ~sa.exists().where(
            earlier.c.participant_id == tab.c.participant_id,
            earlier.c.trial_index < sa.bindparam("index"),
            earlier.c.answered_at.is_(None),
        ),
    ]
    if serve:
        conditions.append(
            sa.exists().where(
                following.c.id == sa.bindparam("served"), following.c.presented_at.is_(None)
            )
        )
    from_tab = {"participant_id": tab.c.participant_id, "browser_session_id": tab.c.id}
    chosen = sa.select(*(from_tab.get(c.name, response_param(c)) for c in RESPONSE_COLUMNS)).where(
        *conditions
    )
    stored = (
        RESPONSES.insert()
        .from_select([c.name for c in RESPONSE_COLUMNS], chosen)
        .returning(RESPONSES.c.trial_id)
        .cte("stored")
    )
    inserted = sa.exists(sa.select(stored.c.trial_id))
    statement = sa.select(stored.c.trial_id).add_cte(
        MARK[True, serve].where(inserted).cte("marked")
    )
    if last:
        statement = statement.add_cte(FINISH.where(inserted).cte("finished"))
    return DriverStatement(statement)


#: (serve the next trial, finish the participant) -> the guarded write
STORE_IF_CURRENT = {
    (serve, last): _store_if_current(serve, last)
    for serve in (False, True)
    for last in (False, True)
}


def submit_known_answer(
    connection: sa.Connection,
    known: KnownTrial,
    served: ServedTrials,
    *,
    answer: Answer,
    stimulus_set: LoadedStimulusSet,
    now: datetime,
    grace_ms: int,
    rt_tolerance_ms: int,
) -> SubmitResult | None:
    """Store ``answer`` in one statement if this process served or started its trial
    and the database agrees (module docstring); None where the usual path must decide
    (also where the answer has no onset: the usual path says why it is refused)."""
    if connection.dialect.name not in WRITES_IN_ONE_STATEMENT:
        return None
    plan, study, trial = known.plan, known.study, known.trial
    kept = served.get(known.token)
    if kept is None or kept.trial_id != trial.id:
        return None
    state = with_reported_onset(
        TrialState(trial.id, kept.served_at, kept.presented_at),
        answer.onset_after_request_ms,
        now,
    )
    if state.presented_at is None:
        return None
    judged = judge(
        trial,
        state,
        answer,
        study=study,
        stimulus_set=stimulus_set,
        now=now,
        grace_ms=grace_ms,
        rt_tolerance_ms=rt_tolerance_ms,
    )
    following = trial_after(plan, trial)
    last = trial is plan.trials[-1]
    values = response_values(trial, answer, judged, browser_session_id=None, now=now)
    params = response_params(values)
    params.update(
        token=known.token,
        answered=trial.id,
        served=following.id if following else None,
        served_at=kept.served_at,
        presented_at=kept.presented_at,
        onset=state.presented_at,
        index=trial.trial_index,
        participant=trial.participant_id,
        now=now,
    )
    try:
        stored = STORE_IF_CURRENT[following is not None, last].execute(connection, params)
    except IntegrityError:  # a resend, or another tab's answer: the usual path says which
        connection.rollback()
        return None
    if not stored:
        return None
    served.pop(known.token)
    verdict = feedback(
        trial, judged.timed_out, judged.parsed.selected, judged.parsed.said_present, stimulus_set
    )
    return SubmitResult(False, judged.timed_out, verdict, last, following)


def trial_after(plan: Plan, trial: PlannedTrial) -> PlannedTrial | None:
    """The trial the reply brings along: the next in the plan (answers go in order),
    unless this is a practice trial (its feedback waits for a click, and the next
    trial's clock would run meanwhile)."""
    return None if trial.is_practice else plan.after(trial)
