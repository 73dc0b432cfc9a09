"""Advancing through trials and storing answers exactly once (service layer).

The runner sends each answer once with an idempotency key and resends it on network
errors. The UNIQUE constraints on ``response.idempotency_key`` and ``response.trial_id``
make a resend an acknowledged no-op and a second tab's answer a 409, also when both
arrive at the same instant (the loser's INSERT waits for the winner's commit, fails,
and is answered from the winner's row after a rollback: nothing was written before the
INSERT, so no SAVEPOINT is needed). The server enforces the deadline again and checks
the stated ``rt_ms`` against its own clock (docs/participant-api.md, "Timing rules"): an
answer later than ``fixation_ms + deadline_ms + grace_ms`` after the trial's media were
delivered, or ``deadline_ms + grace_ms`` after its onset, is stored as timed out; an
``rt_ms`` longer than the time since delivery, or much shorter than the time since the
onset, is stored with a ``timing_flag``. The onset is a start call's, or else the one the
answer reports (``onset_after_request_ms``, ``trials.with_reported_onset``), written with
the answer: the runner sends no start, one request per trial fewer.

This is the site's hottest path, so it is written in SQLAlchemy Core on the tables: an
answer is the caller's one read (``services/callers.py``) and one write. On PostgreSQL
the write is one statement, the response INSERT (and, after the last trial, the
participant's finish) as CTEs of the UPDATE that marks the trial answered and the next
one served, so it commits by itself (the runner API's connection autocommits there,
``db.Database``): two round trips in all, and one where this process started the trial
(``services/known_answers.py`` then skips the read). SQLite cannot put an INSERT in a
WITH; there the same writes are two statements in one ``BEGIN IMMEDIATE`` transaction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from analysis.response_modes import ParsedResponse, ResponseError, mode_named
from analysis.response_modes.base import number as finite_number
from analysis.response_modes.base import params_from_dict
from experiment.driver_sql import WRITES_IN_ONE_STATEMENT, DriverStatement
from experiment.errors import BadRequest, Conflict
from experiment.models import Participant, ParticipantStatus, Response, Trial
from experiment.services.callers import Caller
from experiment.services.plans import (
    PlannedTrial,
    StudyInfo,
    TrialState,
    trial_state,
    trial_states,
)
from experiment.services.practice_help import odd_marks, why_odd
from experiment.services.trials import (
    FINISH,
    elapsed_ms,
    finish,
    is_late,
    own_trial,
    since_ms,
    trial_context,
    trial_display,
    with_reported_onset,
)
from experiment.stimulus_sets import LoadedStimulusSet

TRIALS = Trial.__table__
RESPONSES = Response.__table__
PARTICIPANTS = Participant.__table__
NOW = sa.bindparam("now", type_=TRIALS.c.answered_at.type)
#: the answered trial's onset, where no start call recorded one (else it is kept)
ONSET = sa.func.coalesce(
    TRIALS.c.presented_at, sa.bindparam("onset", type_=TRIALS.c.presented_at.type)
)
#: the statements of the answer path, built once (composing one costs more CPU than
#: running it); ``_mark`` sets one trial's ``answered_at`` (and its onset, if unset)
#: and/or another's ``served_at``
INSERT_RESPONSE = RESPONSES.insert().inline()  # nothing reads the new id back: no RETURNING
MARK = {
    (True, False): TRIALS.update()
    .where(TRIALS.c.id == sa.bindparam("answered"))
    .values(answered_at=NOW, presented_at=ONSET),
    (False, True): TRIALS.update()
    .where(TRIALS.c.id == sa.bindparam("served"), TRIALS.c.served_at.is_(None))
    .values(served_at=NOW),
    (True, True): TRIALS.update()
    .where(TRIALS.c.id.in_([sa.bindparam("answered"), sa.bindparam("served")]))
    .values(
        answered_at=sa.case(
            (TRIALS.c.id == sa.bindparam("answered"), NOW), else_=TRIALS.c.answered_at
        ),
        presented_at=sa.case(
            (TRIALS.c.id == sa.bindparam("answered"), ONSET), else_=TRIALS.c.presented_at
        ),
        served_at=sa.case(
            (TRIALS.c.id == sa.bindparam("served"), sa.func.coalesce(TRIALS.c.served_at, NOW)),
            else_=TRIALS.c.served_at,
        ),
    ),
}
#: the response columns an answer writes (the id is the database's)
RESPONSE_COLUMNS = tuple(c for c in RESPONSES.c if c.name != "id")


def response_param(column: sa.Column) -> sa.BindParameter:
    """The parameter for a response column inside a WITH: its name prefixed (a column's
    own name is reserved for the values of a plain INSERT)."""
    return sa.bindparam(f"response_{column.name}", type_=column.type)


def response_params(values: dict[str, Any]) -> dict[str, Any]:
    """A response row's values under the names :func:`response_param` gives them."""
    return {f"response_{name}": value for name, value in values.items()}


