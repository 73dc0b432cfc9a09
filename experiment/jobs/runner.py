"""Running one job: claim it, keep its heartbeat, record progress, log, result or reason.

A job is claimed by one conditional UPDATE (``queued`` -> ``running``), so a message
delivered twice runs once. While it runs, a heartbeat thread renews ``heartbeat_at``;
a worker killed mid-job (SIGKILL, out of memory, a machine gone) stops renewing it, and
:func:`reap_lost`, run by every worker, puts the job back in the queue or, after its
last attempt, marks it failed with the reason. A job still ``queued`` whose message the
queue no longer holds (Redis or the worker's queue file restarted empty) is found by
:func:`lost_messages` and sent again; a duplicate message is harmless, because only one
delivery can claim the job. Jobs write their files into a temporary
folder and rename it into place (``stimuli.generate``), so a killed job leaves nothing
half-made behind. An error the user caused (:class:`GlyphlabError`) fails the job with
its message and is not retried: the same input would fail again.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from experiment.config import SiteConfig
from experiment.models import Job, JobStatus, utcnow
from glyphlab.errors import GlyphlabError

log = logging.getLogger("glyphlab.jobs")
#: a job whose heartbeat is this many heartbeats old lost its worker
STALE_HEARTBEATS = 3
#: the log kept per job (the newest lines win)
MAX_LOG_CHARS = 20_000
#: progress is written at most this often (seconds), plus at the end
PROGRESS_EVERY_S = 0.3


@dataclass
class JobContext:
    """What a job kind gets: its settings, a database, and a way to report progress."""

    job_id: int
    config: SiteConfig
    sessionmaker: sessionmaker[Session]
    attempt: int
    _last_write: float = field(default=0.0, repr=False)

    def session(self) -> Session:
        """A new session (use as a context manager and commit what the job makes)."""
        return self.sessionmaker()

    def progress(self, fraction: float, message: str, *, force: bool = False) -> None:
        """Record how far the job is (0..1) and what it is doing (throttled)."""
        now = time.monotonic()
        if not force and now - self._last_write < PROGRESS_EVERY_S:
            return
        self._last_write = now
        _update(
            self.sessionmaker,
            self.job_id,
            progress=max(0.0, min(1.0, fraction)),
            message=message[:200],
            heartbeat_at=utcnow(),
        )

    def log(self, line: str) -> None:
        """Append one line to the job's log (shown on its page)."""
        append_log(self.sessionmaker, self.job_id, line)


#: kind name -> function(context, params) -> result (plain JSON values)
JobFunction = Callable[[JobContext, dict[str, Any]], dict[str, Any]]


def _update(make_session: sessionmaker[Session], job_id: int, **values: Any) -> int:
    with make_session() as session:
        count = session.execute(sa.update(Job).where(Job.id == job_id).values(**values)).rowcount
        session.commit()
        return count


def append_log(make_session: sessionmaker[Session], job_id: int, line: str) -> None:
    stamp = utcnow().strftime("%H:%M:%S")
    with make_session() as session:
        job = session.get(Job, job_id)
        if job is not None:
            job.log = (job.log + f"{stamp} {line}\n")[-MAX_LOG_CHARS:]
            session.commit()


def _claim(make_session: sessionmaker[Session], job_id: int, worker: str) -> Job | None:
    """Take a queued job (one UPDATE, so only one worker wins); None if not queued."""
    now = utcnow()
    with make_session() as session:
        claimed = session.execute(
            sa.update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.queued)
            .values(
                status=JobStatus.running,
                attempts=Job.attempts + 1,
                worker=worker[:200],
                started_at=now,
                heartbeat_at=now,
                message="started",
            )
        ).rowcount
        session.commit()
        return session.get(Job, job_id) if claimed else None


