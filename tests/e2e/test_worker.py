"""``glyphlab worker`` as a real process: SIGKILL mid-job, and the Redis backend.

A stimulus-set job is killed with SIGKILL while it renders. Nothing of the set may be
left where sets live (no folder named by its id, no registered set); a new worker
finds the job silent, retries it and finishes the set, or, on its last attempt, marks
it failed with the reason. The same job also runs through Redis (``redis://``), the
backend for workers on several machines; CI makes sure a Redis server is running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from experiment import db
from experiment.config import SiteConfig
from experiment.jobs import JobQueue, submit
from experiment.models import Job, JobStatus, Researcher, StimulusSet
from stimuli import StimulusSetConfig
from tests.conftest import missing

REDIS_URL = os.environ.get("GLYPHLAB_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
HEARTBEAT_S = 0.3

pytestmark = pytest.mark.slow


def slow_config(seed: int) -> StimulusSetConfig:
    """A set that takes several seconds: many Chernoff datasets, each a sequence."""
    return StimulusSetConfig.from_dict(
        {
            "name": "worker-kill",
            "seed": seed,
            "video": False,
            "datasets": [{"count": 60, "n_items": 40, "n_features": 4, "n_outliers": 1}],
            "conditions": [
                {"encoding": "chernoff", "layout": "grid"},
                {"encoding": "chernoff", "layout": "sequence"},
            ],
            "encoding_params": {"chernoff": {"size_px": 160}},
        }
    )


class Site:
    """A site's data folder, database and queue, and its worker processes."""

    def __init__(self, folder: Path, queue_url: str) -> None:
        self.env = {
            **os.environ,
            "GLYPHLAB_DATA_DIR": str(folder),
            "GLYPHLAB_DATABASE_URL": f"sqlite:///{folder / 'glyphlab.sqlite3'}",
            "GLYPHLAB_QUEUE_URL": queue_url,
            "GLYPHLAB_JOB_HEARTBEAT_S": str(HEARTBEAT_S),
            "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        }
        self.config = SiteConfig.from_env(self.env)
        db.upgrade(self.config.database_url)
        self.database = db.Database(self.config.database_url)
        self.queue = JobQueue(self.config, self.database)
        self.log = folder / "worker.log"
        self.workers: list[subprocess.Popen] = []

    def start_worker(self) -> subprocess.Popen:
        with self.log.open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "glyphlab", "worker"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.workers.append(process)
        return process

    def submit(self, config: StimulusSetConfig, *, max_attempts: int = 2) -> int:
        with self.database.sessionmaker() as session:
            researcher = Researcher(email="w@example.org", password_hash="x")
            session.add(researcher)
            session.commit()
            job = submit(
                session,
                self.queue,
                kind="stimulus_set",
                params={"config": config.to_dict()},
                researcher_id=researcher.id,
            )
            job.max_attempts = max_attempts
            session.commit()
            return job.id

    def job(self, job_id: int) -> Job:
        with self.database.sessionmaker() as session:
            return session.get(Job, job_id)

    def wait(self, job_id: int, until, timeout_s: float = 240.0) -> Job:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            job = self.job(job_id)
            if until(job):
                return job
            time.sleep(0.1)
        raise AssertionError(f"job {job_id} stuck: {job.status} {job.message}\n{self.log_text()}")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def close(self) -> None:
        for process in self.workers:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.database.dispose()


@pytest.fixture
def make_site(tmp_path: Path):
    sites: list[Site] = []

    def make(queue_url: str | None = None) -> Site:
        folder = tmp_path / f"site{len(sites)}"
        site = Site(folder, queue_url or f"sqlite:///{folder / 'queue.sqlite3'}")
        sites.append(site)
        return site

    yield make
    for site in sites:
        site.close()


def mid_job(job: Job) -> bool:
    """Running and past its first stimulus, well before the set is registered (at 0.97).
    The first stimulus's progress is written at once and the rest at most every 0.3 s,
    so on a fast machine the next write can already be past half way."""
    return job.status is JobStatus.running and 0.0 < job.progress < 0.9


def assert_no_set(site: Site, set_id: str) -> None:
    sets = site.config.data_dir / "stimuli"
    assert not (sets / set_id).exists(), "a half-written set is where sets live"
    with site.database.sessionmaker() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(StimulusSet)) == 0


@pytest.mark.parametrize("max_attempts", [2, 1])
def test_a_worker_killed_mid_job_leaves_no_set_and_the_job_is_retried_or_failed(
    make_site, seed, max_attempts
):
    site = make_site()
    config = slow_config(seed)
    job_id = site.submit(config, max_attempts=max_attempts)
    first = site.start_worker()
    site.wait(job_id, mid_job)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert_no_set(site, config.set_id)
    assert site.job(job_id).status is JobStatus.running  # nobody knows yet
    site.start_worker()
    if max_attempts == 2:
        job = site.wait(job_id, lambda job: job.status is JobStatus.done)
        assert job.attempts == 2 and "stopped during attempt 1" in job.log
        folder = Path(job.result["folder"])
        assert folder == site.config.data_dir / "stimuli" / config.set_id
        assert (folder / "manifest.json").is_file()
        assert not list(folder.parent.glob(f".{config.set_id}-*")), "leftovers removed"
    else:
        job = site.wait(job_id, lambda job: job.status is JobStatus.failed)
        assert "stopped without finishing it (attempt 1 of 1" in job.error
        assert_no_set(site, config.set_id)


@pytest.fixture
def redis_url() -> str:
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        client.ping()
    except Exception as error:
        missing("REDIS", f"Redis not reachable at {REDIS_URL}: {error}")
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
    client.close()


def test_jobs_run_through_redis(make_site, redis_url, seed):
    site = make_site(redis_url)
    config = StimulusSetConfig.from_dict(
        {
            "seed": seed,
            "datasets": [{"count": 2, "n_items": 6, "n_features": 3, "n_outliers": 1}],
            "conditions": [{"encoding": "chernoff"}],
        }
    )
    job_id = site.submit(config)
    assert len(site.queue.huey) == 1, "the message waits in Redis"
    site.start_worker()
    job = site.wait(job_id, lambda job: job.status is JobStatus.done, timeout_s=120)
    assert (Path(job.result["folder"]) / "manifest.json").is_file()
    assert len(site.queue.huey) == 0


def test_a_job_whose_message_redis_lost_is_sent_again_by_the_worker(make_site, redis_url, seed):
    site = make_site(redis_url)
    config = StimulusSetConfig.from_dict(
        {
            "seed": seed,
            "datasets": [{"count": 1, "n_items": 6, "n_features": 3, "n_outliers": 1}],
            "conditions": [{"encoding": "chernoff"}],
        }
    )
    job_id = site.submit(config)
    site.queue.huey.flush()  # Redis restarted empty while the job was queued
    assert site.queue.pending() == set()
    site.start_worker()  # its reaper finds the job after the grace time and sends it again
    job = site.wait(job_id, lambda job: job.status is JobStatus.done, timeout_s=120)
    assert job.attempts == 1 and "sent again" in job.log
    assert (Path(job.result["folder"]) / "manifest.json").is_file()
