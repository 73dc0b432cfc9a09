"""Server CPU per request kind, for the load benchmark (off unless asked for).

With ``GLYPHLAB_CPU_ACCOUNTING_DIR`` set, each process of the site adds up the CPU time
(``time.thread_time``: the request's own thread, whatever else the process does) that
the app spends on each kind of request, from the WSGI call until its body is written,
and writes the totals to ``<dir>/cpu-<pid>.json`` when the process exits. The kind is
the view's endpoint (``participant_api.start``; the runner's ``next?peek=1`` is
``participant_api.next_trial:peek``). ``benchmarks/bench_load.py`` reads the files
to say where the server's CPU per trial goes; what the processes used outside these
totals (the HTTP server's parsing, keep-alive polling, start-up) is the difference
from the process group's CPU.
"""

from __future__ import annotations

import atexit
import json
import multiprocessing.util
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from flask import Flask, request

ENDPOINT_KEY = "glyphlab.endpoint"


class CpuAccounting:
    """WSGI middleware: CPU seconds and counts per request kind, dumped at exit.

    The app is called at once, not from inside the body's iterator: a server may read the
    status before it iterates (granian does). The body's ``next`` and ``close`` are timed
    one by one, each on the thread that runs it (granian writes from another thread).
    """

    def __init__(self, app: Callable, folder: Path) -> None:
        self.app = app
        self.folder = folder
        self.totals: dict[str, list[float]] = {}
        self._lock = threading.Lock()
        atexit.register(self.dump)
        # A multiprocessing child (granian's workers) leaves by os._exit, past atexit.
        multiprocessing.util.Finalize(None, self.dump, exitpriority=0)

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        started = time.thread_time()
        body = self.app(environ, start_response)
        return self._counted(environ, body, time.thread_time() - started)

    def _counted(self, environ: dict[str, Any], body: Iterable, spent: float) -> Iterator[bytes]:
        """``body``, its CPU added to ``spent``: each step is timed on its own, as the
        thread that writes it need not be the one that called the app."""
        chunks = iter(body)
        try:
            while True:
                started = time.thread_time()
                try:
                    chunk = next(chunks)
                except StopIteration:
                    return
                finally:
                    spent += time.thread_time() - started
                yield chunk
        finally:
            started = time.thread_time()
            close = getattr(body, "close", None)
            if close is not None:
                close()
            self.add(environ.get(ENDPOINT_KEY, "other"), spent + time.thread_time() - started)

    def add(self, kind: str, spent: float) -> None:
        with self._lock:
            total = self.totals.setdefault(kind, [0, 0.0])
            total[0] += 1
            total[1] += spent

    def dump(self) -> None:
        with self._lock:
            totals = {kind: {"n": n, "cpu_s": s} for kind, (n, s) in self.totals.items()}
        if totals:
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / f"cpu-{os.getpid()}.json").write_text(json.dumps(totals))


def _name_the_kind() -> None:
    kind = request.endpoint or "other"
    if kind == "participant_api.next_trial" and request.args.get("peek"):
        kind += ":peek"
    request.environ[ENDPOINT_KEY] = kind


def install(app: Flask, folder: Path) -> None:
    """Account ``app``'s requests into ``folder`` (see the module docstring)."""
    app.before_request_funcs.setdefault(None, []).insert(0, _name_the_kind)
    app.wsgi_app = CpuAccounting(app.wsgi_app, folder)  # type: ignore[method-assign]


def read_totals(folder: Path) -> dict[str, dict[str, float]]:
    """The totals of every process that wrote into ``folder``, added up."""
    merged: dict[str, dict[str, float]] = {}
    for path in folder.glob("cpu-*.json"):
        for kind, total in json.loads(path.read_text()).items():
            entry = merged.setdefault(kind, {"n": 0, "cpu_s": 0.0})
            entry["n"] += total["n"]
            entry["cpu_s"] += total["cpu_s"]
    return merged
