"""A participant's plan and study settings, cached per process; their state, from the database.

Every runner call needs the participant's trial plan (which stimulus, display order,
deadline, condition) and a few study settings. Both are written once, at enrolment and
study creation, and never change, so each worker process keeps them after the first
read (one query per participant per process) instead of hydrating ORM rows on every
request. What does change, whether a trial was served, started or answered and whether
a tab token was superseded, is never cached: it is read from (and written to) the
database in each request, so several processes and a restarted server agree.

The cached records quack like the ORM rows where the trial helpers read them
(``trial.condition.encoding``, ``study.practice_trials``), so the payload and response
mode code serves both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa

from experiment import design
from experiment.driver_sql import DriverStatement
from experiment.memo import BoundedMemo
from experiment.models import Condition, StimulusSet, Study, StudyStatus, Trial
from experiment.services.studies import study_design
from experiment.stimulus_sets import LoadedStimulusSet

#: participants whose plans a process keeps; past it the cache starts again (a plan is
#: one query away, so a simple bound beats an LRU's bookkeeping on every request)
PLAN_CACHE_SIZE = 50_000


@dataclass(frozen=True)
class PlannedCondition:
    encoding: str
    layout: str
    response_mode: str


@dataclass(frozen=True)
class PlannedTrial:
    """A trial's fixed part (what ``design.plan_trials`` decided at enrolment)."""

    id: int
    public_id: str
    participant_id: int
    trial_index: int
    is_practice: bool
    is_attention_check: bool
    stimulus_id: str
    n_items: int
    display_order: tuple[int, ...]
    true_outliers: tuple[int, ...]
    deadline_ms: int
    frame_ms: int
    condition: PlannedCondition


@dataclass(frozen=True)
class Plan:
    participant_id: int
    study_id: int
    trials: tuple[PlannedTrial, ...]

    def by_public_id(self, public_id: str) -> PlannedTrial | None:
        return next((t for t in self.trials if t.public_id == public_id), None)

    def by_id(self, trial_id: int) -> PlannedTrial:
        return next(t for t in self.trials if t.id == trial_id)

    def after(self, trial: PlannedTrial) -> PlannedTrial | None:
        """The trial after ``trial`` in plan order (None after the last)."""
        position = self.trials.index(trial)
        return self.trials[position + 1] if position + 1 < len(self.trials) else None


@dataclass(frozen=True)
class StudyInfo:
    """The study settings the runner API reads (fixed once the study exists)."""

    id: int
    slug: str
    folder: str
    response_mode_params: dict[str, Any]
    practice_trials: int
    trials_per_participant: int
    attention_checks: int
    #: the fixation before each trial (ms): the deadline allows for it
    fixation_ms: int = 500


@dataclass(frozen=True)
class KnownTrial:
    """One of a tab's trials as this process keeps it (``PlanCache.known_trial``)."""

    token: str
    plan: Plan
    study: StudyInfo
    trial: PlannedTrial


class StudyRef(Protocol):
    """What picks a study's kept design: the ORM row or a page's record of it."""

    @property
    def id(self) -> int: ...

    @property
    def opened_at(self) -> datetime | None: ...


@dataclass(frozen=True)
class EnrolmentDesign:
    """What enrolling a participant reads of a study besides its counters: its conditions
    (with their row ids), the design they make with the stimulus set, and the settings
    copied onto each planned trial. Fixed once the study has been open (it never goes
    back to draft); kept for the study's ``opened_at`` and the loaded set it was made
    from, so a different study under a reused id, or another set, is never served it."""

    study_id: int
    opened_at: datetime | None
    stimulus_set: LoadedStimulusSet
    #: (encoding, layout, response mode) -> condition row id
    condition_ids: dict[tuple[str, str, str], int]
    specs: tuple[design.ConditionSpec, ...]
    design: design.Design
    practice_trials: int
    attention_checks: int
    deadline_ms: int
    frame_ms: int
    abandon_after_minutes: int

    def fits(self, study: StudyRef, stimulus_set: LoadedStimulusSet) -> bool:
        return (
            self.study_id == study.id
            and self.opened_at == study.opened_at
            and self.stimulus_set is stimulus_set
        )


