"""What a trial looks like to the browser and to a response mode (service layer).

What the browser gets is built here and nowhere else, and it never contains truth:
items are shown at shuffled display positions and named only by position; media are
opaque per-participant URLs (``participant/media.py``); how a trial is shown is the
encoding's declared :class:`~stimuli.encodings.Display`: item images, rows of the
manifest's display strings in display order, or one composite image only (clicks are
mapped to the nearest point on the server). No stimulus id, dataset id,
item index, media name or attention-check flag is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from analysis.response_modes import TrialContext, mode_named
from analysis.response_modes.base import params_from_dict
from experiment.driver_sql import DriverStatement
from experiment.errors import NotFound
from experiment.memo import BoundedMemo
from experiment.models import BrowserSession, Participant, ParticipantStatus, Trial
from experiment.services.callers import Caller
from experiment.services.plans import (
    KnownTrial,
    Plan,
    PlannedTrial,
    StudyInfo,
    TrialState,
    trial_state,
)
from experiment.stimulus_sets import LoadedStimulusSet
from stimuli.encodings import Display, display_of

#: (trial, parts) -> what the browser loads for each part (URLs or data: URIs)
MediaSources = Callable[[PlannedTrial, Sequence[str]], list[str]]
TRIALS = Trial.__table__
PARTICIPANTS = Participant.__table__
SESSIONS = BrowserSession.__table__
NOW = sa.bindparam("now", type_=TRIALS.c.presented_at.type)
#: made once: an answer measures five spans with it
ONE_MS = timedelta(milliseconds=1)
START = (
    TRIALS.update()
    .where(TRIALS.c.id == sa.bindparam("trial"), TRIALS.c.presented_at.is_(None))
    .values(presented_at=NOW)
)
#: onset in one statement, for a tab whose plan the process knows: the row changes only
#: if the tab's token is live and its participant owns the trial, not yet started or
#: answered (what the caller's read would have checked); on the driver's cursor, as
#: nearly every trial runs it (experiment/driver_sql.py)
START_IF_LIVE = DriverStatement(
    TRIALS.update()
    .where(
        TRIALS.c.id == sa.bindparam("trial"),
        TRIALS.c.presented_at.is_(None),
        TRIALS.c.answered_at.is_(None),
        TRIALS.c.participant_id
        == sa.select(SESSIONS.c.participant_id)
        .where(SESSIONS.c.token == sa.bindparam("token"), SESSIONS.c.superseded_at.is_(None))
        .scalar_subquery(),
    )
    .values(presented_at=NOW)
    .returning(TRIALS.c.served_at)
)
FINISH = (
    PARTICIPANTS.update()
    .where(
        PARTICIPANTS.c.id == sa.bindparam("participant"),
        PARTICIPANTS.c.status != ParticipantStatus.finished,
    )
    .values(status=ParticipantStatus.finished, finished_at=NOW)
)


def trial_display(trial: PlannedTrial) -> Display:
    """How the runner shows ``trial`` (the encoding declares it for grids)."""
    return display_of(trial.condition.encoding, trial.condition.layout)


def trial_context(trial: PlannedTrial, stimulus_set: LoadedStimulusSet) -> TrialContext:
    """The server-side view of a trial that response modes parse against."""
    stimulus = stimulus_set.stimuli[trial.stimulus_id]
    if trial_display(trial) is not Display.COMPOSITE:
        return TrialContext(
            encoding=trial.condition.encoding,
            layout=trial.condition.layout,
            item_at_position=tuple(trial.display_order),
        )
    view = stimulus[stimulus["encoding"]]
    by_item = {int(e["item"]): p for e, p in zip(stimulus["items"], view["points"], strict=True)}
    return TrialContext(
        encoding=trial.condition.encoding,
        layout=trial.condition.layout,
        item_at_position=tuple(trial.display_order),
        points=tuple((float(by_item[i]["x"]), float(by_item[i]["y"])) for i in trial.display_order),
        point_radius=float(view.get("radius", 6.0)),
    )


def since_ms(moment: datetime | None, now: datetime) -> float | None:
    """Milliseconds from ``moment`` to ``now`` (None when there is no moment)."""
    return None if moment is None else (now - moment) / ONE_MS


def elapsed_ms(trial: TrialState, now: datetime) -> float | None:
    """Time since onset, or since delivery where none is known yet."""
    return since_ms(trial.presented_at or trial.served_at, now)


# The timing rules (docs/participant-api.md, "Timing rules"): a trial's media reach the
# browser with its JSON, so the deadline counts from delivery (``served_at``), allowing
# for the fixation the runner shows while they load, and also from the onset
# (``presented_at``: a start call's arrival, or what the answer reports, below).


def is_late(
    trial: PlannedTrial, state: TrialState, now: datetime, *, fixation_ms: int, grace_ms: int
) -> bool:
    """Past the deadline: more than fixation + deadline + grace since the media were
    delivered, or more than deadline + grace since the onset."""
    served, started = since_ms(state.served_at, now), since_ms(state.presented_at, now)
    return (served is not None and served > fixation_ms + trial.deadline_ms + grace_ms) or (
        started is not None and started > trial.deadline_ms + grace_ms
    )


def with_reported_onset(
    state: TrialState, onset_after_request_ms: float | None, now: datetime
) -> TrialState:
    """``state`` with the onset its answer reports, where no start call recorded one.

    The runner measures, on its own monotonic clock, the time from sending the request
    whose reply brought the trial (the previous answer, or ``GET next``) to the
    stimulus onset. ``served_at`` is that request's arrival on the server's clock, so
    the onset on the server's clock is ``served_at`` plus that time, and the time from
    it to the answer's arrival is the stated ``rt_ms`` plus the difference of the two
    requests' trips: what a start call sent at onset would have measured, without the
    request. The onset is never put after the answer's arrival. A client that reports
    a late onset gains nothing it could not by sending ``start`` late: the deadline
    still counts from delivery."""
    if state.presented_at is not None or state.served_at is None or onset_after_request_ms is None:
        return state
    after = max(0.0, min(onset_after_request_ms, since_ms(state.served_at, now)))
    return TrialState(
        state.id, state.served_at, state.served_at + after * ONE_MS, state.answered_at
    )


def start_trial(
    connection: sa.Connection, *, caller: Caller, public_id: str, now: datetime
) -> float:
    """Record stimulus onset (idempotent: the first call wins); returns the time left (ms)."""
    trial = own_trial(caller.plan, public_id)
    state = next((s for s in caller.upcoming if s.id == trial.id), None)
    if state is None:  # not one of the next two: read it (answered, or far ahead)
        state = trial_state(connection, trial.id)
    if state.presented_at is None and state.answered_at is None:
        connection.execute(START, {"trial": trial.id, "now": now})
        state = TrialState(state.id, state.served_at, now)
    return time_left_ms(trial, state, now, fixation_ms=caller.study.fixation_ms)


#: tabs whose current trial a process keeps; past it the memo starts again (a miss
#: costs an answer only the caller's read, services/known_answers.py)
SERVED_TRIALS_KEPT = 50_000


@dataclass(frozen=True)
class ServedTrial:
    """A tab's current trial as this process served or started it: the state its
    request left, which the database must still agree with for the answer to use it."""

    trial_id: int
    served_at: datetime
    presented_at: datetime | None = None


class ServedTrials(BoundedMemo[str, ServedTrial]):
    """Tab token -> the trial this process served or started for it last."""

    def __init__(self, size: int = SERVED_TRIALS_KEPT) -> None:
        super().__init__(size)


def start_known_trial(
    connection: sa.Connection, known: KnownTrial, served: ServedTrials, *, now: datetime
) -> float | None:
    """Record onset without reading the caller first, when this process knows the tab's
    plan and study (nearly every start): one UPDATE whose condition is the database's
    word on the token. Returns the time left, or None where that did not decide it
    (another participant's trial, one already started, a superseded or unknown token);
    :func:`start_trial` then reads the caller and answers, or says why not. The onset
    is remembered in ``served``: its answer can then be stored in one statement
    (services/known_answers.py)."""
    trial = known.trial
    values = {"trial": trial.id, "token": known.token, "now": now}
    started = START_IF_LIVE.execute(connection, values)
    if not started:
        return None
    state = TrialState(trial.id, started[0][0], now)
    served.put(known.token, ServedTrial(trial.id, state.served_at, now))
    return time_left_ms(trial, state, now, fixation_ms=known.study.fixation_ms)


def time_left_ms(
    trial: PlannedTrial, state: TrialState, now: datetime, *, fixation_ms: int
) -> float:
    """What is left of the deadline (without the grace): from delivery, the fixation
    allowed for, and from the onset."""
    left = float(trial.deadline_ms)
    served, started = since_ms(state.served_at, now), since_ms(state.presented_at, now)
    if served is not None:
        left = min(left, fixation_ms + trial.deadline_ms - served)
    if started is not None:
        left = min(left, trial.deadline_ms - started)
    return max(0.0, left)


def coming(trial: PlannedTrial, *, fixation_ms: int) -> dict[str, Any]:
    """What the runner words the pause before ``trial`` by ("The practice begins"),
    without its media and without starting its clock: the trial itself is fetched
    only after the participant's click, as its deadline counts from delivery."""
    return {
        "done": False,
        "phase": "practice" if trial.is_practice else "main",
        "response_mode": trial.condition.response_mode,
        "fixation_ms": fixation_ms,
    }


def trial_payload(
    trial: PlannedTrial,
    *,
    study: StudyInfo,
    stimulus_set: LoadedStimulusSet,
    media_sources: MediaSources,
    time_left: float,
) -> dict[str, Any]:
    """The JSON the runner gets for one trial (see docs/participant-api.md)."""
    stimulus = stimulus_set.stimuli[trial.stimulus_id]
    mode = mode_named(trial.condition.response_mode)
    phase = "practice" if trial.is_practice else "main"
    done, total = phase_position(study, trial)
    payload: dict[str, Any] = {
        "id": trial.public_id,
        "phase": phase,
        "number": done + 1,
        "of": total,
        "encoding": trial.condition.encoding,
        "layout": trial.condition.layout,
        "response_mode": mode.name,
        "response_mode_version": mode.version,
        "params": study.response_mode_params.get(mode.name, {}),
        "keys": mode.keys(params_from_dict(mode.Params, study.response_mode_params.get(mode.name))),
        "deadline_ms": trial.deadline_ms,
        "time_left_ms": round(time_left),
        "fixation_ms": study.fixation_ms,
        "frame_ms": trial.frame_ms,
        "n_items": trial.n_items,
    }
    display = trial_display(trial)
    payload["display"] = display.value
    if display is Display.COMPOSITE:
        payload["composite"] = {
            "src": media_sources(trial, ["c"])[0],
            "width": stimulus.get("width"),
            "height": stimulus.get("height"),
        }
    elif display is Display.IMAGES:
        sources = media_sources(trial, [str(p) for p in range(trial.n_items)])
        payload["images"] = [{"position": p, "src": src} for p, src in enumerate(sources)]
    else:
        view = stimulus[stimulus["encoding"]]
        manifest_row = {int(e["item"]): k for k, e in enumerate(stimulus["items"])}
        payload["rows"] = {
            "columns": view["columns"],
            "rows": [view["rows"][manifest_row[i]] for i in trial.display_order],
        }
    return payload


def media_name(trial: Any, part: str, stimulus_set: LoadedStimulusSet) -> str:
    """The set's media file (manifest name) behind ``part`` (a display position or
    ``c``); ``trial`` is anything with ``stimulus_id`` and ``display_order``."""
    stimulus = stimulus_set.stimuli[trial.stimulus_id]
    if part == "c":
        relative = stimulus.get("media")
    else:
        item = trial.display_order[int(part)]
        relative = next(e.get("media") for e in stimulus["items"] if int(e["item"]) == item)
    if not relative:
        raise NotFound("No such media.")
    return relative


def own_trial(plan: Plan, public_id: str) -> PlannedTrial:
    """One of the participant's trials by public id; another participant's is a 404."""
    trial = plan.by_public_id(public_id)
    if trial is None:
        raise NotFound("No such trial for this participant.")
    return trial


def finish(connection: sa.Connection, participant_id: int, now: datetime) -> None:
    connection.execute(FINISH, {"participant": participant_id, "now": now})


def phase_position(study: StudyInfo, trial: PlannedTrial) -> tuple[int, int]:
    """(trials of its phase before ``trial``, trials in that phase), for "trial 3 of 12"
    in the runner. Every plan has the study's numbers of practice and main trials,
    practice first (``design.plan_trials``), and trials are answered in order, so the
    trial's index says how far the participant is: nothing needs counting."""
    practice = study.practice_trials
    if trial.is_practice:
        return trial.trial_index, practice
    return trial.trial_index - practice, study.trials_per_participant + study.attention_checks
