"""Background jobs: work too long for a web request, run by ``glyphlab worker``.

Stimulus sets, hand-made directions, reports and exports are *jobs*: a row in the
``job`` table (what, whose, progress, log, result or the reason it failed) whose id
travels on a Huey task queue (``queue.py``: SQLite embedded by default, Redis for
several machines, one setting). ``runner.py`` runs one job and recovers the jobs of
workers that were killed; ``kinds/`` holds one module per kind of job.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from experiment.jobs.kinds import JOB_KINDS
from experiment.jobs.queue import JobQueue
from experiment.models import Job, JobStatus
from glyphlab.errors import GlyphlabError

__all__ = ["JOB_KINDS", "JobQueue", "own_job", "submit"]


def submit(
    session: Session,
    queue: JobQueue,
    *,
    kind: str,
    params: dict[str, Any],
    researcher_id: int | None,
    study_id: int | None = None,
    dedupe_key: str | None = None,
) -> Job:
    """Store a job and enqueue it; returns the job row.

    Commits before enqueueing, because a worker on another process must find the row
    when the message arrives. With ``dedupe_key`` (e.g. a set id), a queued or running
    job of the same kind and key is returned instead of starting a second one.
    """
    if kind not in JOB_KINDS:
        raise GlyphlabError(f"unknown job kind {kind!r}; known: {sorted(JOB_KINDS)}")
    if dedupe_key is not None:
        for job in session.scalars(
            sa.select(Job).where(
                Job.kind == kind, Job.status.in_([JobStatus.queued, JobStatus.running])
            )
        ):
            if job.params.get("dedupe_key") == dedupe_key:
                return job
        params = {**params, "dedupe_key": dedupe_key}
    job = Job(kind=kind, params=params, researcher_id=researcher_id, study_id=study_id)
    session.add(job)
    session.commit()
    queue.enqueue(job.id)
    return job


def own_job(session: Session, researcher_id: int, job_id: int) -> Job | None:
    """The job if it exists and the researcher started it, else None (so: 404)."""
    job = session.get(Job, job_id)
    return job if job is not None and job.researcher_id == researcher_id else None


def study_jobs(session: Session, study_id: int, limit: int = 10) -> list[Job]:
    """The study's newest jobs (reports, exports), for its page."""
    return list(
        session.scalars(
            sa.select(Job)
            .where(Job.study_id == study_id)
            .order_by(Job.created_at.desc(), Job.id.desc())
            .limit(limit)
        )
    )
