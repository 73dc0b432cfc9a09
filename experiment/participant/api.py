"""The trial runner's JSON API (``/s/<slug>/api/...``); see docs/participant-api.md.

Exempt from the form CSRF token; every call instead needs the tab's token in
``X-Glyphlab-Token`` and, where the browser says where it comes from, the same origin.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

import sqlalchemy as sa
from flask import Blueprint, jsonify, request, url_for

from experiment import site
from experiment.db import get_connection
from experiment.errors import BadRequest
from experiment.models import BrowserSession, Event
from experiment.participant.media import media_sources
from experiment.security import TOKEN_HEADER, check_same_origin
from experiment.services import answers as answers_service
from experiment.services import known_answers
from experiment.services import trials as trials_service
from experiment.services.callers import Caller, authenticate
from experiment.services.plans import KnownTrial, Plan, PlannedTrial, StudyInfo
from experiment.services.trials import ServedTrial

bp = Blueprint("participant_api", __name__, url_prefix="/s/<slug>/api")
EVENT_KINDS = {
    "blur",
    "focus",
    "visibility_hidden",
    "visibility_visible",
    "fullscreen_enter",
    "fullscreen_exit",
}


@bp.before_request
def same_origin() -> None:
    check_same_origin()


def _caller(slug: str) -> Caller:
    return authenticate(
        get_connection(), site().plans, slug=slug, token=request.headers.get(TOKEN_HEADER)
    )


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if body is None:
        raise BadRequest("The body must be JSON with Content-Type: application/json.")
    return body


def _payload(study: StudyInfo, trial: PlannedTrial, time_left: float) -> dict:
    """The JSON of ``trial`` for the runner (services/trials.py decides what is in it)."""
    folder = study.folder
    stimulus_set = site().stimulus_sets.get(folder)
    return trials_service.trial_payload(
        trial,
        study=study,
        stimulus_set=stimulus_set,
        media_sources=partial(
            media_sources,
            folder=folder,
            stimulus_set=stimulus_set,
            inline_limit=site().config.inline_media_bytes,
        ),
        time_left=time_left,
    )


def _remember_served(
    trial_id: int, served_at: datetime, presented_at: datetime | None = None
) -> None:
    """What this process served the tab: its answer can then skip the caller's read
    (services/known_answers.py)."""
    token = request.headers.get(TOKEN_HEADER)
    if token:
        site().served_trials.put(token, ServedTrial(trial_id, served_at, presented_at))


def _next_payload(caller: Caller, now: datetime) -> dict | None:
    """The payload of the trial to show now (marking it served), or None when done."""
    found = answers_service.next_trial(
        get_connection(), caller=caller, now=now, grace_ms=site().config.grace_ms
    )
    if found is None:
        return None
    trial, state = found
    _remember_served(trial.id, state.served_at or now, state.presented_at)
    time_left = trials_service.time_left_ms(trial, state, now, fixation_ms=caller.study.fixation_ms)
    return _payload(caller.study, trial, time_left)


@bp.get("/next")
def next_trial(slug: str):
    caller = _caller(slug)
    if request.args.get("peek") and caller.upcoming:
        # What comes next, without its media (nothing is marked served, no clock starts);
        # the runner page and a practice answer's reply carry the same, so the runner
        # asks only after a conflict or a resent answer.
        trial = caller.plan.by_id(caller.upcoming[0].id)
        return jsonify(trials_service.coming(trial, fixation_ms=caller.study.fixation_ms))
    payload = _next_payload(caller, site().clock())
    get_connection().commit()
    if payload is None:
        return jsonify(done=True, next_url=url_for("participant.debrief", slug=slug))
    return jsonify(done=False, trial=payload)


def _known_trial(slug: str, public_id: str) -> KnownTrial | None:
    """The tab's trial as this process keeps it, for the one-statement start and answer."""
    token = request.headers.get(TOKEN_HEADER)
    return site().plans.known_trial(token, slug=slug, public_id=public_id) if token else None


@bp.post("/trials/<public_id>/start")
def start(slug: str, public_id: str):
    """The onset on the server's clock, for a client that does not report it with the
    answer (``onset_after_request_ms``; the bundled runner does)."""
    connection = get_connection()
    now = site().clock()
    known = _known_trial(slug, public_id)
    time_left = None
    if known is not None:
        time_left = trials_service.start_known_trial(
            connection, known, site().served_trials, now=now
        )
    if time_left is None:
        time_left = trials_service.start_trial(
            connection, caller=_caller(slug), public_id=public_id, now=now
        )
    connection.commit()
    return jsonify(time_left_ms=round(time_left))


