"""The researcher dashboard: studies, their live progress, stimulus sets, the trial CSV.

Every view needs a logged-in researcher (the ``before_request`` guard below) and every
state change a CSRF token (the site-wide ``CSRFProtect`` of ``create_app``). A study of
another researcher answers 404, the same as a study that does not exist, so ids cannot
be probed. Views call the services and commit; a :class:`GlyphlabError` from a service
re-renders the form with its message and the transaction is rolled back, so nothing is
half-written.
"""

from __future__ import annotations

from pathlib import Path

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from experiment import site
from experiment.dashboard import operations
from experiment.db import get_session
from experiment.forms import StimulusSetForm, StudyForm
from experiment.models import Researcher, Study, StudyStatus
from experiment.services.progress import study_progress
from experiment.services.studies import StudyParams, create_study, set_status
from experiment.services.trial_table import trial_table_csv
from experiment.texts import all_texts
from glyphlab.errors import GlyphlabError

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
#: Study ids in URLs: 1 to the largest INTEGER the databases store; anything else is a
#: plain 404 before a query could overflow.
STUDY_ID = "int(min=1, max=2147483647):study_id"


@bp.before_request
@login_required
def _require_login() -> None:
    """Every dashboard route, present and future, needs a researcher."""


def _data_dir() -> Path:
    return site().config.data_dir


def _study_or_404(study_id: int) -> Study:
    study = operations.own_study(get_session(), current_user.id, study_id)
    if study is None:
        abort(404)
    return study


@bp.get("/")
def index() -> str:
    session = get_session()
    studies = operations.researcher_studies(session, current_user.id)
    progress = study_progress(session, [study.id for study in studies])
    return render_template("dashboard/index.html", studies=studies, progress=progress)


def study_form_for(session: Session, study: Study | None = None) -> tuple[StudyForm, list]:
    """The study form (filled from ``study`` when editing) and the sets it offers, each
    by the name in its config with its counts."""
    sets = operations.stimulus_sets(session)
    form = StudyForm(obj=study) if study is not None else StudyForm()
    form.stimulus_set.choices = [
        SelectChoice(str(item.id), operations.set_summary(site().stimulus_sets, item).label)
        for item in sets
    ]
    if study is not None and not form.is_submitted():
        form.stimulus_set.data = str(study.stimulus_set_id)
        form.target_present_percent.data = round(study.target_present_share * 100)
        for key, field in zip(all_texts(), form.text_fields(), strict=True):
            field.data = (study.texts or {}).get(key, "")
        form.submit.label.text = "Save changes"
    return form, sets


@bp.route("/studies/new", methods=["GET", "POST"])
def new_study() -> Response | str | tuple[str, int]:
    session = get_session()
    form, sets = study_form_for(session)
    if not sets:
        flash("Register or generate a stimulus set first.", "info")
        return redirect(url_for("dashboard.stimulus_sets"))
    if not form.is_submitted() and request.args.get("set"):  # "Create a study from this set"
        form.stimulus_set.data = request.args["set"]
    if form.validate_on_submit():
        chosen = next(item for item in sets if str(item.id) == form.stimulus_set.data)
        try:
            study = create_study(
                session,
                researcher=session.get(Researcher, current_user.id),
                stimulus_set_folder=chosen.folder,
                params=study_params(form),
            )
            session.commit()
        except GlyphlabError as error:
            session.rollback()
            form.form_errors.append(str(error))
        except IntegrityError:  # the same slug saved by a concurrent request
            session.rollback()
            form.form_errors.append("That short address was just taken; choose another.")
        else:
            flash(f"Study “{study.title}” created. Open it when you are ready.", "success")
            return redirect(url_for("dashboard.study", study_id=study.id))
    status = 400 if form.is_submitted() else 200
    return render_template("dashboard/new_study.html", form=form), status


@bp.get(f"/studies/<{STUDY_ID}>")
def study(study_id: int) -> str:
    found = _study_or_404(study_id)
    progress = study_progress(get_session(), [found.id])[found.id]
    return render_template(
        "dashboard/study.html",
        study=found,
        progress=progress,
        entry_url=participant_entry_url(found),
        design=operations.design_summary(
            found, site().stimulus_sets.get(found.stimulus_set.folder)
        ),
        stimulus_set=operations.set_summary(site().stimulus_sets, found.stimulus_set),
    )


