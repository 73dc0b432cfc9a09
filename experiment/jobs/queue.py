"""The task queue behind background jobs: Huey, on SQLite (embedded) or Redis (networked).

One setting, ``SiteConfig.queue_url``, picks the backend: ``sqlite:///<file>`` needs no
server (the site and ``glyphlab worker`` on one machine share the file), ``redis://``
lets workers on several machines take jobs, ``memory://`` keeps the queue inside one
process (tests). The queue carries only a job's id; the job's state lives in the
site's database (``experiment.models.Job``), so pages read the same on every backend,
and the reaper (``JobQueue.reap``, every worker, every heartbeat) recovers both a lost
worker (``runner.reap_lost``) and a lost message (``runner.lost_messages``).
"""

from __future__ import annotations

import logging
import socket
import threading
from pathlib import Path

from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey
from huey.consumer import Consumer

from experiment.config import ConfigError, SiteConfig
from experiment.db import Database
from experiment.jobs import runner

QUEUE_NAME = "glyphlab"
TASK_NAME = "glyphlab.run_job"

log = logging.getLogger("glyphlab.jobs")


def make_huey(queue_url: str) -> Huey:
    """The Huey instance for ``queue_url`` (results are kept in the job table instead)."""
    if queue_url.startswith("redis://"):
        return RedisHuey(QUEUE_NAME, url=queue_url, results=False)
    if queue_url.startswith("sqlite:///"):
        path = Path(queue_url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(QUEUE_NAME, filename=str(path), results=False)
    if queue_url == "memory://":
        return MemoryHuey(QUEUE_NAME, results=False)
    raise ConfigError(f"GLYPHLAB_QUEUE_URL {queue_url!r}: unknown queue backend")


class JobQueue:
    """Enqueue job ids, and run them (a worker's consumer, or ``run_pending`` in tests).

    The database is referenced, not its session factory, so tests that swap
    ``Database.sessionmaker`` for one on their rolled-back transaction run jobs on it.
    """

    def __init__(self, config: SiteConfig, database: Database) -> None:
        self.config = config
        self.database = database
        self.huey = make_huey(config.queue_url)
        self._task = self.huey.task(name=TASK_NAME)(self._run)

    @property
    def worker_name(self) -> str:
        return f"{socket.gethostname()}:{threading.get_native_id()}"

    def _run(self, job_id: int, *, heartbeat: bool = True) -> None:
        runner.execute(
            self.database.sessionmaker,
            self.config,
            job_id,
            worker=self.worker_name,
            heartbeat=heartbeat,
        )

    def enqueue(self, job_id: int) -> None:
        """Hand ``job_id`` to the workers (call after the job row is committed)."""
        self._task(job_id)

    def run_pending(self) -> int:
        """Run every queued job here and now, one by one; returns how many ran.

        For tests and the in-process ``memory://`` queue; a site never calls it from a
        request (``glyphlab worker`` does the work).
        """
        ran = 0
        while (task := self.huey.dequeue()) is not None:
            self._run(*task.args, heartbeat=False)
            ran += 1
        return ran

    def reap(self) -> list[int]:
        """Retry or fail jobs whose worker stopped (see ``runner.reap_lost``), then send
        again the queued jobs whose message the queue lost (``runner.lost_messages``).

        Returns the ids enqueued again, retries first.
        """
        requeue = runner.reap_lost(self.database.sessionmaker, self.config)
        for job_id in requeue:
            self.enqueue(job_id)
        resend = runner.lost_messages(self.database.sessionmaker, self.config, self.pending())
        for job_id in resend:
            self.enqueue(job_id)
        return requeue + resend

    def pending(self) -> set[int]:
        """Ids of the jobs whose messages wait in the queue (not yet taken by a worker)."""
        return {int(task.args[0]) for task in self.huey.pending() if task.args}

    def consumer(self, workers: int) -> Consumer:
        """Huey's consumer with ``workers`` threads (each runs one job at a time)."""
        if self.config.queue_url == "memory://":
            raise ConfigError(
                "GLYPHLAB_QUEUE_URL memory:// lives inside one process; a worker needs "
                "sqlite:///<file> or redis://host:6379/0"
            )
        return self.huey.create_consumer(
            workers=workers,
            worker_type="thread",
            periodic=False,
            check_worker_health=True,
            max_delay=1.0,  # an idle worker looks for new jobs every second at most
        )


def reaper_thread(queue: JobQueue, stop: threading.Event) -> threading.Thread:
    """A daemon thread that looks for lost jobs every heartbeat."""

    def loop() -> None:
        while not stop.wait(queue.config.job_heartbeat_s):
            try:
                queue.reap()
            except Exception:  # a database hiccup must not end the worker
                log.exception("looking for lost jobs failed; trying again")

    thread = threading.Thread(target=loop, name="glyphlab-reaper", daemon=True)
    thread.start()
    return thread