def _store_answer(
    slug: str, public_id: str, answer: answers_service.Answer, now: datetime
) -> tuple[answers_service.SubmitResult, Plan, StudyInfo, Caller | None]:
    """Store ``answer``: in one statement where this process served the trial and the
    database agrees (services/known_answers.py), else after reading the caller. Returns
    the result, the tab's plan and study, and the caller where it was read."""
    connection = get_connection()
    config = site().config
    known = _known_trial(slug, public_id)
    if known is not None:
        result = known_answers.submit_known_answer(
            connection,
            known,
            site().served_trials,
            answer=answer,
            stimulus_set=site().stimulus_sets.get(known.study.folder),
            now=now,
            grace_ms=config.grace_ms,
            rt_tolerance_ms=config.rt_tolerance_ms,
        )
        if result is not None:
            return result, known.plan, known.study, None
    caller = _caller(slug)
    result = answers_service.submit_answer(
        connection,
        caller=caller,
        public_id=public_id,
        answer=answer,
        stimulus_set=site().stimulus_sets.get(caller.study.folder),
        now=now,
        grace_ms=config.grace_ms,
        rt_tolerance_ms=config.rt_tolerance_ms,
    )
    return result, caller.plan, caller.study, caller


@bp.post("/trials/<public_id>/answer")
def answer(slug: str, public_id: str):
    parsed = answers_service.Answer.from_json(_json_body())
    now = site().clock()
    result, plan, study, caller = _store_answer(slug, public_id, parsed, now)
    body = {
        "status": "duplicate" if result.duplicate else "stored",
        "timed_out": result.timed_out,
        "feedback": result.feedback,
        "finished": result.finished,
    }
    if result.finished:
        body["next_url"] = url_for("participant.debrief", slug=slug)
    elif result.duplicate:
        pass  # its first copy's reply may have carried the next trial; GET .../next is right
    elif result.feedback is not None:
        # A practice answer brings no next trial: its feedback stays on screen until the
        # participant goes on, and the next trial's deadline would run meanwhile (it
        # counts from delivery); the runner fetches it after the click, and words the
        # pause before it by ``coming`` (a peek's answer, one request fewer).
        body["next"] = None
        after = plan.after(plan.by_public_id(public_id))
        if after is not None:
            body["coming"] = trials_service.coming(after, fixation_ms=study.fixation_ms)
    elif result.following is not None:
        # The next trial rides along: one request per trial fewer, for the participant
        # (it arrives during the fixation) and for the server.
        body["next"] = _payload(study, result.following, float(result.following.deadline_ms))
        _remember_served(result.following.id, now)
    else:  # the next one needs next_trial's checks (only the usual path leaves it so)
        assert caller is not None
        body["next"] = _next_payload(caller, now)
    get_connection().commit()
    return jsonify(body), 200 if result.duplicate else 201


#: what POST .../screen takes: name -> (smallest, largest) plausible value
SCREEN_FIELDS = {
    "screen_width": (1, 20_000),
    "screen_height": (1, 20_000),
    "window_width": (1, 20_000),
    "window_height": (1, 20_000),
    "device_pixel_ratio": (0.1, 16),
    "refresh_hz": (1, 1_000),
}


@bp.post("/screen")
def screen(slug: str):
    """The tab's screen and window size (CSS px), pixel ratio and measured refresh rate,
    stored on its browser session (the trial table's screen columns). Sent once per tab;
    a value out of range is refused, one left out stays empty."""
    caller = _caller(slug)
    body = _json_body()
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    values = {}
    for name, (low, high) in SCREEN_FIELDS.items():
        value = body.get(name)
        if value is None:
            continue
        value = answers_service.number(value, name)
        if not low <= value <= high:
            raise BadRequest(f"{name} must be between {low} and {high}")
        values[name] = round(value) if name.endswith(("_width", "_height")) else round(value, 3)
    if caller.browser_session_id is not None and values:
        connection = get_connection()
        connection.execute(
            sa.update(BrowserSession)
            .where(BrowserSession.id == caller.browser_session_id)
            .values(**values)
        )
        connection.commit()
    return jsonify(status="stored"), 201


@bp.post("/events")
def events(slug: str):
    caller = _caller(slug)
    body = _json_body()
    kind = body.get("kind") if isinstance(body, dict) else None
    if not isinstance(kind, str) or kind not in EVENT_KINDS:
        raise BadRequest(f"kind must be one of {sorted(EVENT_KINDS)}")
    t_ms = body.get("t_ms")
    if t_ms is not None:
        t_ms = answers_service.number(t_ms, "t_ms")
    trial_id = None
    if isinstance(body.get("trial_id"), str):
        trial = caller.plan.by_public_id(body["trial_id"])
        trial_id = trial.id if trial else None
    connection = get_connection()
    connection.execute(
        sa.insert(Event).values(
            participant_id=caller.participant_id,
            browser_session_id=caller.browser_session_id,
            trial_id=trial_id,
            kind=kind,
            client_t_ms=t_ms,
            detail={},
            created_at=site().clock(),
        )
    )
    connection.commit()
    return jsonify(status="stored"), 201