@bp.get(f"/studies/<{STUDY_ID}>/progress.json")
def progress_json(study_id: int) -> dict:
    found = _study_or_404(study_id)
    return study_progress(get_session(), [found.id])[found.id].as_json()


@bp.post(f"/studies/<{STUDY_ID}>/<any(open, closed):status>")
def change_status(study_id: int, status: str) -> Response:
    session = get_session()
    found = _study_or_404(study_id)
    try:
        set_status(found, StudyStatus(status))
        session.commit()
    except GlyphlabError as error:
        session.rollback()
        flash(str(error), "error")
    else:
        flash(f"Study “{found.title}” is now {status}.", "success")
    return redirect(url_for("dashboard.study", study_id=study_id))


@bp.get(f"/studies/<{STUDY_ID}>/trials.csv")
def trials_csv(study_id: int) -> Response:
    found = _study_or_404(study_id)
    include_preview = request.args.get("preview") == "1"
    filename = f"glyphlab-{found.slug}-trials{'-with-previews' if include_preview else ''}.csv"
    return Response(
        trial_table_csv(get_session(), found.id, include_preview=include_preview),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@bp.route("/stimulus-sets", methods=["GET", "POST"])
def stimulus_sets() -> Response | str | tuple[str, int]:
    session = get_session()
    form = StimulusSetForm()
    status = 200
    if form.validate_on_submit():
        try:
            registered = operations.register_stimulus_set(
                session, data_dir=_data_dir(), folder=form.folder.data
            )
            session.commit()
        except GlyphlabError as error:
            session.rollback()
            form.folder.errors.append(str(error))
            status = 400
        else:
            flash(f"Stimulus set {registered.set_id} registered.", "success")
            return redirect(url_for("dashboard.stimulus_sets"))
    elif form.is_submitted():
        status = 400
    return render_template(
        "dashboard/stimulus_sets.html",
        form=form,
        sets=[
            operations.set_summary(site().stimulus_sets, item)
            for item in operations.stimulus_sets(session)
        ],
        data_dir=_data_dir(),
    ), status


@bp.post("/stimulus-sets/demo")
def generate_demo() -> Response:
    """Start the demo set as a background job and show its progress."""
    job = operations.start_demo_set(get_session(), site().jobs, researcher_id=current_user.id)
    return redirect(url_for("jobs.job", job_id=job.id))


def participant_entry_url(study: Study) -> str:
    """The address to send participants to (absolute, for pasting into Prolific)."""
    return url_for("participant.entry", slug=study.slug, _external=True)


def study_params(form: StudyForm) -> StudyParams:
    """The service's validated settings from a (shape-checked) form."""
    return StudyParams(
        title=form.title.data,
        slug=form.slug.data or None,
        encodings=tuple(form.encodings.data) or None,
        layouts=tuple(form.layouts.data),
        response_modes=tuple(form.response_modes.data),
        trials_per_participant=form.trials_per_participant.data,
        practice_trials=form.practice_trials.data,
        attention_checks=form.attention_checks.data,
        deadline_ms=form.deadline_ms.data,
        frame_ms=form.frame_ms.data,
        fixation_ms=500 if form.fixation_ms.data is None else form.fixation_ms.data,
        target_present_share=form.target_present_percent.data / 100,
        expected_minutes=form.expected_minutes.data,
        abandon_after_minutes=form.abandon_after_minutes.data or None,
        consent_text=form.consent_text.data,
        debrief_text=form.debrief_text.data,
        texts=form.text_overrides(),
        min_viewport_width=form.min_viewport_width.data,
        min_viewport_height=form.min_viewport_height.data,
        allow_phones=form.allow_phones.data,
        completion_code=form.completion_code.data or None,
        completion_url=form.completion_url.data or None,
        min_answered_trials=form.min_answered_trials.data,
    )


def init_app(app: Flask) -> None:
    from experiment.dashboard import lifecycle  # noqa: F401  (its views join ``bp``)

    app.register_blueprint(bp)