#: the response INSERT for a WITH
STORE_RESPONSE = RESPONSES.insert().values({c.name: response_param(c) for c in RESPONSE_COLUMNS})
#: (serve the next trial, finish the participant) -> the answer's writes in one statement
#: (on the driver's cursor: experiment/driver_sql.py)
STORE_IN_ONE = {
    (serve, last): DriverStatement(
        MARK[True, serve].add_cte(STORE_RESPONSE.cte("stored")).add_cte(FINISH.cte("finished"))
        if last
        else MARK[True, serve].add_cte(STORE_RESPONSE.cte("stored"))
    )
    for serve in (False, True)
    for last in (False, True)
}
BY_KEY = (
    sa.select(
        RESPONSES.c.trial_id,
        RESPONSES.c.participant_id,
        RESPONSES.c.timed_out,
        RESPONSES.c.selected,
        RESPONSES.c.said_present,
        PARTICIPANTS.c.status,
    )
    .join(PARTICIPANTS, PARTICIPANTS.c.id == RESPONSES.c.participant_id)
    .where(RESPONSES.c.idempotency_key == sa.bindparam("key"))
)

#: why an answer without an onset is refused
NO_ONSET = (
    "The answer has no onset: send onset_after_request_ms (from sending the request "
    "that brought the trial to its stimulus onset), or POST .../start at onset first; "
    "nothing was stored."
)
IDEMPOTENCY_KEY_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_:")
FRAME_STATS_KEYS = 32


def number(value: Any, what: str) -> float:
    """A JSON number as a float; anything else is a bad request that names ``what``."""
    try:
        return finite_number(value, what)
    except ResponseError as error:
        raise BadRequest(str(error)) from None


def next_trial(
    connection: sa.Connection, *, caller: Caller, now: datetime, grace_ms: int
) -> tuple[PlannedTrial, TrialState] | None:
    """The trial to show now. A trial whose deadline passed while the page was away
    (closed tab, reload after the deadline) is stored as timed out and skipped, also one
    that was fetched but never started: its media were delivered, and the deadline
    counts from there (a fetched trial shown again in time keeps its clock)."""
    fixation_ms = caller.study.fixation_ms
    states = caller.upcoming[:1]
    if states and is_late(
        caller.plan.by_id(states[0].id), states[0], now, fixation_ms=fixation_ms, grace_ms=grace_ms
    ):
        states = trial_states(connection, caller.participant_id)  # some to skip: read them all
    for state in states:
        trial = caller.plan.by_id(state.id)
        elapsed = elapsed_ms(state, now)
        if not is_late(trial, state, now, fixation_ms=fixation_ms, grace_ms=grace_ms):
            if state.served_at is None:
                _mark(connection, served=trial.id, now=now)
            return trial, state
        values = _response_row(
            trial,
            browser_session_id=None,
            key=f"server-timeout:{trial.public_id}",
            parsed=ParsedResponse(selected=[]),
            rt_ms=None,
            timed_out=True,
            elapsed_ms=elapsed if state.presented_at is not None else math.nan,
            frame_stats=None,
            raw={"timed_out": True, "source": "server"},
            now=now,
        )
        _store(connection, trial=trial, values=values, now=now)
    finish(connection, caller.participant_id, now)
    return None


def _milliseconds(body: dict[str, Any], name: str) -> float | None:
    """``body[name]`` as a duration: absent is None, anything but a number >= 0 a 400."""
    value = body.get(name)
    if value is None:
        return None
    value = number(value, name)
    if value < 0:
        raise BadRequest(f"{name} must not be negative")
    return value


