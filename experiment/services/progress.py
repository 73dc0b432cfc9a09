"""Live progress of studies for the dashboard: who started, who finished, how well.

Preview participants (the researcher trying the study) are left out everywhere.

Counts come from grouped SQL queries over all of a researcher's studies at once, so the
study list costs a fixed number of queries however many studies there are. Accuracy is
per main trial (practice and attention checks excluded; checks are reported apart) and
is the response mode's own ``correct`` (``analysis/response_modes/``: e.g. the marked
items are exactly the true outliers, or "present" was answered exactly when an outlier
was there); a timed-out trial is wrong.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from analysis.response_modes import mode_named
from experiment.models import Condition, Participant, ParticipantStatus, Response, Trial


@dataclass(frozen=True)
class Accuracy:
    """Correct answers out of answered trials."""

    correct: int
    answered: int

    @property
    def proportion(self) -> float | None:
        return self.correct / self.answered if self.answered else None


@dataclass(frozen=True)
class StudyProgress:
    study_id: int
    participants_started: int = 0
    participants_finished: int = 0
    trials_planned: int = 0
    trials_saved: int = 0
    timed_out: int = 0
    attention_checks: Accuracy = Accuracy(0, 0)
    #: encoding -> accuracy on main trials, in the study's encoding order
    accuracy_by_encoding: dict[str, Accuracy] = field(default_factory=dict)

    def as_json(self) -> dict:
        """Plain JSON for the dashboard's live refresh."""
        return {
            "study_id": self.study_id,
            "participants_started": self.participants_started,
            "participants_finished": self.participants_finished,
            "trials_planned": self.trials_planned,
            "trials_saved": self.trials_saved,
            "timed_out": self.timed_out,
            "attention_checks": _accuracy_json(self.attention_checks),
            "accuracy_by_encoding": {
                encoding: _accuracy_json(value)
                for encoding, value in self.accuracy_by_encoding.items()
            },
        }


def _accuracy_json(value: Accuracy) -> dict:
    return {"correct": value.correct, "answered": value.answered, "proportion": value.proportion}


def is_correct(
    response_mode: str,
    *,
    selected: Sequence[int] | None,
    said_present: bool | None,
    true_outliers: Sequence[int] | None,
    n_items: int,
    timed_out: bool,
) -> bool:
    """Whether one answer is exactly right: the mode's own score says so."""
    score = mode_named(response_mode).score(
        truth=true_outliers or [],
        selected=selected or [],
        said_present=said_present,
        n_items=n_items,
        timed_out=timed_out,
    )
    return score[4]


def study_progress(session: Session, study_ids: Iterable[int]) -> dict[int, StudyProgress]:
    """Progress of each study in ``study_ids`` (studies without data get zeros)."""
    ids = sorted(set(study_ids))
    if not ids:
        return {}
    connection = session.connection()  # plain rows: no ORM bookkeeping per answer
    started: dict[int, int] = defaultdict(int)
    finished: dict[int, int] = defaultdict(int)
    for study_id, status, count in connection.execute(
        sa.select(Participant.study_id, Participant.status, sa.func.count())
        .where(Participant.study_id.in_(ids), Participant.is_preview.is_(False))
        .group_by(Participant.study_id, Participant.status)
    ):
        started[study_id] += count
        if status == ParticipantStatus.finished:
            finished[study_id] += count
    planned = dict(
        connection.execute(
            sa.select(Participant.study_id, sa.func.count(Trial.id))
            .join(Trial, Trial.participant_id == Participant.id)
            .where(Participant.study_id.in_(ids), Participant.is_preview.is_(False))
            .group_by(Participant.study_id)
        ).all()
    )
    answered = (
        sa.select(Participant.study_id)
        .select_from(Response)
        .join(Trial, Response.trial_id == Trial.id)
        .join(Participant, Trial.participant_id == Participant.id)
        .where(Participant.study_id.in_(ids), Participant.is_preview.is_(False))
    )
    saved: dict[int, int] = defaultdict(int)
    timed_out: dict[int, int] = defaultdict(int)
    for study_id, count, late in connection.execute(
        answered.add_columns(
            sa.func.count(), sa.func.count().filter(Response.timed_out.is_(True))
        ).group_by(Participant.study_id)
    ):
        saved[study_id], timed_out[study_id] = count, late
    main: dict[int, dict[str, list[int]]] = defaultdict(dict)  # study -> encoding -> tally
    checks: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    rows = connection.execute(
        answered.add_columns(
            Condition.encoding,
            Trial.is_attention_check,
            Trial.true_outliers,
            Trial.n_items,
            Response.response_mode,
            Response.selected,
            Response.said_present,
            Response.timed_out,
        )
        .join(Condition, Trial.condition_id == Condition.id)
        .where(Trial.is_practice.is_(False))
    )
    for study_id, encoding, is_check, truth, n_items, mode, selected, said, late in rows:
        tally = checks[study_id] if is_check else main[study_id].setdefault(encoding, [0, 0])
        tally[1] += 1
        tally[0] += is_correct(
            mode,
            selected=selected,
            said_present=said,
            true_outliers=truth,
            n_items=n_items,
            timed_out=late,
        )
    return {
        study_id: StudyProgress(
            study_id=study_id,
            participants_started=started[study_id],
            participants_finished=finished[study_id],
            trials_planned=planned.get(study_id, 0),
            trials_saved=saved[study_id],
            timed_out=timed_out[study_id],
            attention_checks=Accuracy(*checks.get(study_id, (0, 0))),
            accuracy_by_encoding={
                encoding: Accuracy(*tally) for encoding, tally in sorted(main[study_id].items())
            },
        )
        for study_id in ids
    }