def enrolment_design(study: Study, stimulus_set: LoadedStimulusSet) -> EnrolmentDesign:
    """``study``'s enrolment design, made from its rows (loads its conditions)."""
    conditions = sorted(study.conditions, key=lambda c: c.position)
    specs, made = study_design(study, stimulus_set)
    return EnrolmentDesign(
        study_id=study.id,
        opened_at=study.opened_at,
        stimulus_set=stimulus_set,
        condition_ids={(c.encoding, c.layout, c.response_mode): c.id for c in conditions},
        specs=tuple(specs),
        design=made,
        practice_trials=study.practice_trials,
        attention_checks=study.attention_checks,
        deadline_ms=study.deadline_ms,
        frame_ms=study.frame_ms,
        abandon_after_minutes=study.abandon_after_minutes,
    )


@dataclass(frozen=True)
class TrialState:
    """What changes on a trial row, as read in this request."""

    id: int
    served_at: datetime | None
    presented_at: datetime | None
    answered_at: datetime | None = None


class PlanCache:
    """Plans by tab token and study settings by study id, for one process."""

    def __init__(self, size: int = PLAN_CACHE_SIZE) -> None:
        self._plans: BoundedMemo[str, Plan] = BoundedMemo(size)
        self._studies: dict[int, StudyInfo] = {}
        self._designs: dict[int, EnrolmentDesign] = {}

    def plan(
        self, connection: sa.Connection, participant_id: int, *, study_id: int, token: str
    ) -> Plan:
        """The participant's plan, kept under the tab token that asked: tokens are random
        and never reused, while a deleted preview participant's id can come back (SQLite
        reuses row ids), so an id alone could find someone else's plan."""
        plan = self._plans.get(token)
        if plan is None:
            plan = _load_plan(connection, participant_id, study_id)
            self._plans.put(token, plan)
        return plan

    def known_trial(self, token: str, *, slug: str, public_id: str) -> KnownTrial | None:
        """Trial ``public_id`` of the tab ``token`` at study ``slug``, with the tab's plan
        and study settings, if this process keeps both (it keeps no draft's): what never
        changes about a tab, known without a query. Whether the tab is still live is the
        database's to say (the one-statement start and answer ask it)."""
        plan = self._plans.get(token)
        study = None if plan is None else self._studies.get(plan.study_id)
        if study is None or study.slug != slug:
            return None
        trial = plan.by_public_id(public_id)
        return None if trial is None else KnownTrial(token, plan, study, trial)

    def study(self, connection: sa.Connection, study_id: int, *, draft: bool) -> StudyInfo:
        """The study's settings; a draft's are read afresh each time (a draft can be
        edited, and deleted); a study that has been open never changes them."""
        info = self._studies.get(study_id)
        if info is None or draft:
            info = _load_study(connection, study_id)
            if not draft:
                self._studies[study_id] = info
        return info

    def enrolment(self, study: Study, stimulus_set: LoadedStimulusSet) -> EnrolmentDesign:
        """The study's enrolment design; a draft's is made afresh each time (a draft can
        be edited: previews enrol into drafts), a study that has been open keeps it."""
        found = self.kept(study, stimulus_set)
        if found is None:
            found = enrolment_design(study, stimulus_set)
            if study.status != StudyStatus.draft:
                self._designs[study.id] = found
        return found

    def kept(self, study: StudyRef, stimulus_set: LoadedStimulusSet) -> EnrolmentDesign | None:
        """The design :meth:`enrolment` keeps for ``study`` (never a draft's), if any:
        what a caller without the study's ORM row can use."""
        found = self._designs.get(study.id)
        return found if found is not None and found.fits(study, stimulus_set) else None


