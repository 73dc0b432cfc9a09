"""Advancing through trials and storing answers exactly once (service layer).

The runner sends each answer once with an idempotency key and resends it on network
errors. ``submit_answer`` inserts inside a SAVEPOINT; the UNIQUE constraints on
``response.idempotency_key`` and ``response.trial_id`` make a resend an acknowledged
no-op and a second tab's answer a 409, also when both arrive at the same instant (the
loser's INSERT waits for the winner's commit, fails, and is answered from the winner's
row). The server enforces the deadline again: an answer later than
``deadline_ms + grace_ms`` after onset is stored, as timed out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from analysis.response_modes import ParsedResponse, ResponseError, mode_named
from analysis.response_modes.base import number as finite_number
from analysis.response_modes.base import params_from_dict
from experiment.errors import BadRequest, Conflict
from experiment.models import BrowserSession, Participant, ParticipantStatus, Response, Trial
from experiment.services.trials import (
    current_trial,
    elapsed_ms,
    finish,
    open_trials,
    own_trial,
    trial_context,
)
from experiment.stimulus_sets import LoadedStimulusSet

IDEMPOTENCY_KEY_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_:")
FRAME_STATS_KEYS = 32


def number(value: Any, what: str) -> float:
    """A JSON number as a float; anything else is a bad request that names ``what``."""
    try:
        return finite_number(value, what)
    except ResponseError as error:
        raise BadRequest(str(error)) from None


def next_trial(
    session: Session,
    *,
    participant: Participant,
    now: datetime,
    grace_ms: int,
    following: Trial | None = None,
) -> Trial | None:
    """The trial to show now. A trial that was on screen (started) and whose deadline
    passed while the page was away (closed tab, reload after the deadline) is stored as
    timed out and skipped; one fetched but never started is simply shown again.

    ``following``: the trial after the one just answered (``SubmitResult.following``),
    which saves looking it up; ignored if it was ever started."""
    if following is not None and following.presented_at is None:
        if following.served_at is None:
            following.served_at = now
        return following
    while (trial := current_trial(session, participant)) is not None:
        elapsed = elapsed_ms(trial, now)
        if trial.presented_at is None or elapsed <= trial.deadline_ms + grace_ms:
            break
        _store(
            session,
            trial=trial,
            browser_session_id=None,
            key=f"server-timeout:{trial.public_id}",
            parsed=ParsedResponse(selected=[]),
            rt_ms=None,
            timed_out=True,
            elapsed_ms=elapsed,
            frame_stats=None,
            raw={"timed_out": True, "source": "server"},
            now=now,
        )
    if trial is not None and trial.served_at is None:
        trial.served_at = now
    if trial is None:
        finish(participant, now)
    return trial


@dataclass(frozen=True)
class Answer:
    """The answer envelope the runner posts (the mode-specific part is ``response``)."""

    idempotency_key: str
    response: Any
    rt_ms: float | None
    timed_out: bool
    frame_stats: dict[str, Any] | None

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
        rt_ms = body.get("rt_ms")
        if rt_ms is not None:
            rt_ms = number(rt_ms, "rt_ms")
            if rt_ms < 0:
                raise BadRequest("rt_ms must not be negative")
        frame_stats = body.get("frame_stats")
        if frame_stats is not None and (
            not isinstance(frame_stats, dict) or len(frame_stats) > FRAME_STATS_KEYS
        ):
            raise BadRequest(f"frame_stats must be an object with at most {FRAME_STATS_KEYS} keys")
        if not timed_out and "response" not in body:
            raise BadRequest('The answer has no "response" (or set "timed_out": true).')
        return cls(key, body.get("response"), rt_ms, timed_out, frame_stats)


@dataclass(frozen=True)
class SubmitResult:
    duplicate: bool
    response: Response
    feedback: dict[str, Any] | None
    finished: bool
    #: the participant's next trial after a stored answer (None for a resend or the last)
    following: Trial | None = None


def submit_answer(
    session: Session,
    *,
    browser_session: BrowserSession,
    public_id: str,
    answer: Answer,
    stimulus_set: LoadedStimulusSet,
    mode_params: Mapping[str, Any],
    now: datetime,
    grace_ms: int,
) -> SubmitResult:
    participant = session.get(Participant, browser_session.participant_id)
    assert participant is not None
    # One query answers both "is this the trial to answer now?" and "is it the last?".
    upcoming = open_trials(session, participant, 2)
    if upcoming and upcoming[0].public_id == public_id and upcoming[0].served_at is not None:
        trial = upcoming[0]
    else:
        trial = own_trial(session, participant, public_id)  # another's trial: 404
        # A resend finds its trial answered (by its own first copy, perhaps committed a
        # moment ago by another request): acknowledge it; only another answer conflicts.
        earlier = _by_key(session, answer.idempotency_key)
        if earlier is not None:
            return _acknowledge(session, earlier, participant, public_id)
        raise Conflict(_why_not_answerable(trial, upcoming))
    mode = mode_named(trial.condition.response_mode)
    elapsed = elapsed_ms(trial, now) or 0.0
    late = elapsed > trial.deadline_ms + grace_ms or (
        answer.rt_ms is not None and answer.rt_ms > trial.deadline_ms
    )
    parsed = ParsedResponse(selected=[])
    if not answer.timed_out:
        try:
            params = params_from_dict(mode.Params, mode_params.get(mode.name))
            parsed = mode.parse(answer.response, trial_context(trial, stimulus_set), params)
        except ResponseError as error:
            raise BadRequest(str(error)) from None
    timed_out = answer.timed_out or late
    if timed_out:
        parsed = ParsedResponse(selected=[])
    raw = {"response": answer.response, "timed_out": answer.timed_out, "late": late}
    try:
        response = _store(
            session,
            trial=trial,
            browser_session_id=browser_session.id,
            key=answer.idempotency_key,
            parsed=parsed,
            rt_ms=answer.rt_ms,
            timed_out=timed_out,
            elapsed_ms=elapsed,
            frame_stats=answer.frame_stats,
            raw=raw,
            now=now,
        )
    except IntegrityError:
        session.expire(trial)
        earlier = _by_key(session, answer.idempotency_key)
        if earlier is not None:
            return _acknowledge(session, earlier, participant, public_id)
        raise Conflict(
            f"Trial {trial.trial_index + 1} is already answered (in another tab?)."
        ) from None
    finished = len(upcoming) == 1
    if finished:
        finish(participant, now)
    following = None if finished else upcoming[1]
    return SubmitResult(False, response, feedback(trial, response), finished, following)


def _why_not_answerable(trial: Trial, upcoming: list[Trial]) -> str:
    if trial.answered_at is not None:
        return f"Trial {trial.trial_index + 1} is already answered (in another tab?)."
    if not upcoming or upcoming[0].id != trial.id:
        return "Out of order: answer the current trial first (reload to get it)."
    return "Fetch the trial (GET .../api/next) before answering it."


def _store(
    session: Session,
    *,
    trial: Trial,
    browser_session_id: int | None,
    key: str,
    parsed: ParsedResponse,
    rt_ms: float | None,
    timed_out: bool,
    elapsed_ms: float,
    frame_stats: dict[str, Any] | None,
    raw: dict[str, Any],
    now: datetime,
) -> Response:
    mode = mode_named(trial.condition.response_mode)
    response = Response(
        trial_id=trial.id,
        participant_id=trial.participant_id,
        browser_session_id=browser_session_id,
        idempotency_key=key,
        response_mode=mode.name,
        response_mode_version=mode.version,
        selected=parsed.selected,
        said_present=parsed.said_present,
        rt_ms=rt_ms,
        timed_out=timed_out,
        server_elapsed_ms=None if not math.isfinite(elapsed_ms) else round(elapsed_ms, 3),
        frame_stats=frame_stats,
        raw=raw,
        received_at=now,
    )
    with session.begin_nested():
        session.add(response)
        session.flush()
        trial.answered_at = now
        session.flush()
    return response


def _by_key(session: Session, key: str) -> Response | None:
    return session.scalars(sa.select(Response).where(Response.idempotency_key == key)).first()


def _acknowledge(
    session: Session, earlier: Response, participant: Participant, public_id: str
) -> SubmitResult:
    trial = session.get(Trial, earlier.trial_id)
    if trial is None or trial.public_id != public_id or earlier.participant_id != participant.id:
        raise Conflict("This idempotency key was already used for another answer; make a new one.")
    finished = participant.status == ParticipantStatus.finished
    return SubmitResult(True, earlier, feedback(trial, earlier), finished)


def feedback(trial: Trial, response: Response) -> dict[str, Any] | None:
    """Practice feedback, computed here after the answer (the browser has no truth)."""
    if not trial.is_practice:
        return None
    if response.timed_out:
        return {"correct": False, "message": "Too slow: answer before the time runs out."}
    truth = list(trial.true_outliers)
    mode = mode_named(trial.condition.response_mode)
    score = mode.score(
        truth=truth,
        selected=response.selected,
        said_present=response.said_present,
        n_items=trial.n_items,
        timed_out=False,
    )
    correct = score[4]
    fact = mode.feedback(truth, score)
    return {"correct": correct, "message": ("Correct: " if correct else "Not quite: ") + fact + "."}