class Heartbeat:
    """Renews a running job's ``heartbeat_at`` every ``interval_s`` on its own thread."""

    def __init__(self, make_session: sessionmaker[Session], job_id: int, interval_s: float):
        self._stop = threading.Event()

        def beat() -> None:
            while not self._stop.wait(interval_s):
                try:
                    _update(make_session, job_id, heartbeat_at=utcnow())
                except Exception:  # the next beat tries again
                    log.exception("job %s: heartbeat failed", job_id)

        self._thread = threading.Thread(target=beat, name=f"heartbeat-{job_id}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def execute(
    make_session: sessionmaker[Session],
    config: SiteConfig,
    job_id: int,
    *,
    worker: str,
    heartbeat: bool = True,
) -> None:
    """Run job ``job_id`` if it is still queued; record its outcome. Never raises."""
    from experiment.jobs.kinds import JOB_KINDS

    job = _claim(make_session, job_id, worker)
    if job is None:
        return
    beat = Heartbeat(make_session, job_id, config.job_heartbeat_s) if heartbeat else None
    context = JobContext(job_id, config, make_session, attempt=job.attempts)
    append_log(make_session, job_id, f"attempt {job.attempts} of {job.max_attempts} on {worker}")
    try:
        result = JOB_KINDS[job.kind].run(context, dict(job.params))
    except GlyphlabError as error:
        _finish(make_session, job_id, JobStatus.failed, error=str(error))
    except Exception as error:
        append_log(make_session, job_id, traceback.format_exc())
        _finish(
            make_session,
            job_id,
            JobStatus.failed,
            error=f"internal error ({type(error).__name__}: {error}); the log has the details",
        )
    else:
        _finish(make_session, job_id, JobStatus.done, result=result)
    finally:
        if beat is not None:
            beat.stop()


def _finish(make_session, job_id: int, status: JobStatus, **values: Any) -> None:
    message = "finished" if status is JobStatus.done else "failed"
    append_log(make_session, job_id, values.get("error") or message)
    extra = {"progress": 1.0} if status is JobStatus.done else {}
    _update(
        make_session,
        job_id,
        status=status,
        message=message,
        finished_at=utcnow(),
        **extra,
        **values,
    )


def lost_reason(job: Job) -> str:
    return (
        f"The worker running this job stopped without finishing it (attempt {job.attempts} "
        f"of {job.max_attempts}: killed, crashed or out of memory). Nothing half-made was "
        "kept; start the job again, and if it keeps failing give the worker more memory."
    )


def reap_lost(make_session: sessionmaker[Session], config: SiteConfig) -> list[int]:
    """Jobs whose heartbeat stopped: requeue those with attempts left, fail the others.

    Returns the ids to enqueue again (the caller owns the queue).
    """
    cutoff = utcnow() - timedelta(seconds=STALE_HEARTBEATS * config.job_heartbeat_s)
    requeue = []
    with make_session() as session:
        lost = session.scalars(
            sa.select(Job).where(Job.status == JobStatus.running, Job.heartbeat_at < cutoff)
        ).all()
        for job in lost:
            line = f"worker {job.worker} stopped during attempt {job.attempts} (no heartbeat)"
            if job.attempts < job.max_attempts:
                job.status, job.message = JobStatus.queued, "retrying: the worker was lost"
                job.log = (job.log + f"{utcnow():%H:%M:%S} {line}; retrying\n")[-MAX_LOG_CHARS:]
                requeue.append(job.id)
            else:
                job.status, job.message, job.error = JobStatus.failed, "failed", lost_reason(job)
                job.finished_at = utcnow()
                job.log = (job.log + f"{utcnow():%H:%M:%S} {line}; giving up\n")[-MAX_LOG_CHARS:]
        session.commit()
    return requeue


def lost_messages(
    make_session: sessionmaker[Session], config: SiteConfig, pending: set[int]
) -> list[int]:
    """Queued jobs whose message is gone: not in ``pending`` (the ids the queue holds) and
    waiting longer than a lost worker's grace time. Returns their ids to enqueue again.

    A job waits from its creation, or from its last heartbeat when it was put back after
    a lost worker (that requeue sends a message of its own). Jobs are checked oldest
    first; each resend is written to the job's log.
    """
    cutoff = utcnow() - timedelta(seconds=STALE_HEARTBEATS * config.job_heartbeat_s)
    waiting_since = sa.func.coalesce(Job.heartbeat_at, Job.created_at)
    resend = []
    with make_session() as session:
        queued = session.scalars(
            sa.select(Job)
            .where(Job.status == JobStatus.queued, waiting_since < cutoff)
            .order_by(Job.id)
        ).all()
        for job in queued:
            if job.id in pending:
                continue
            line = "the queue no longer held this job's message (queue restarted?); sent again"
            job.log = (job.log + f"{utcnow():%H:%M:%S} {line}\n")[-MAX_LOG_CHARS:]
            job.heartbeat_at = utcnow()  # waits a full grace time before another resend
            resend.append(job.id)
        session.commit()
    return resend