#: a participant's plan, built once: building it (and its cache key) in each load was
#: more than half of the load's CPU; run on the driver's cursor (experiment/driver_sql.py)
PLAN = DriverStatement(
    sa.select(
        Trial.id,
        Trial.public_id,
        Trial.trial_index,
        Trial.is_practice,
        Trial.is_attention_check,
        Trial.stimulus_id,
        Trial.n_items,
        Trial.display_order,
        Trial.true_outliers,
        Trial.deadline_ms,
        Trial.frame_ms,
        Condition.encoding,
        Condition.layout,
        Condition.response_mode,
    )
    .join(Condition, Condition.id == Trial.condition_id)
    .where(Trial.participant_id == sa.bindparam("participant"))
    .order_by(Trial.trial_index)
)


def _load_plan(connection: sa.Connection, participant_id: int, study_id: int) -> Plan:
    trials = tuple(
        PlannedTrial(
            id=trial_id,
            public_id=public_id,
            participant_id=participant_id,
            trial_index=trial_index,
            is_practice=is_practice,
            is_attention_check=is_attention_check,
            stimulus_id=stimulus_id,
            n_items=n_items,
            display_order=tuple(display_order),
            true_outliers=tuple(true_outliers),
            deadline_ms=deadline_ms,
            frame_ms=frame_ms,
            condition=PlannedCondition(encoding, layout, response_mode),
        )
        for (
            trial_id,
            public_id,
            trial_index,
            is_practice,
            is_attention_check,
            stimulus_id,
            n_items,
            display_order,
            true_outliers,
            deadline_ms,
            frame_ms,
            encoding,
            layout,
            response_mode,
        ) in PLAN.execute(connection, {"participant": participant_id})
    )
    return Plan(participant_id, study_id, trials)


def _load_study(connection: sa.Connection, study_id: int) -> StudyInfo:
    row = connection.execute(
        sa.select(
            Study.id,
            Study.slug,
            StimulusSet.folder,
            Study.response_mode_params,
            Study.practice_trials,
            Study.trials_per_participant,
            Study.attention_checks,
            Study.fixation_ms,
        )
        .join(StimulusSet, StimulusSet.id == Study.stimulus_set_id)
        .where(Study.id == study_id)
    ).one()
    return StudyInfo(*row)


TRIALS = Trial.__table__
_OPEN_STATES = (
    sa.select(TRIALS.c.id, TRIALS.c.served_at, TRIALS.c.presented_at)
    .where(TRIALS.c.participant_id == sa.bindparam("participant"), TRIALS.c.answered_at.is_(None))
    .order_by(TRIALS.c.trial_index)
)
#: read by the runner page and each runner fetch: on the driver's cursor
OPEN_STATES = DriverStatement(_OPEN_STATES)
FIRST_OPEN_STATE = DriverStatement(_OPEN_STATES.limit(1))
STATE = sa.select(
    TRIALS.c.id, TRIALS.c.served_at, TRIALS.c.presented_at, TRIALS.c.answered_at
).where(TRIALS.c.id == sa.bindparam("trial"))


def trial_states(connection: sa.Connection, participant_id: int) -> list[TrialState]:
    """The participant's unanswered trials' state, in plan order."""
    rows = OPEN_STATES.execute(connection, {"participant": participant_id})
    return [TrialState(*row) for row in rows]


def first_open_state(connection: sa.Connection, participant_id: int) -> TrialState | None:
    """The state of the participant's first unanswered trial (None when all are answered)."""
    rows = FIRST_OPEN_STATE.execute(connection, {"participant": participant_id})
    return TrialState(*rows[0]) if rows else None


def trial_state(connection: sa.Connection, trial_id: int) -> TrialState:
    return TrialState(*connection.execute(STATE, {"trial": trial_id}).one())
