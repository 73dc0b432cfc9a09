"""Every HTTP server of ``glyphlab serve --server`` (experiment/servers/), each for real on
a socket: participants go through and every acknowledged answer is stored once, a body
over ``GLYPHLAB_MAX_BODY_BYTES`` is refused (declared or chunked) without taking the
server down, and SIGTERM (to the process group, as systemd sends it) stops it within its
grace time; the deployment's servers lift their open-file limit. The kill-mid-run test of each
deployment server is in test_load.py.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import socket
import threading
import time
from http.client import HTTPConnection
from pathlib import Path

import pytest

from experiment.config import SiteConfig
from experiment.servers import SERVERS
from tests.e2e.test_load import quick_load_stored_once

pytestmark = pytest.mark.slow

#: Far over the site's default limit (64 KiB), small enough to sit in a loopback socket's
#: buffers whether or not the server reads it.
BIG_BODY = b"x" * (256 * 1024)


def post(port: int, body: bytes, *, chunked: bool) -> int | None:
    """POST ``body`` to /login, the response read while the body is still being sent; its
    status, or None where the server closed the connection without one (a refusal too)."""
    framing = (
        b"Transfer-Encoding: chunked\r\n\r\n"
        + b"".join(b"2000\r\n" + body[i : i + 8192] + b"\r\n" for i in range(0, len(body), 8192))
        + b"0\r\n\r\n"
        if chunked
        else b"Content-Length: %d\r\n\r\n" % len(body) + body
    )
    head = b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    head += b"Content-Type: application/x-www-form-urlencoded\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:

        def send() -> None:
            with contextlib.suppress(OSError):  # the server may stop reading and close
                connection.sendall(head + framing)

        sender = threading.Thread(target=send)
        sender.start()
        try:
            reply = connection.makefile("rb").readline()
        except OSError:
            reply = b""
        sender.join(timeout=30)
    return int(reply.split()[1]) if reply.startswith(b"HTTP/1.1 ") else None


@pytest.fixture(params=sorted(SERVERS))
def server(request) -> str:
    return request.param


def test_every_server_serves_participants_and_refuses_big_bodies(served_study, server, tmp_path):
    site, slug, database_url = served_study(backend="postgresql", server=server)
    quick_load_stored_once(site, slug, database_url, 6, ramp_s=0.5, time_limit_s=120.0)

    limit = SiteConfig.from_env({"GLYPHLAB_DATA_DIR": str(tmp_path / "limit")}).max_body_bytes
    assert limit < len(BIG_BODY)
    assert post(site.port, BIG_BODY, chunked=False) == 413
    # No length to refuse up front: read up to the limit, then refused (413, or 400 where
    # Flask-WTF reads the form first, or the connection closed), as on every server.
    assert post(site.port, BIG_BODY, chunked=True) in {400, 413, None}
    connection = HTTPConnection("127.0.0.1", site.port, timeout=10)
    try:
        connection.request("GET", "/login")
        assert connection.getresponse().status == 200  # still serving
    finally:
        connection.close()

    os.killpg(site.process.pid, signal.SIGTERM)
    started = time.monotonic()
    site.process.wait(timeout=15)
    assert time.monotonic() - started < 10


def open_file_limit(pid: int) -> int:
    """The soft limit on open files of process ``pid``, from /proc."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return int(line.split()[3])
    raise AssertionError(f"no open-file limit for {pid}")


def group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError, ValueError, IndexError):
            if entry.name.isdigit() and int(os.getpgid(int(entry.name))) == pgid:
                members.append(int(entry.name))
    return members


@pytest.mark.parametrize(("backend", "server"), [("sqlite", "waitress"), ("postgresql", "granian")])
def test_a_server_lifts_its_open_file_limit(served_study, backend, server):
    """Started under a soft limit of 1024 open files (systemd's default for a service),
    the server lifts it for the processes that hold connections (waitress by
    ``raise_open_file_limit``, granian by itself, to the hard limit, before it forks its
    workers): each open connection is a file, and a browser keeps a few open."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2048:
        pytest.skip(f"the hard limit here ({hard}) leaves nothing to lift")
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))
    try:
        site, _slug, _url = served_study(backend=backend, server=server)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    serving = [
        pid
        for pid in group_members(site.process.pid)
        if b"\x00serve\x00" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]
    assert len(serving) == (1 if server == "waitress" else 3)  # granian: main + 2 workers
    assert all(open_file_limit(pid) > 1024 for pid in serving)