@dataclass(frozen=True)
class Answer:
    """The answer envelope the runner posts (the mode-specific part is ``response``)."""

    idempotency_key: str
    response: Any
    rt_ms: float | None
    timed_out: bool
    frame_stats: dict[str, Any] | None
    #: the runner's time from sending the request that brought the trial to its onset
    onset_after_request_ms: float | None = None

    @classmethod
    def from_json(cls, body: Any) -> Answer:
        if not isinstance(body, dict):
            raise BadRequest("The answer must be a JSON object (see docs/participant-api.md).")
        key = body.get("idempotency_key")
        if not isinstance(key, str) or not 8 <= len(key) <= 64 or set(key) - IDEMPOTENCY_KEY_CHARS:
            raise BadRequest(
                "idempotency_key must be 8-64 characters of letters, digits, '-', '_' or ':' "
                "(the runner uses crypto.randomUUID())"
            )
        timed_out = body.get("timed_out", False)
        if not isinstance(timed_out, bool):
            raise BadRequest("timed_out must be true or false")
        rt_ms = _milliseconds(body, "rt_ms")
        frame_stats = body.get("frame_stats")
        if frame_stats is not None and (
            not isinstance(frame_stats, dict) or len(frame_stats) > FRAME_STATS_KEYS
        ):
            raise BadRequest(f"frame_stats must be an object with at most {FRAME_STATS_KEYS} keys")
        if not timed_out and "response" not in body:
            raise BadRequest('The answer has no "response" (or set "timed_out": true).')
        onset = _milliseconds(body, "onset_after_request_ms")
        return cls(key, body.get("response"), rt_ms, timed_out, frame_stats, onset)


@dataclass(frozen=True)
class SubmitResult:
    duplicate: bool
    timed_out: bool
    feedback: dict[str, Any] | None
    finished: bool
    #: the next trial, already marked served, when it can be shown at once (None for a
    #: resend, the last trial, or one that needs ``next_trial``'s checks)
    following: PlannedTrial | None = None


def submit_answer(
    connection: sa.Connection,
    *,
    caller: Caller,
    public_id: str,
    answer: Answer,
    stimulus_set: LoadedStimulusSet,
    now: datetime,
    grace_ms: int,
    rt_tolerance_ms: int = 250,
) -> SubmitResult:
    upcoming = caller.upcoming
    current = caller.plan.by_id(upcoming[0].id) if upcoming else None
    if current is None or current.public_id != public_id or upcoming[0].served_at is None:
        trial = own_trial(caller.plan, public_id)  # another's trial: 404
        # A resend finds its trial answered (by its own first copy, perhaps committed a
        # moment ago by another request): acknowledge it; only another answer conflicts.
        earlier = _by_key(connection, answer.idempotency_key)
        if earlier is not None:
            return _acknowledge(earlier, caller, public_id, stimulus_set)
        raise Conflict(_why_not_answerable(connection, trial, upcoming))
    trial = current
    state = with_reported_onset(upcoming[0], answer.onset_after_request_ms, now)
    if state.presented_at is None:
        raise Conflict(NO_ONSET)
    judged = judge(
        trial,
        state,
        answer,
        study=caller.study,
        stimulus_set=stimulus_set,
        now=now,
        grace_ms=grace_ms,
        rt_tolerance_ms=rt_tolerance_ms,
    )
    following = None
    # A practice answer's reply brings no next trial (its feedback waits for a click,
    # and the next trial's deadline would run meanwhile): the runner fetches it then.
    if len(upcoming) > 1 and upcoming[1].presented_at is None and not trial.is_practice:
        following = caller.plan.by_id(upcoming[1].id)
    try:
        _store(
            connection,
            trial=trial,
            values=response_values(
                trial, answer, judged, browser_session_id=caller.browser_session_id, now=now
            ),
            now=now,
            onset=state.presented_at,
            serve=following.id if following and upcoming[1].served_at is None else None,
            last=len(upcoming) == 1,
        )
    except IntegrityError:
        connection.rollback()
        earlier = _by_key(connection, answer.idempotency_key)
        if earlier is not None:
            return _acknowledge(earlier, caller, public_id, stimulus_set)
        raise Conflict(
            f"Trial {trial.trial_index + 1} is already answered (in another tab?)."
        ) from None
    finished = len(upcoming) == 1
    verdict = feedback(
        trial, judged.timed_out, judged.parsed.selected, judged.parsed.said_present, stimulus_set
    )
    return SubmitResult(False, judged.timed_out, verdict, finished, following)


@dataclass(frozen=True)
class Judged:
    """What the server makes of an answer to a started trial (the timing rules)."""

    parsed: ParsedResponse
    timed_out: bool
    late: bool
    flag: str | None
    elapsed_ms: float


