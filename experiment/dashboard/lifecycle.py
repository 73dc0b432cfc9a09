"""Dashboard views of a study's life cycle: preview, edit, duplicate, delete, close and
reopen with confirmation, and the participant list.

They hang on the dashboard blueprint (``bp``), so its login guard covers them; every
state change is a POST with the site-wide CSRF token, and anything irreversible
(closing, deleting) goes through a confirmation page first.
"""

from __future__ import annotations

import secrets

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from experiment import site
from experiment.dashboard.blueprint import (
    _study_or_404,
    bp,
    study_form_for,
    study_params,
)
from experiment.db import get_session
from experiment.models import Researcher, StudyStatus
from experiment.participant.pages import remember
from experiment.services import lifecycle
from experiment.services.external_ids import ExternalIds
from experiment.services.participant_list import participant_list
from experiment.services.participants import enrol
from glyphlab.errors import GlyphlabError


@bp.post("/studies/<int:study_id>/preview")
def preview(study_id: int) -> Response:
    """Enter the study as a flagged preview participant, whatever its state."""
    session = get_session()
    found = _study_or_404(study_id)
    participant = enrol(
        session,
        study=found,
        stimulus_set=site().stimulus_sets.get(found.stimulus_set.folder),
        key=ExternalIds("preview", secrets.token_urlsafe(12)).key(
            secret_key=site().config.secret_key,
            study_id=found.id,
            browser_nonce=secrets.token_urlsafe(12),
        ),
        now=site().clock(),
        preview=True,
    )
    session.commit()
    remember(found, participant)
    return redirect(url_for("participant.instructions", slug=found.slug))


@bp.post("/studies/<int:study_id>/previews/delete")
def delete_previews(study_id: int) -> Response:
    session = get_session()
    removed = lifecycle.delete_previews(session, _study_or_404(study_id))
    session.commit()
    flash(f"Deleted {removed} preview participant{'' if removed == 1 else 's'}.", "success")
    return redirect(url_for("dashboard.participants", study_id=study_id))


@bp.route("/studies/<int:study_id>/edit", methods=["GET", "POST"])
def edit_study(study_id: int) -> Response | str | tuple[str, int]:
    session = get_session()
    found = _study_or_404(study_id)
    if found.status != StudyStatus.draft:
        flash("Only a draft can be edited; duplicate the study to change it.", "error")
        return redirect(url_for("dashboard.study", study_id=study_id))
    form, sets = study_form_for(session, found)
    if form.validate_on_submit():
        chosen = next(item for item in sets if str(item.id) == form.stimulus_set.data)
        try:
            removed = lifecycle.update_draft(
                session, found, stimulus_set_folder=chosen.folder, params=study_params(form)
            )
            session.commit()
        except GlyphlabError as error:
            session.rollback()
            form.form_errors.append(str(error))
        except IntegrityError:
            session.rollback()
            form.form_errors.append("That short address was just taken; choose another.")
        else:
            note = f" {removed} preview participant(s) were deleted." if removed else ""
            flash(f"Study “{found.title}” saved.{note}", "success")
            return redirect(url_for("dashboard.study", study_id=study_id))
    status = 400 if form.is_submitted() else 200
    return render_template("dashboard/edit_study.html", form=form, study=found), status


@bp.post("/studies/<int:study_id>/duplicate")
def duplicate_study(study_id: int) -> Response:
    session = get_session()
    found = _study_or_404(study_id)
    try:
        copy = lifecycle.duplicate(
            session, found, researcher=session.get(Researcher, current_user.id)
        )
        session.commit()
    except GlyphlabError as error:
        session.rollback()
        flash(str(error), "error")
        return redirect(url_for("dashboard.study", study_id=study_id))
    flash(f"Copied into the draft “{copy.title}”; edit it before you open it.", "success")
    return redirect(url_for("dashboard.study", study_id=copy.id))


@bp.route("/studies/<int:study_id>/delete", methods=["GET", "POST"])
def delete_study(study_id: int) -> Response | str:
    session = get_session()
    found = _study_or_404(study_id)
    if request.method == "GET":
        return render_template(
            "dashboard/confirm.html",
            study=found,
            heading=f"Delete the draft “{found.title}”?",
            message="The study, its settings and its preview participants are removed. "
            "This cannot be undone.",
            action=url_for("dashboard.delete_study", study_id=study_id),
            button="Delete the draft",
        )
    try:
        lifecycle.delete_draft(session, found)
        session.commit()
    except GlyphlabError as error:
        session.rollback()
        flash(str(error), "error")
        return redirect(url_for("dashboard.study", study_id=study_id))
    flash(f"Draft “{found.title}” deleted.", "success")
    return redirect(url_for("dashboard.index"))


@bp.get("/studies/<int:study_id>/close")
def confirm_close(study_id: int) -> str:
    found = _study_or_404(study_id)
    return render_template(
        "dashboard/confirm.html",
        study=found,
        heading=f"Close “{found.title}”?",
        message="No one can enter any more; participants in the middle of it can finish. "
        "You can reopen it later.",
        action=url_for("dashboard.change_status", study_id=study_id, status="closed"),
        button="Close the study",
    )


@bp.get("/studies/<int:study_id>/participants")
def participants(study_id: int) -> str:
    found = _study_or_404(study_id)
    listing = participant_list(get_session(), found, now=site().clock())
    return render_template("dashboard/participants.html", study=found, listing=listing)
