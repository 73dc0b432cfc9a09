"""granian: worker processes x threads, with the HTTP side (accepting, parsing, keep-alive,
writing) in Rust, so a request costs the Python interpreter only the app's own work.

Each worker is forked and builds its own app and engine, as gunicorn's do. granian has no
forwarding-header handling of its own (experiment/proxy.py is the one rule), streams the
request body to the app as it reads it (Flask refuses one longer than
``config.max_body_bytes`` with 413 before reading it, or once it has read that much), and
on SIGTERM stops accepting, finishes the requests in flight and stops its workers
(killed after ``STOP_TIMEOUT_S``).

Two differences from the WSGI spec are made up for by :class:`SpecAdapter`: granian
reads the status and headers as soon as the app returns, before it iterates the body,
so an app that calls ``start_response`` from inside its body's iterator (PEP 3333 allows
it) would answer 200 with no headers; and it copies the whole process environment into
every request's environ, where the site's secret key and database password do not
belong (and an ``HTTP_*`` variable would read as a request header).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from experiment.config import SiteConfig
from experiment.servers.base import ServeOptions

#: Seconds a worker gets to finish its requests after SIGTERM (gunicorn's graceful_timeout).
STOP_TIMEOUT_S = 5


class SpecAdapter:
    """WSGI middleware: drop what granian copied from the process environment, and if
    the app returned without calling ``start_response``, take the first chunk of its
    body now, so that it has (see the module docstring)."""

    def __init__(self, app: Callable, inherited: Mapping[str, str] | None = None) -> None:
        self.app = app
        self.inherited = tuple((os.environ if inherited is None else inherited).items())

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        for key, value in self.inherited:  # a request's own header keeps its key
            if environ.get(key) == value:
                del environ[key]
        started = False

        def record(*args: Any) -> Callable:
            nonlocal started
            started = True
            return start_response(*args)

        body = self.app(environ, record)
        if started:
            return body
        return _FirstChunkTaken(body)


class _FirstChunkTaken:
    def __init__(self, body: Iterable[bytes]) -> None:
        self.body = body
        self.chunks = iter(body)
        try:
            self.first: list[bytes] = [next(self.chunks)]
        except StopIteration:
            self.first = []
        except BaseException:
            self.close()
            raise

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self.first:
            return self.first.pop()
        return next(self.chunks)

    def close(self) -> None:
        close = getattr(self.body, "close", None)
        if close is not None:
            close()


@dataclass(frozen=True)
class Granian:
    name: str = "granian"
    help: str = "worker processes x threads, HTTP handled in Rust (least CPU per request)"

    def serve(self, config: SiteConfig, options: ServeOptions) -> None:
        from granian.constants import HTTPModes, Interfaces
        from granian.server import Server

        from experiment import create_app

        server = Server(
            "experiment:create_app",  # only named in granian's log: the loader below builds it
            address=options.host,
            port=options.port,
            interface=Interfaces.WSGI,
            workers=options.workers,
            blocking_threads=options.threads,
            http=HTTPModes.http1,
            websockets=False,
            log_access=False,
            workers_kill_timeout=STOP_TIMEOUT_S,
            respawn_failed_workers=True,  # as gunicorn's arbiter does; a crash loop still exits
        )
        server.serve(target_loader=lambda: SpecAdapter(create_app(config)), wrap_loader=False)


SERVER = Granian()