def judge(
    trial: PlannedTrial,
    state: TrialState,
    answer: Answer,
    *,
    study: StudyInfo,
    stimulus_set: LoadedStimulusSet,
    now: datetime,
    grace_ms: int,
    rt_tolerance_ms: int,
) -> Judged:
    """Parse ``answer`` by the trial's response mode and judge its timing against the
    server's clock (docs/participant-api.md, "Timing rules"); a malformed answer, or an
    answered one without a positive ``rt_ms``, is a 400 (nothing is stored)."""
    mode = mode_named(trial.condition.response_mode)
    late = is_late(trial, state, now, fixation_ms=study.fixation_ms, grace_ms=grace_ms) or (
        answer.rt_ms is not None and answer.rt_ms > trial.deadline_ms
    )
    parsed = ParsedResponse(selected=[])
    flag = None
    if not answer.timed_out:
        try:
            params = params_from_dict(mode.Params, study.response_mode_params.get(mode.name))
            parsed = mode.parse(answer.response, trial_context(trial, stimulus_set), params)
        except ResponseError as error:
            raise BadRequest(str(error)) from None
        if answer.rt_ms is None or not answer.rt_ms > 0:
            raise BadRequest(
                "rt_ms must be a positive number of milliseconds (stimulus onset to answer) "
                'on an answered trial; a trial nobody answered is sent with "timed_out": true'
            )
        flag = timing_flag(answer.rt_ms, state, now, tolerance_ms=rt_tolerance_ms)
    timed_out = answer.timed_out or late
    if timed_out:
        parsed = ParsedResponse(selected=[])
    return Judged(parsed, timed_out, late, flag, elapsed_ms(state, now) or 0.0)


def response_values(
    trial: PlannedTrial,
    answer: Answer,
    judged: Judged,
    *,
    browser_session_id: int | None,
    now: datetime,
) -> dict[str, Any]:
    """The response row of a judged answer."""
    return _response_row(
        trial,
        browser_session_id=browser_session_id,
        key=answer.idempotency_key,
        parsed=judged.parsed,
        rt_ms=answer.rt_ms,
        timed_out=judged.timed_out,
        elapsed_ms=judged.elapsed_ms,
        frame_stats=answer.frame_stats,
        raw={"response": answer.response, "timed_out": answer.timed_out, "late": judged.late},
        now=now,
        flag=judged.flag,
    )


def timing_flag(
    rt_ms: float, state: TrialState, now: datetime, *, tolerance_ms: float
) -> str | None:
    """Whether a stated reaction time disagrees with the server's clock: it cannot be
    longer than the time since the trial's media were sent, nor much shorter than the
    time since the onset (one tolerance for the network and timer rounding)."""
    served, started = since_ms(state.served_at, now), since_ms(state.presented_at, now)
    if served is not None and rt_ms > served + tolerance_ms:
        return "rt_exceeds_server_elapsed"
    if started is not None and rt_ms < started - tolerance_ms:
        return "rt_below_server_elapsed"
    return None


def _why_not_answerable(
    connection: sa.Connection, trial: PlannedTrial, upcoming: tuple[TrialState, ...]
) -> str:
    if trial_state(connection, trial.id).answered_at is not None:
        return f"Trial {trial.trial_index + 1} is already answered (in another tab?)."
    if not upcoming or upcoming[0].id != trial.id:
        return "Out of order: answer the current trial first (reload to get it)."
    return "Fetch the trial (GET .../api/next) before answering it."


def _response_row(
    trial: PlannedTrial,
    *,
    browser_session_id: int | None,
    key: str,
    parsed: ParsedResponse,
    rt_ms: float | None,
    timed_out: bool,
    elapsed_ms: float,
    frame_stats: dict[str, Any] | None,
    raw: dict[str, Any],
    now: datetime,
    flag: str | None = None,
) -> dict[str, Any]:
    """A response row: a participant's answer or the server's timeout of a trial."""
    mode = mode_named(trial.condition.response_mode)
    return {
        "trial_id": trial.id,
        "participant_id": trial.participant_id,
        "browser_session_id": browser_session_id,
        "idempotency_key": key,
        "response_mode": mode.name,
        "response_mode_version": mode.version,
        "selected": list(parsed.selected),
        "said_present": parsed.said_present,
        "rt_ms": rt_ms,
        "timed_out": timed_out,
        "server_elapsed_ms": None if not math.isfinite(elapsed_ms) else round(elapsed_ms, 3),
        "timing_flag": flag,
        "frame_stats": frame_stats,
        "raw": raw,
        "received_at": now,
    }


