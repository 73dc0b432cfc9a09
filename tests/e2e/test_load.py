"""Many participants at once, and a server killed mid-run: exactly-once, nothing lost.

The small CI version of ``benchmarks/bench_load.py`` (which reports latencies): here we
assert on correctness only: zero errors, every participant finished, and the database
holds exactly the answers the site acknowledged, each once.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from experiment.loadgen import LoadConfig, LoadError, LoadResult, run_load
from tests.e2e.conftest import stored_answers

pytestmark = pytest.mark.slow


def assert_exactly_once(result, database_url: str, slug: str, participants: int) -> None:
    assert result.errors == []
    assert result.finished_participants == participants
    stored = stored_answers(database_url, slug)
    assert Counter(stored) == Counter(result.acknowledged)
    assert len({trial for trial, _key in stored}) == len(stored)


def quick_load_stored_once(
    site, slug: str, database_url: str, participants: int, *, ramp_s: float, time_limit_s: float
) -> LoadResult:
    """``participants`` who answer in 20 ms each, through ``site``; every one finished and
    every acknowledged answer stored once."""
    config = LoadConfig(
        base_url=site.url,
        slug=slug,
        participants=participants,
        ramp_s=ramp_s,
        think_ms=20.0,
        time_limit_s=time_limit_s,
    )
    result = run_load(config)
    assert_exactly_once(result, database_url, slug, participants)
    return result


@pytest.mark.parametrize(("backend", "participants"), [("sqlite", 12), ("postgresql", 24)])
def test_concurrent_participants_are_all_stored_once(served_study, backend, participants):
    site, slug, database_url = served_study(backend=backend)
    result = quick_load_stored_once(
        site, slug, database_url, participants, ramp_s=1.0, time_limit_s=240.0
    )
    per_participant = 3 + 1 + 1  # main (one per encoding) + practice + attention check
    assert len(result.acknowledged) == participants * per_participant


@pytest.mark.parametrize(
    ("backend", "server"),
    [("sqlite", None), ("postgresql", None), ("postgresql", "granian")],
    ids=["sqlite", "postgresql", "postgresql-granian"],
)
def test_killed_server_loses_no_acknowledged_answer(served_study, backend, server):
    """SIGKILL the site mid-run and start it again: participants resume, nothing lost."""
    site, slug, database_url = served_study(
        backend=backend, server=server, trials_per_participant=6
    )
    participants = 10
    config = LoadConfig(
        base_url=site.url,
        slug=slug,
        participants=participants,
        ramp_s=0.5,
        think_ms=150.0,
        retry_window_s=90.0,
        time_limit_s=240.0,
    )
    outcome: dict = {}
    runner = threading.Thread(target=lambda: outcome.setdefault("result", run_load(config)))
    runner.start()
    deadline = time.monotonic() + 120
    while len(stored_answers(database_url, slug)) < 25:
        assert time.monotonic() < deadline, "the load never got going"
        time.sleep(0.1)
    site.kill()
    killed_at = len(stored_answers(database_url, slug))
    time.sleep(1.0)
    site.start()
    runner.join(timeout=240)
    assert not runner.is_alive()
    result = outcome["result"]
    assert result.retries > 0, "the kill should have interrupted someone"
    assert len(result.acknowledged) > killed_at
    assert_exactly_once(result, database_url, slug, participants)


def test_load_generator_refuses_non_loopback_targets():
    with pytest.raises(LoadError, match="loopback"):
        LoadConfig(base_url="http://10.0.0.5:5000", slug="x")


@pytest.mark.parametrize(
    ("backend", "server"),
    [("sqlite", None), ("postgresql", None), ("postgresql", "granian")],
    ids=["sqlite", "postgresql", "postgresql-granian"],
)
def test_many_open_connections_do_not_lock_out_a_new_participant(served_study, backend, server):
    """Browsers keep their connections open between requests (several per participant).
    With waitress's default limit of 100 connections, the 101st waited for an idle one to
    time out (two minutes): a new participant's first page must still come at once."""
    from http.client import HTTPConnection

    import httpx

    site, slug, _database_url = served_study(backend=backend, server=server)
    idle = []
    try:
        for _ in range(300):
            connection = HTTPConnection("127.0.0.1", site.port, timeout=20)
            idle.append(connection)
            connection.request("GET", "/login")  # HTTP/1.1: the connection stays open
            assert connection.getresponse().read()
        started = time.perf_counter()
        page = httpx.get(f"{site.url}/s/{slug}/", params={"pid": "late-comer"}, timeout=20.0)
        assert page.status_code == 200 and "consent" in page.text.lower()
        assert time.perf_counter() - started < 10.0
    finally:
        for connection in idle:
            connection.close()
