"""The server registry (experiment/servers/): its contract over every entry, and the
adapter that makes granian's environ and response start what WSGI says they are."""

from __future__ import annotations

import importlib

import pytest
from click.testing import CliRunner

from experiment.servers import SERVERS
from experiment.servers.granian import SpecAdapter
from glyphlab.cli import main


@pytest.mark.parametrize("name", sorted(SERVERS))
def test_every_server_is_named_once_and_offered_by_serve(name):
    server = SERVERS[name]
    assert server.name == name
    assert importlib.import_module(f"experiment.servers.{name}").SERVER is server
    assert server.help and callable(server.serve)
    help_text = CliRunner().invoke(main, ["serve", "--help"]).output
    assert name in help_text


def late_app(environ, start_response):
    """PEP 3333 allows start_response from inside the body (a generator app)."""
    start_response("201 Created", [("X-Late", "yes")])
    yield b"first"
    yield b"second"


class Recorder:
    def __init__(self):
        self.calls = []

    def __call__(self, status, headers, exc_info=None):
        self.calls.append((status, headers))


def eager_app(environ, start_response):
    start_response("201 Created", [("X-Late", "yes")])
    return [b"first", b"second"]


@pytest.mark.parametrize("app", [late_app, eager_app])
def test_the_status_is_known_before_granian_reads_it(app):
    recorder = Recorder()
    body = SpecAdapter(app, {})({}, recorder)
    assert recorder.calls == [("201 Created", [("X-Late", "yes")])]  # before any iteration
    assert b"".join(body) == b"firstsecond"


def test_what_granian_copies_from_the_process_environment_is_dropped():
    seen = {}

    def app(environ, start_response):
        seen.update(environ)
        start_response("200 OK", [])
        return [b""]

    inherited = {"GLYPHLAB_SECRET_KEY": "s3cret", "HTTP_PROXY": "http://proxy:3128"}
    request = {"PATH_INFO": "/", "HTTP_HOST": "example.org"}
    SpecAdapter(app, inherited)({**inherited, **request}, Recorder())
    assert seen == request
    sent = {**request, "HTTP_PROXY": "a header the client sent"}
    SpecAdapter(app, inherited)({**inherited, **sent}, Recorder())
    assert seen == sent
