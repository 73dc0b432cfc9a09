"""The internet deployment of docs/deploy.md, end to end: nginx terminating TLS in front of
two granian app servers on one PostgreSQL (tests/e2e/proxy_deployment.py).

Before issue 15 this set-up could not collect data: every ``start``/``answer`` was a 403
(same-origin check against ``http://``), consent and researcher login were 400 (Flask-WTF
wanted a Referer that ``Referrer-Policy: no-referrer`` suppressed), and 17 connections
trickling a body took gunicorn offline. Here a participant and a researcher use it in
Chromium, trickling clients are held off by nginx, nothing served reveals the truth, and
killing one app server mid-run loses no acknowledged answer.
"""

from __future__ import annotations

import base64
import json
import socket
import ssl
import threading
import time
import uuid
from collections import Counter

import httpx
import pytest
import sqlalchemy as sa

from experiment.loadgen import LoadConfig, run_load
from experiment.models import Response, Study, Trial
from experiment.services.studies import StudyParams
from glyphlab.site_process import open_study, site_environment, site_session
from tests.conftest import missing
from tests.e2e.conftest import stored_answers as stored_keys
from tests.e2e.proxy_deployment import (
    SERVER_NAME,
    Deployment,
    nginx_binary,
    nginx_for,
    start_app_servers,
)
from tests.e2e.test_browser_study import Participant, wait_for_a_screen
from tests.experiment.participant_client import some_answer
from tests.experiment.test_no_leak import DATA_URI, media_bytes_of, secrets_of

pytestmark = [pytest.mark.slow]
EMAIL = "deploy@example.org"


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, e2e_stimulus_set, postgres_database_factory):
    binary = nginx_binary()
    if binary is None:
        missing("NGINX", "nginx not installed (bash scripts/bootstrap.sh --dev installs it)")
    folder = tmp_path_factory.mktemp("deployment")
    database_url = postgres_database_factory()
    params = StudyParams(
        title="Behind nginx",
        encodings=("chernoff", "table", "plot"),
        trials_per_participant=3,  # one per encoding
        practice_trials=1,
        attention_checks=1,
        completion_code="PROXY0K1",
    )
    slug, password = open_study(database_url, e2e_stimulus_set, params, email=EMAIL)
    data_dir = folder / "data"
    data_dir.mkdir()
    environment = {**site_environment(data_dir, database_url), "GLYPHLAB_PROXY_COUNT": "1"}
    servers = start_app_servers(environment, folder)
    try:
        nginx, cert = nginx_for(servers, folder, binary)
    except BaseException:
        for server in servers:
            server.stop()
        raise
    yield Deployment(
        url=f"https://{SERVER_NAME}:{nginx.https_port}",
        slug=slug,
        database_url=database_url,
        email=EMAIL,
        password=password,
        certificate=cert,
        app_servers=servers,
        nginx=nginx,
    )
    nginx.stop()
    for server in servers:
        server.stop()


def stored_answers(deployment: Deployment) -> int:
    with site_session(deployment.database_url) as session:
        return session.scalar(
            sa.select(sa.func.count())
            .select_from(Response)
            .join(Trial, Response.trial_id == Trial.id)
            .join(Trial.participant)
            .join(Study)
            .where(Study.slug == deployment.slug)
        )


@pytest.mark.browser
def test_a_participant_takes_the_study_through_nginx_in_chromium(
    deployment, browser, screenshot_dir
):
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1100, "height": 820})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    person = Participant(page, screenshot_dir)
    before = stored_answers(deployment)
    page.goto(f"{deployment.url}/s/{deployment.slug}/?PROLIFIC_PID={'c3' * 12}&SESSION_ID=z")
    page.check("input[name=consent]")
    page.click("button[type=submit]")
    page.get_by_role("link", name="Start").click()
    site = deployment.app_servers[0]
    for _ in range(60):
        wait_for_a_screen(page, site)
        if page.url.endswith("/debrief"):
            break
        if page.locator("#runner-screen .stimulus").count():
            person.shoot("https-trial")
        person.answer()
    assert page.url.endswith("/debrief"), page.text_content("main")
    page.screenshot(path=str(screenshot_dir / "https-debrief.png"))
    assert "PROXY0K1" in page.text_content("main")
    assert errors == []
    assert stored_answers(deployment) - before == 5  # 3 main + practice + attention check
    cookies = {cookie["name"]: cookie for cookie in context.cookies()}
    assert cookies["glyphlab_session"]["secure"] and cookies["glyphlab_session"]["httpOnly"]
    # nginx spread the requests over both app servers
    upstreams = deployment.nginx.access_log()
    for server in deployment.app_servers:
        assert f"upstream=127.0.0.1:{server.port}" in upstreams
    context.close()


@pytest.mark.browser
def test_a_researcher_logs_in_and_out_through_nginx_in_chromium(deployment, browser):
    context = browser.new_context(ignore_https_errors=True)
    page = context.new_page()
    page.goto(f"{deployment.url}/dashboard/")
    assert "/login" in page.url
    page.fill("input[name=email]", deployment.email)
    page.fill("input[name=password]", deployment.password)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url("**/dashboard/")
    assert "Behind nginx" in page.text_content("main")
    names = {cookie["name"]: cookie for cookie in context.cookies()}
    assert names["glyphlab_browser"]["secure"] and names["glyphlab_session"]["secure"]
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login")
    context.close()


