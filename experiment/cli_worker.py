"""``glyphlab worker``: run background jobs (stimulus sets, directions, reports, exports).

Reads the same GLYPHLAB_* settings as the site, so it finds the same database and the
same queue (``GLYPHLAB_QUEUE_URL``: the embedded SQLite file in the data folder by
default, or Redis for workers on several machines). ``glyphlab serve`` and ``glyphlab
demo`` start one worker by default. On start and then every heartbeat it looks for
jobs whose worker was killed, and retries or fails them.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time

import click

from experiment import db
from experiment.cli import _require_current_schema
from experiment.config import SiteConfig
from experiment.jobs.queue import JobQueue, reaper_thread


@click.command()
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Jobs run at once (threads; each job uses torch's own threads).",
)
def worker(workers: int) -> None:
    """Run background jobs from the site's queue until stopped (Ctrl-C)."""
    config = SiteConfig.from_env()
    _check_schema(config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    database = db.Database(config.database_url)
    queue = JobQueue(config, database)
    consumer = queue.consumer(workers)
    click.echo(f"glyphlab worker: {workers} at once, queue {_safe(config.queue_url)}")
    queue.reap()
    stop = threading.Event()
    reaper_thread(queue, stop)
    try:
        consumer.run()
    finally:
        stop.set()
        database.dispose()


def _check_schema(config: SiteConfig, *, patience_s: float = 60.0) -> None:
    """The schema check, waiting out a busy SQLite file: started beside ``glyphlab serve``
    on a loaded machine, the site's own start can hold the write lock for a while."""
    import sqlalchemy as sa

    deadline = time.monotonic() + patience_s
    while True:
        try:
            _require_current_schema(config)
            return
        except sa.exc.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1.0)


def _safe(url: str) -> str:
    return url.split("@")[-1] if "@" in url else url


def start_worker_process() -> subprocess.Popen:
    """``glyphlab worker`` as a child of this process (``serve`` and ``demo``), with the
    same environment; it shares the process group, so stopping the site stops it."""
    return subprocess.Popen([sys.executable, "-m", "glyphlab", "worker"], env=dict(os.environ))
