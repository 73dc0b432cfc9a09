"""Job pages: a job's progress, log and outcome, its files, and the study page's buttons.

Every route needs a logged-in researcher; a job another researcher started answers 404.
The page polls ``/jobs/<id>.json`` while the job is queued or running (``jobs.js``).
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, abort, flash, redirect, render_template, send_file, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from experiment import site
from experiment.dashboard import operations
from experiment.db import get_session
from experiment.jobs import JOB_KINDS, own_job, submit
from experiment.jobs.kinds.analysis_files import job_dir
from experiment.models import Job, JobStatus

bp = Blueprint("jobs", __name__, url_prefix="/jobs")
#: the report is a self-contained HTML file with its own styles and data: images
REPORT_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data: 'self'"


@bp.before_request
@login_required
def _require_login() -> None:
    """Every job route needs a researcher."""


def _job_or_404(job_id: int) -> Job:
    job = own_job(get_session(), current_user.id, job_id)
    if job is None:
        abort(404)
    return job


def job_json(job: Job) -> dict:
    """What the job page shows, for polling."""
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status.value,
        "progress": round(job.progress, 3),
        "message": job.message,
        "log": job.log,
        "error": job.error,
        "attempts": job.attempts,
        "finished": job.status in (JobStatus.done, JobStatus.failed),
    }


@bp.get("/<int:job_id>")
def job(job_id: int) -> str:
    found = _job_or_404(job_id)
    return render_template("jobs/job.html", job=found, title=JOB_KINDS[found.kind].title)


@bp.get("/<int:job_id>.json")
def job_status(job_id: int) -> dict:
    return job_json(_job_or_404(job_id))


@bp.get("/<int:job_id>/files/<name>")
def job_file(job_id: int, name: str) -> Response:
    """A file the job made (``result["files"][name]``): the report shown, the zip saved."""
    found = _job_or_404(job_id)
    files = (found.result or {}).get("files", {})
    if found.status is not JobStatus.done or name not in files:
        abort(404)
    home = job_dir(site().config.data_dir, found.id).resolve()
    path = (home / files[name]).resolve()
    if not path.is_relative_to(home) or not path.is_file():
        abort(404)
    return _send(path, found)


def _send(path: Path, found: Job) -> Response:
    if path.suffix == ".png":
        return send_file(path, mimetype="image/png", max_age=0)
    if path.suffix == ".html":
        response = send_file(path, mimetype="text/html", max_age=0)
        response.headers["Content-Security-Policy"] = REPORT_POLICY
        return response
    return send_file(
        path, as_attachment=True, download_name=f"glyphlab-{found.kind}-{found.id}{path.suffix}"
    )


@bp.get("/<int:job_id>/config.toml")
def job_config(job_id: int) -> Response:
    """The TOML of a stimulus-set job made in the studio (for ``glyphlab stimuli generate``)."""
    found = _job_or_404(job_id)
    text = found.params.get("toml")
    if not text:
        abort(404)
    name = f"{found.params.get('dedupe_key') or found.id}.toml"
    return Response(
        text,
        mimetype="application/toml",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.post("/studies/<int:study_id>/<any(report, export):kind>")
def start_study_job(study_id: int, kind: str) -> Response:
    """Build the study's report or export in the background; back to the study page."""
    session = get_session()
    study = operations.own_study(session, current_user.id, study_id)
    if study is None:
        abort(404)
    started = submit(
        session,
        site().jobs,
        kind=kind,
        params={"study_id": study.id},
        researcher_id=current_user.id,
        study_id=study.id,
    )
    flash(f"{JOB_KINDS[kind].title} job {started.id} started.", "success")
    return redirect(url_for("dashboard.study", study_id=study_id) + "#analysis")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.context_processor
    def _jobs_for_templates() -> dict:
        from experiment.jobs import study_jobs

        return {"study_jobs": lambda study: study_jobs(get_session(), study.id)}