def _trickle(url_port: int, stop: threading.Event, opened: list) -> None:
    """One slow client: a POST whose body arrives one byte a second."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", url_port), timeout=30)
    connection = context.wrap_socket(raw, server_hostname=SERVER_NAME)
    connection.sendall(
        f"POST /login HTTP/1.1\r\nHost: {SERVER_NAME}:{url_port}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 60000\r\n\r\n".encode()
    )
    opened.append(connection)
    while not stop.wait(1.0):
        try:
            connection.sendall(b"a")
        except OSError:
            return


def test_trickling_clients_do_not_take_the_site_down(deployment):
    """40 connections trickling a body (17 took two gunicorn workers offline): nginx holds
    them, and the site keeps answering everyone else."""
    stop, opened = threading.Event(), []
    port = deployment.nginx.https_port
    threads = [
        threading.Thread(target=_trickle, args=(port, stop, opened), daemon=True) for _ in range(40)
    ]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 20
        while len(opened) < len(threads) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(opened) == len(threads)
        time.sleep(2.0)  # the app servers' threads would all be taken by now
        with httpx.Client(verify=deployment.tls(), timeout=10.0) as client:
            for _ in range(8):
                page = client.get(f"{deployment.url}/s/{deployment.slug}/", params={"pid": "x"})
                assert page.status_code in (200, 302)
    finally:
        stop.set()
        for connection in opened:
            connection.close()


def test_nothing_served_through_the_proxy_reveals_truth(deployment, e2e_stimulus_set):
    """The no-leak scan of tests/experiment/test_no_leak.py over real HTTPS: pages, JSON,
    and every header nginx and the app servers send."""
    served: list[str] = []

    def keep(response: httpx.Response) -> httpx.Response:
        served.append(response.text)
        served.append(json.dumps(dict(response.headers)))
        return response

    base = f"{deployment.url}/s/{deployment.slug}"
    with httpx.Client(verify=deployment.tls(), timeout=20.0) as client:
        entry = keep(client.get(f"{base}/", params={"pid": f"scan-{uuid.uuid4().hex}"}))
        csrf = entry.text.split('name="csrf_token" value="')[1].split('"')[0]
        consent = client.post(
            f"{base}/consent",
            data={"csrf_token": csrf, "consent": "yes"},
            headers={"Referer": f"{base}/", "Origin": deployment.url},
        )
        assert consent.status_code == 302, consent.text[:300]
        keep(client.get(f"{base}/instructions"))
        run = keep(client.get(f"{base}/run"))
        token = run.text.split('name="glyphlab-token" content="')[1].split('"')[0]
        api = {"X-Glyphlab-Token": token, "Origin": deployment.url}
        while not (nxt := keep(client.get(f"{base}/api/next", headers=api)).json())["done"]:
            trial = nxt["trial"]
            keep(client.post(f"{base}/api/trials/{trial['id']}/start", headers=api, json={}))
            body = {"idempotency_key": uuid.uuid4().hex, "response": some_answer(trial)}
            saved = keep(
                client.post(
                    f"{base}/api/trials/{trial['id']}/answer",
                    headers=api,
                    json={**body, "rt_ms": 700.0},
                )
            )
            assert saved.status_code == 201, saved.text
        keep(client.get(f"{base}/debrief"))
    text = "\n".join(served)
    assert "nginx/" not in text  # server_tokens off
    inline = DATA_URI.findall(text)
    assert {base64.b64decode(data) for data in inline} <= media_bytes_of(e2e_stimulus_set)
    text = DATA_URI.sub("data:", text)
    assert sorted(name for name in secrets_of(e2e_stimulus_set) if name in text) == []


def test_killing_an_app_server_behind_nginx_loses_nothing(deployment, monkeypatch):
    """SIGKILL one of the two app servers mid-run: nginx sends the rest to the other,
    resent answers are stored once, and the killed one rejoins after a restart."""
    monkeypatch.setenv("SSL_CERT_FILE", str(deployment.certificate))  # httpx trusts it
    participants = 8
    config = LoadConfig(
        base_url=deployment.url,
        slug=deployment.slug,
        participants=participants,
        ramp_s=0.5,
        think_ms=150.0,
        retry_window_s=60.0,
        time_limit_s=240.0,
    )
    before = stored_answers(deployment)
    outcome: dict = {}
    runner = threading.Thread(target=lambda: outcome.setdefault("result", run_load(config)))
    runner.start()
    deadline = time.monotonic() + 120
    while stored_answers(deployment) - before < 12:
        assert time.monotonic() < deadline, "the load never got going"
        time.sleep(0.1)
    victim = deployment.app_servers[0]
    victim.kill()
    runner.join(timeout=240)
    assert not runner.is_alive()
    victim.start()
    result = outcome["result"]
    assert result.errors == [] and result.finished_participants == participants
    assert len(result.acknowledged) == participants * 5  # 3 main + practice + check
    # every acknowledged answer stored exactly once (the study also holds earlier tests')
    stored = stored_keys(deployment.database_url, deployment.slug)
    acknowledged = set(result.acknowledged)
    assert Counter(pair for pair in stored if pair in acknowledged) == Counter(result.acknowledged)
    assert len({trial for trial, _key in stored}) == len(stored)
    with httpx.Client(verify=deployment.tls()) as client:
        assert client.get(f"{victim.url}/login").status_code == 200  # rejoined
