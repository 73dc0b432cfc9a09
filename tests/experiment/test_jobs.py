"""Background jobs through the site: queued by a view, run by a worker, shown on pages.

The queue is ``memory://`` (one process); ``JobQueue.run_pending`` plays the worker on
the test's transaction. The real worker process, its SIGKILL and the Redis backend are
in ``tests/e2e/test_worker.py``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from experiment.jobs import runner, submit
from experiment.jobs.kinds import JOB_KINDS, JobKind
from experiment.models import Job, JobStatus, utcnow
from glyphlab.errors import GlyphlabError
from tests.experiment.researcher_data import add_researcher
from tests.experiment.test_auth import csrf_token, log_in
from tests.experiment.test_dashboard import take_study


@pytest.fixture
def logged_in(client, researcher):
    assert log_in(client).status_code == 302
    return client


@pytest.fixture
def queue(app):
    return app.extensions["glyphlab.site"].jobs


@pytest.fixture
def test_kind(monkeypatch):
    """A job kind the test adds itself (the registry is the only place kinds live)."""
    calls = []

    def run(context, params):
        calls.append(context.attempt)
        context.progress(0.5, "half way", force=True)
        context.log("working on it")
        if params.get("fail"):
            raise GlyphlabError("column 'age', row 3: log needs values above 0")
        if params.get("crash"):
            raise RuntimeError("boom")
        return {"answer": 42}

    monkeypatch.setitem(JOB_KINDS, "probe", JobKind("Probe", run))
    return calls


def test_a_job_runs_in_the_worker_and_its_page_shows_the_outcome(
    logged_in, db_session, researcher, queue, test_kind
):
    job = submit(db_session, queue, kind="probe", params={}, researcher_id=researcher.id)
    assert logged_in.get(f"/jobs/{job.id}.json").json["status"] == "queued"
    assert queue.run_pending() == 1
    state = logged_in.get(f"/jobs/{job.id}.json").json
    assert state["status"] == "done" and state["progress"] == 1.0 and state["attempts"] == 1
    assert "working on it" in state["log"] and "attempt 1 of 2" in state["log"]
    db_session.expire_all()
    assert db_session.get(Job, job.id).result == {"answer": 42}
    assert queue.run_pending() == 0 and test_kind == [1]


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"fail": True}, "column &#39;age&#39;, row 3: log needs values above 0"),
        ({"crash": True}, "internal error (RuntimeError: boom)"),
    ],
)
def test_a_failing_job_shows_its_reason_on_its_page(
    logged_in, db_session, researcher, queue, test_kind, params, reason
):
    job = submit(db_session, queue, kind="probe", params=params, researcher_id=researcher.id)
    queue.run_pending()
    page = logged_in.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "failed" in page and reason in page
    assert test_kind == [1], "an error is not retried: the same input fails again"


def test_a_message_delivered_twice_runs_the_job_once(db_session, researcher, queue, test_kind):
    job = submit(db_session, queue, kind="probe", params={}, researcher_id=researcher.id)
    queue.enqueue(job.id)
    assert queue.run_pending() == 2 and test_kind == [1]


def test_a_job_whose_worker_died_is_retried_then_failed_with_the_reason(
    db_session, researcher, queue, test_kind, site_config
):
    job = submit(db_session, queue, kind="probe", params={}, researcher_id=researcher.id)
    queue.huey.flush()  # the worker took the message, then was killed mid-job
    stale = utcnow() - timedelta(seconds=4 * site_config.job_heartbeat_s)

    def killed_mid_job() -> None:
        db_session.execute(
            sa.update(Job)
            .where(Job.id == job.id)
            .values(status=JobStatus.running, attempts=Job.attempts + 1, heartbeat_at=stale)
        )
        db_session.commit()

    killed_mid_job()
    assert queue.reap() == [job.id]
    db_session.expire_all()
    assert db_session.get(Job, job.id).status is JobStatus.queued
    queue.huey.flush()
    killed_mid_job()  # the second (last) attempt dies too
    assert queue.reap() == []
    db_session.expire_all()
    failed = db_session.get(Job, job.id)
    assert failed.status is JobStatus.failed and "stopped without finishing" in failed.error
    assert "attempt 2 of 2" in failed.error and test_kind == []


def test_a_queued_job_whose_message_was_lost_is_sent_again_once(
    db_session, researcher, queue, test_kind, site_config
):
    job = submit(db_session, queue, kind="probe", params={}, researcher_id=researcher.id)
    fresh = submit(db_session, queue, kind="probe", params={}, researcher_id=researcher.id)
    assert queue.pending() == {job.id, fresh.id}
    assert queue.reap() == [], "messages still in the queue are not sent twice"
    queue.huey.flush()  # Redis (or the worker's queue file) restarted empty
    assert queue.reap() == [], "a job that has waited less than the grace time is left"
    old = utcnow() - timedelta(seconds=4 * site_config.job_heartbeat_s)
    db_session.execute(sa.update(Job).where(Job.id == job.id).values(created_at=old))
    db_session.commit()
    assert queue.reap() == [job.id]
    assert queue.pending() == {job.id}
    assert queue.reap() == [], "sent once: the new message is in the queue"
    queue.huey.flush()
    assert queue.reap() == [], "after a resend the job waits a full grace time again"
    queue.enqueue(job.id)
    assert queue.run_pending() == 1 and test_kind == [1]
    db_session.expire_all()
    done = db_session.get(Job, job.id)
    assert done.status is JobStatus.done and "sent again" in done.log
    assert db_session.get(Job, fresh.id).status is JobStatus.queued


def test_a_live_job_is_left_alone(db_session, researcher, queue, test_kind):
    job = submit(db_session, queue, kind="probe", params={}, researcher_id=researcher.id)
    db_session.execute(
        sa.update(Job)
        .where(Job.id == job.id)
        .values(status=JobStatus.running, heartbeat_at=utcnow())
    )
    db_session.commit()
    assert runner.reap_lost(queue.database.sessionmaker, queue.config) == []


def test_another_researchers_job_is_not_found(logged_in, db_session, queue, test_kind):
    other = add_researcher(db_session)
    job = submit(db_session, queue, kind="probe", params={}, researcher_id=other.id)
    assert logged_in.get(f"/jobs/{job.id}").status_code == 404
    assert logged_in.get(f"/jobs/{job.id}.json").status_code == 404


def test_an_unknown_kind_is_refused(db_session, researcher, queue):
    with pytest.raises(GlyphlabError, match="unknown job kind"):
        submit(db_session, queue, kind="nope", params={}, researcher_id=researcher.id)


@pytest.mark.slow
def test_report_and_export_are_built_from_the_study_page(
    app, logged_in, study, stimulus_set, queue
):
    for number in range(6):
        take_study(app, stimulus_set, study.slug, pid=f"p{number}")
    page = logged_in.get(f"/dashboard/studies/{study.id}").get_data(as_text=True)
    assert "Build the report" in page and "Build the anonymised export" in page
    token = csrf_token(logged_in, f"/dashboard/studies/{study.id}")
    for kind in ("report", "export"):
        response = logged_in.post(f"/jobs/studies/{study.id}/{kind}", data={"csrf_token": token})
        assert response.status_code == 302
    assert queue.run_pending() == 2
    page = logged_in.get(f"/dashboard/studies/{study.id}").get_data(as_text=True)
    assert page.count("status-done") == 2, page
    jobs = {job.kind: job for job in queue.database.sessionmaker().scalars(sa.select(Job))}
    with logged_in.get(f"/jobs/{jobs['report'].id}/files/report") as report:
        assert report.mimetype == "text/html" and b"<h1>glyphlab: Site test" in report.data
        assert "style-src 'unsafe-inline'" in report.headers["Content-Security-Policy"]
    with logged_in.get(f"/jobs/{jobs['export'].id}/files/export") as export:
        assert export.mimetype == "application/zip" and export.data[:2] == b"PK"
