"""Rows for researcher-side tests: accounts and a study with known answers.

The answered study is written straight into the models (not through the participant
flow) so each test knows exactly which answers are right, wrong, timed out, practice or
attention checks, and can check the dashboard's figures and the trial table against them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from experiment.models import (
    Condition,
    Participant,
    ParticipantStatus,
    Researcher,
    Response,
    StimulusSet,
    Study,
    StudyStatus,
    Trial,
)

PASSWORD = "correct horse battery"
#: a cheap hash method keeps login tests fast; production uses werkzeug's default scrypt
FAST_HASH = "pbkdf2:sha256:1000"
_numbers = itertools.count(1)
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def add_researcher(session: Session, email: str | None = None) -> Researcher:
    email = email or f"researcher{next(_numbers)}@example.org"
    researcher = Researcher(
        email=email, password_hash=generate_password_hash(PASSWORD, method=FAST_HASH)
    )
    session.add(researcher)
    session.flush()
    return researcher


def add_study(
    session: Session,
    researcher: Researcher,
    *,
    encodings: tuple[str, ...] = ("chernoff", "table"),
    response_mode: str = "mark_outliers",
    status: StudyStatus = StudyStatus.open,
    folder: str = "/nonexistent/stimulus-set",
) -> Study:
    number = next(_numbers)
    stimulus_set = StimulusSet(set_id=f"set{number:09d}", folder=folder)
    study = Study(
        slug=f"study{number}",
        title=f"Study number {number}",
        status=status,
        researcher=researcher,
        stimulus_set=stimulus_set,
        encodings=list(encodings),
        layouts=["grid"],
        response_modes=[response_mode],
        response_mode_params={response_mode: {}},
        trials_per_participant=4,
        practice_trials=1,
        attention_checks=1,
        deadline_ms=10_000,
        frame_ms=500,
        consent_text="You agree to take part.",
        debrief_text="Thank you.",
        completion_code="DONE123",
    )
    session.add(study)
    for position, encoding in enumerate(encodings):
        session.add(
            Condition(
                study=study,
                position=position,
                encoding=encoding,
                layout="grid",
                response_mode=response_mode,
            )
        )
    session.flush()
    return study


@dataclass(frozen=True)
class Answer:
    """One trial and its answer; ``selected=None`` leaves the trial unanswered."""

    encoding: str
    true_outliers: tuple[int, ...]
    selected: tuple[int, ...] | None
    said_present: bool | None = None
    timed_out: bool = False
    is_practice: bool = False
    is_attention_check: bool = False
    rt_ms: float | None = 1234.5


def add_participant(
    session: Session,
    study: Study,
    answers: list[Answer],
    *,
    finished: bool = False,
    mode: str | None = None,
) -> Participant:
    """A participant of ``study`` whose trials are ``answers`` in order."""
    number = next(_numbers)
    participant = Participant(
        study=study,
        code=f"P{number:04d}",
        seed=number,
        latin_square_row=0,
        status=ParticipantStatus.finished if finished else ParticipantStatus.consented,
        finished_at=T0 if finished else None,
    )
    session.add(participant)
    session.flush()
    conditions = {condition.encoding: condition for condition in study.conditions}
    mode = mode or study.response_modes[0]
    for index, answer in enumerate(answers):
        presented = T0 + timedelta(seconds=10 * index)
        answered = answer.selected is not None or answer.said_present is not None
        trial = Trial(
            public_id=f"t{number}x{index}",
            participant=participant,
            condition=conditions[answer.encoding],
            trial_index=index,
            is_practice=answer.is_practice,
            is_attention_check=answer.is_attention_check,
            dataset_id=f"d{index:02d}",
            stimulus_id=f"s{index:04d}",
            n_items=12,
            display_order=list(range(12)),
            true_outliers=list(answer.true_outliers),
            deadline_ms=study.deadline_ms,
            frame_ms=study.frame_ms,
            presented_at=presented,
            answered_at=presented + timedelta(milliseconds=1500) if answered else None,
        )
        session.add(trial)
        if answered:
            session.add(
                Response(
                    trial=trial,
                    participant_id=participant.id,
                    idempotency_key=f"k{number}x{index}",
                    response_mode=mode,
                    response_mode_version="1.0.0",
                    selected=list(answer.selected or ()),
                    said_present=answer.said_present,
                    rt_ms=answer.rt_ms,
                    timed_out=answer.timed_out,
                    raw={"selected": list(answer.selected or ())},
                )
            )
    session.flush()
    return participant