def _store(
    connection: sa.Connection,
    *,
    trial: PlannedTrial,
    values: dict[str, Any],
    now: datetime,
    onset: datetime | None = None,
    serve: int | None = None,
    last: bool = False,
) -> None:
    """Insert the response row ``values`` and mark the trial answered, with ``onset``
    where it has none (and ``serve``, the next trial, served: one UPDATE for both rows;
    after the ``last`` trial, the participant finished): one statement where the dialect
    can (module docstring), else one statement each."""
    if connection.dialect.name in WRITES_IN_ONE_STATEMENT:
        params = response_params(values)
        params.update(
            answered=trial.id,
            served=serve,
            participant=trial.participant_id,
            now=now,
            onset=onset,
        )
        STORE_IN_ONE[serve is not None, last].execute(connection, params)
        return
    connection.execute(INSERT_RESPONSE, values)
    _mark(connection, answered=trial.id, served=serve, now=now, onset=onset)
    if last:
        finish(connection, trial.participant_id, now)


def _mark(
    connection: sa.Connection,
    *,
    now: datetime,
    answered: int | None = None,
    served: int | None = None,
    onset: datetime | None = None,
) -> None:
    """Set ``answered_at`` (and ``presented_at`` to ``onset``, if still unset) of trial
    ``answered`` and ``served_at`` (if still unset) of trial ``served``, in one
    statement."""
    statement = MARK[answered is not None, served is not None]
    values = {"answered": answered, "served": served, "now": now, "onset": onset}
    connection.execute(statement, values)


@dataclass(frozen=True)
class EarlierAnswer:
    trial_id: int
    participant_id: int
    timed_out: bool
    selected: list[int]
    said_present: bool | None
    participant_status: ParticipantStatus


def _by_key(connection: sa.Connection, key: str) -> EarlierAnswer | None:
    row = connection.execute(BY_KEY, {"key": key}).first()
    return None if row is None else EarlierAnswer(*row)


def _acknowledge(
    earlier: EarlierAnswer, caller: Caller, public_id: str, stimulus_set: LoadedStimulusSet
) -> SubmitResult:
    trial = caller.plan.by_public_id(public_id)
    theirs = earlier.participant_id == caller.participant_id
    if trial is None or trial.id != earlier.trial_id or not theirs:
        raise Conflict("This idempotency key was already used for another answer; make a new one.")
    finished = earlier.participant_status == ParticipantStatus.finished
    verdict = feedback(
        trial, earlier.timed_out, earlier.selected, earlier.said_present, stimulus_set
    )
    return SubmitResult(True, earlier.timed_out, verdict, finished)


def feedback(
    trial: PlannedTrial,
    timed_out: bool,
    selected: list[int],
    said_present: bool | None,
    stimulus_set: LoadedStimulusSet,
) -> dict[str, Any] | None:
    """Practice feedback, computed here after the answer is stored: right or wrong, where
    the outliers were on the participant's display (``odd``) and why they are odd
    (``why``). Only practice trials get it: the truth of a main trial never leaves."""
    if not trial.is_practice:
        return None
    reveal = practice_reveal(trial, stimulus_set)
    if timed_out:
        return {
            "correct": False,
            "message": "Too slow: answer before the time runs out.",
            **reveal,
        }
    truth = list(trial.true_outliers)
    mode = mode_named(trial.condition.response_mode)
    score = mode.score(
        truth=truth,
        selected=selected,
        said_present=said_present,
        n_items=trial.n_items,
        timed_out=False,
    )
    correct = score[4]
    fact = mode.feedback(truth, score)
    return {
        "correct": correct,
        "message": ("Correct: " if correct else "Not quite: ") + fact + ".",
        **reveal,
    }


def practice_reveal(trial: PlannedTrial, stimulus_set: LoadedStimulusSet) -> dict[str, Any]:
    """``odd`` (the outliers' display positions, plot points too) and ``why`` of a
    practice trial, for its feedback."""
    assert trial.is_practice, "only practice trials reveal their outliers"
    display = trial_display(trial)
    context = trial_context(trial, stimulus_set)
    dataset_id = stimulus_set.stimuli[trial.stimulus_id]["dataset_id"]
    return {
        "odd": odd_marks(
            display=display,
            display_order=trial.display_order,
            outliers=trial.true_outliers,
            points=context.points,
        ),
        # the same words for every participant who gets this practice display: made once
        # per loaded set (a least-squares fit on the set's data, most of a practice
        # answer's CPU)
        "why": stimulus_set.derive(
            ("why_odd", dataset_id, display), lambda: why_odd(stimulus_set, dataset_id, display)
        ),
    }
