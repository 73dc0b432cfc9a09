"""Participant pages: entry -> consent -> instructions -> runner -> debrief.

Which participant a browser is, per study, lives in the signed session cookie
(HttpOnly, SameSite=Lax); everything else (progress, answers) is server-side state, so
a reload resumes at the next unanswered trial and a finished participant cannot start
again, whatever the browser does. Between the study link and consent the cookie holds
the enrolment key (hashes only, services/external_ids.py). A study link with a known
external id resumes that participant only with the same session (the same Prolific
``SESSION_ID``, or the same browser); otherwise the page says to continue where they
started. The completion code is shown only to participants who answered the study's
minimum of main trials in time.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict

import sqlalchemy as sa
from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import get_locale, gettext
from markupsafe import Markup
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from analysis.response_modes import ResponseMode, mode_named
from analysis.response_modes.base import params_from_dict
from experiment import site
from experiment.db import get_session, read_only_session
from experiment.errors import BadRequest
from experiment.models import Participant, ParticipantStatus, Study, Trial
from experiment.participant.screen_check import is_phone
from experiment.services import participants as participants_service
from experiment.services.external_ids import EnrolmentKey, ExternalIds
from experiment.services.participants import Enrolled, StudyPage, require_open
from experiment.services.plans import first_open_state
from experiment.services.practice_help import WorkedExample, worked_examples
from experiment.services.trials import coming
from experiment.texts import all_texts, render_markdown, study_texts

bp = Blueprint("participant", __name__, url_prefix="/s/<slug>")


def texts_for(study: StudyPage) -> dict[str, str]:
    """Every participant text of ``study``: its researcher's, else the site's default in
    the site's language. The translated defaults are made once per process and locale
    (about forty ``gettext`` calls were a sixth of each participant page's CPU)."""
    locale = str(get_locale())
    defaults = site().default_texts.get(locale)
    if defaults is None:
        defaults = site().default_texts[locale] = study_texts({}, all_texts(), translate=gettext)
    overrides = study.texts or {}
    return {key: overrides.get(key) or text for key, text in defaults.items()}


@bp.app_context_processor
def _texts() -> dict:
    return {"texts_for": texts_for}


@bp.app_template_filter("markdown")
def _markdown(text: str) -> Markup:
    return render_markdown(text)


def _study(slug: str) -> StudyPage:
    """The study at ``slug``: its status read now, the rest kept while it is not a draft."""
    return site().study_pages.get(get_session(), slug)


def _cookie_key(study: Study | StudyPage) -> str:
    return f"participant-{study.id}"


def _participant(study: StudyPage) -> Enrolled | None:
    return participants_service.participant_in_study(
        get_session(), study, session.get(_cookie_key(study))
    )


def remember(study: Study | StudyPage, participant: Participant | Enrolled) -> None:
    """Tie this browser to ``participant`` (also the dashboard's preview does this)."""
    session[_cookie_key(study)] = participant.id


def _earned(study: StudyPage, participant: Enrolled) -> tuple[int, bool]:
    """(main trials answered in time, whether that earns the completion code)."""
    answered = participants_service.answered_in_time(get_session(), participant)
    return answered, answered >= study.min_answered_trials


def _already_done(study: StudyPage, participant: Enrolled | None = None) -> tuple[str, int]:
    """The "you took part already" page; the completion code only for the participant's
    own browser (``participant`` given) and only if they earned it."""
    earned = participant is not None and _earned(study, participant)[1]
    return render_template("participant/already_done.html", study=study, earned=earned), 403


def _enrolment_key(study: StudyPage, ids: ExternalIds) -> EnrolmentKey:
    """``ids`` as hashes, with this browser's nonce standing in for a missing SESSION_ID."""
    nonce = session.setdefault("browser_nonce", secrets.token_urlsafe(16))
    return ids.key(secret_key=site().config.secret_key, study_id=study.id, browser_nonce=nonce)


@bp.get("/")
def entry(slug: str):
    """The study link (also with ?PROLIFIC_PID=...&STUDY_ID=...&SESSION_ID=... or ?pid=)."""
    db_session = read_only_session()  # it only reads; the enrolment key goes in the cookie
    study = _study(slug)
    ids = ExternalIds.from_query(request.args)
    participant = _participant(study)
    key = None
    if participant is None and ids.participant_id is not None:
        key = _enrolment_key(study, ids)
        returning = participants_service.returning_participant(db_session, study=study, key=key)
        if returning is not None and returning.status == ParticipantStatus.finished:
            return _already_done(study)  # not remembered: the debrief is theirs alone
        participant = returning
    if participant is not None:
        remember(study, participant)
        if participant.status == ParticipantStatus.finished:
            return _already_done(study, participant)
        return redirect(url_for("participant.run", slug=slug))
    require_open(study)
    if not study.allow_phones and is_phone(request.headers.get("User-Agent", "")):
        return render_template("participant/phone_refused.html", study=study)
    if key is None:
        # No recruitment id: a random one for this browser, so a consent form submitted
        # twice (double click) enrols once: the second submit finds the first's id.
        key = _enrolment_key(study, ExternalIds("browser", secrets.token_urlsafe(16)))
    session[f"enrolment-{study.id}"] = asdict(key)
    return render_template("participant/consent.html", study=study)


@bp.post("/consent")
def consent(slug: str) -> Response:
    db_session = get_session()
    study = _study(slug)
    if request.form.get("consent") != "yes":
        raise BadRequest("Tick the box to say you agree before starting, or close the page.")
    if _participant(study) is None:
        stored = session.get(f"enrolment-{study.id}")
        if not isinstance(stored, dict):  # consent posted without opening the study link
            return redirect(url_for("participant.entry", slug=slug))
        # the study's design from the process's cache (an open study's is fixed) and
        # the set's folder as read in this request (a moved set must fail here, not be
        # served)
        participant = participants_service.enrol(
            db_session,
            study=study,
            stimulus_set=site().stimulus_sets.get(study.folder),
            key=EnrolmentKey(**stored),
            now=site().clock(),
            seed=site().plan_seed(),
            designs=site().plans,
        )
        db_session.commit()
        remember(study, participant)
    return redirect(url_for("participant.instructions", slug=slug))


@bp.post("/decline")
def decline(slug: str) -> str:
    """Someone does not want to take part: counted, and nothing else is kept (the
    enrolment key in their cookie is dropped too)."""
    db_session = get_session()
    study = _study(slug)
    require_open(study)
    db_session.execute(
        sa.update(Study).where(Study.id == study.id).values(declined_count=Study.declined_count + 1)
    )
    db_session.commit()
    session.pop(f"enrolment-{study.id}", None)
    return render_template("participant/declined.html", study=study)


def _enrolled(slug: str) -> tuple[StudyPage, Enrolled | None]:
    study = _study(slug)
    return study, _participant(study)


@bp.get("/instructions")
def instructions(slug: str):
    read_only_session()  # the page only reads; the helpers below get this session
    study, participant = _enrolled(slug)
    if participant is None:
        return redirect(url_for("participant.entry", slug=slug))
    answering = [
        mode.instructions(params_from_dict(mode.Params, study.response_mode_params.get(mode.name)))
        for mode in _modes(study)
    ]
    return render_template(
        "participant/instructions.html",
        study=study,
        answering=answering,
        examples=_worked_examples(study, participant),
    )


def _worked_examples(study: StudyPage, participant: Enrolled) -> list[WorkedExample]:
    """One worked example per encoding of the study, from the set's practice data,
    avoiding the datasets of the participant's own practice trials where it can."""
    stimulus_set = site().stimulus_sets.get(study.folder)
    own = get_session().scalars(
        sa.select(Trial.stimulus_id).where(
            Trial.participant_id == participant.id, Trial.is_practice
        )
    )
    avoid = {stimulus_set.stimuli[s]["dataset_id"] for s in own if s in stimulus_set.stimuli}
    return worked_examples(stimulus_set, list(study.encodings), avoid_datasets=avoid)


@bp.get("/run")
def run(slug: str):
    study, participant = _enrolled(slug)
    if participant is None:
        return redirect(url_for("participant.entry", slug=slug))
    if participant.status == ParticipantStatus.finished:
        return redirect(url_for("participant.debrief", slug=slug))
    db_session = get_session()
    token = participants_service.open_browser_session(
        db_session,
        participant=participant,
        user_agent=request.headers.get("User-Agent", ""),
        now=site().clock(),
    )
    # read in the same transaction: after the commit they would open another (its BEGIN
    # and ROLLBACK, two round trips more)
    coming_first = _coming(db_session, study, participant, token=token)
    db_session.commit()
    return render_template(
        "participant/run.html",
        study=study,
        token=token,
        coming=coming_first,
        modes=_modes(study),
        runner_texts=texts_for(study),
        # the API's base path, whatever the slug (one starting with "next" included)
        api_base=url_for("participant_api.next_trial", slug=slug).removesuffix("/next"),
    )


def _coming(
    db_session: Session, study: StudyPage, participant: Enrolled, *, token: str
) -> dict | None:
    """What the runner's first pause says (a peek's answer, so the runner need not ask):
    the participant's first open trial, from the plan the tab's API calls use next."""
    connection = db_session.connection()
    first = first_open_state(connection, participant.id)
    if first is None:
        return None
    plan = site().plans.plan(connection, participant.id, study_id=study.id, token=token)
    return coming(plan.by_id(first.id), fixation_ms=study.fixation_ms)


def _modes(study: StudyPage) -> list[ResponseMode]:
    """The study's response modes, in name order."""
    return [mode_named(name) for name in study.response_modes]


@bp.get("/debrief")
def debrief(slug: str):
    read_only_session()  # the page only reads; the helpers below get this session
    study, participant = _enrolled(slug)
    if participant is None:
        return redirect(url_for("participant.entry", slug=slug))
    if participant.status != ParticipantStatus.finished:
        return redirect(url_for("participant.run", slug=slug))
    answered, earned = _earned(study, participant)
    return render_template(
        "participant/debrief.html",
        study=study,
        participant=participant,
        answered=answered,
        earned=earned,
    )
