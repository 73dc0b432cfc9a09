"""Who took part in a study and how far they got: the dashboard's participant list.

A participant's status is one of

- ``finished``;
- ``active``: not finished, consented less than the study's cutoff ago (they hold
  their Latin-square row);
- ``timed out``: past the cutoff, and their last stored answer is a time-out, so they
  stopped in the middle of a trial (walked away, or were stuck);
- ``abandoned``: past the cutoff otherwise (left between trials or before the first).

Drop-out per encoding counts, for every participant who stopped (timed out or
abandoned), the encoding of the block they were in: the one of their last answered
main trial, or of their first planned one when they answered none.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from experiment.models import Condition, Participant, ParticipantStatus, Response, Study, Trial

STATUSES = ("active", "finished", "timed out", "abandoned")
STOPPED = ("timed out", "abandoned")


@dataclass(frozen=True)
class ParticipantRow:
    code: str
    status: str
    is_preview: bool
    latin_square_row: int
    consented_at: datetime
    finished_at: datetime | None
    answered: int
    planned: int
    #: encoding of the block they were in last (where a drop-out dropped out)
    last_encoding: str | None


@dataclass(frozen=True)
class ParticipantList:
    rows: list[ParticipantRow]
    #: encoding -> (stopped in that encoding's block, reached that block)
    dropout_by_encoding: dict[str, tuple[int, int]]

    def counts(self) -> dict[str, int]:
        found = Counter(row.status for row in self.rows if not row.is_preview)
        return {status: found[status] for status in STATUSES}


def participant_list(session: Session, study: Study, *, now: datetime) -> ParticipantList:
    """Every participant of ``study`` (previews flagged) with status and progress."""
    since = now - timedelta(minutes=study.abandon_after_minutes)
    trials = session.execute(
        sa.select(
            Trial.participant_id,
            Trial.trial_index,
            Trial.is_practice,
            Trial.is_attention_check,
            Condition.encoding,
            Response.id.is_not(None),
            Response.timed_out,
        )
        .join(Condition, Trial.condition_id == Condition.id)
        .join(Participant, Trial.participant_id == Participant.id)
        .outerjoin(Response, Response.trial_id == Trial.id)
        .where(Participant.study_id == study.id)
        .order_by(Trial.participant_id, Trial.trial_index)
    ).all()
    by_participant: dict[int, list] = {}
    for trial in trials:
        by_participant.setdefault(trial[0], []).append(trial)
    rows = []
    reached: Counter[str] = Counter()
    stopped: Counter[str] = Counter()
    participants = session.scalars(
        sa.select(Participant).where(Participant.study_id == study.id).order_by(Participant.id)
    )
    for participant in participants:
        planned = by_participant.get(participant.id, [])
        answered = [t for t in planned if t[5]]
        main = [t for t in planned if not (t[2] or t[3])]
        last_main = [t for t in main if t[5]]
        last_encoding = (last_main[-1][4] if last_main else main[0][4]) if main else None
        status = _status(participant, since, answered[-1][6] if answered else None)
        rows.append(
            ParticipantRow(
                code=participant.code,
                status=status,
                is_preview=participant.is_preview,
                latin_square_row=participant.latin_square_row,
                consented_at=participant.consented_at,
                finished_at=participant.finished_at,
                answered=len(answered),
                planned=len(planned),
                last_encoding=last_encoding,
            )
        )
        if participant.is_preview:
            continue
        reached.update({t[4] for t in main if t[5]} | ({last_encoding} - {None}))
        if status in STOPPED and last_encoding is not None:
            stopped[last_encoding] += 1
    dropout = {encoding: (stopped[encoding], reached[encoding]) for encoding in study.encodings}
    return ParticipantList(rows, dropout)


def _status(participant: Participant, since: datetime, last_timed_out: bool | None) -> str:
    if participant.status == ParticipantStatus.finished:
        return "finished"
    if participant.consented_at >= since:
        return "active"
    return "timed out" if last_timed_out else "abandoned"
