"""Participant pages: entry -> consent -> instructions -> runner -> debrief.

Which participant a browser is, per study, lives in the signed session cookie
(HttpOnly, SameSite=Lax); everything else (progress, answers) is server-side state, so
a reload resumes at the next unanswered trial and a finished participant cannot start
again, whatever the browser does.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict

from flask import Blueprint, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from analysis.response_modes import mode_named
from experiment import site
from experiment.db import get_session
from experiment.errors import BadRequest
from experiment.models import Participant, ParticipantStatus, Study
from experiment.services import participants as participants_service
from experiment.services.participants import ExternalIds, find_study, require_open

bp = Blueprint("participant", __name__, url_prefix="/s/<slug>")


def _cookie_key(study: Study) -> str:
    return f"participant-{study.id}"


def _participant(study: Study) -> Participant | None:
    return participants_service.participant_in_study(
        get_session(), study, session.get(_cookie_key(study))
    )


def _remember(study: Study, participant: Participant) -> None:
    session[_cookie_key(study)] = participant.id


def _already_done(study: Study) -> tuple[str, int]:
    return render_template("participant/already_done.html", study=study), 403


@bp.get("/")
def entry(slug: str):
    """The study link (also with ?PROLIFIC_PID=...&STUDY_ID=...&SESSION_ID=... or ?pid=)."""
    db_session = get_session()
    study = find_study(db_session, slug)
    ids = ExternalIds.from_query(request.args)
    participant = _participant(study) or participants_service.returning_participant(
        db_session, study=study, ids=ids, secret_key=site().config.secret_key
    )
    if participant is not None:
        _remember(study, participant)
        if participant.status == ParticipantStatus.finished:
            return _already_done(study)
        return redirect(url_for("participant.run", slug=slug))
    require_open(study)
    if ids.participant_id is None:
        # No recruitment id: a random one for this browser, so a consent form submitted
        # twice (double click) enrols once: the second submit finds the first's id.
        ids = ExternalIds("browser", secrets.token_urlsafe(16))
    session[f"external-{study.id}"] = asdict(ids)
    return render_template("participant/consent.html", study=study)


@bp.post("/consent")
def consent(slug: str) -> Response:
    db_session = get_session()
    study = find_study(db_session, slug)
    if request.form.get("consent") != "yes":
        raise BadRequest("Tick the box to say you agree before starting, or close the page.")
    if _participant(study) is None:
        ids = ExternalIds(**session.get(f"external-{study.id}", {}))
        participant = participants_service.enrol(
            db_session,
            study=study,
            stimulus_set=site().stimulus_sets.get(study.stimulus_set.folder),
            ids=ids,
            secret_key=site().config.secret_key,
            now=site().clock(),
        )
        db_session.commit()
        _remember(study, participant)
    return redirect(url_for("participant.instructions", slug=slug))


def _enrolled(slug: str) -> tuple[Study, Participant | None]:
    study = find_study(get_session(), slug)
    return study, _participant(study)


@bp.get("/instructions")
def instructions(slug: str):
    study, participant = _enrolled(slug)
    if participant is None:
        return redirect(url_for("participant.entry", slug=slug))
    modes = sorted({c.response_mode for c in study.conditions})
    return render_template("participant/instructions.html", study=study, modes=modes)


@bp.get("/run")
def run(slug: str):
    study, participant = _enrolled(slug)
    if participant is None:
        return redirect(url_for("participant.entry", slug=slug))
    if participant.status == ParticipantStatus.finished:
        return redirect(url_for("participant.debrief", slug=slug))
    db_session = get_session()
    browser_session = participants_service.open_browser_session(
        db_session,
        participant=participant,
        user_agent=request.headers.get("User-Agent", ""),
        now=site().clock(),
    )
    db_session.commit()
    modes = [mode_named(name) for name in sorted({c.response_mode for c in study.conditions})]
    return render_template(
        "participant/run.html", study=study, token=browser_session.token, modes=modes
    )


@bp.get("/debrief")
def debrief(slug: str):
    study, participant = _enrolled(slug)
    if participant is None:
        return redirect(url_for("participant.entry", slug=slug))
    if participant.status != ParticipantStatus.finished:
        return redirect(url_for("participant.run", slug=slug))
    return render_template("participant/debrief.html", study=study, participant=participant)
