"""Simulated participants that take a study through the real HTTP endpoints (oTree-style bots).

A bot is an httpx client doing what a browser does (entry, consent form with its CSRF
token, runner page, then ``next`` / ``start`` / ``answer`` per trial; see
docs/participant-api.md) and answering like ``analysis.simulate.ModelObserver``. It works
against the Flask app in-process (``wsgi_client(app)``) and against a live server URL.

The site never tells the browser which item is which, so the bot, which runs beside the
server with the stimulus set folder, recognises the stimulus the way a person with the
answer key would: media files are named by the sha256 of their bytes, so hashing the
served images finds the manifest entry and item of every display position; table rows
are matched by their display strings, a composite image by its bytes.

Its timing is honest: between ``start`` and ``answer`` it waits its simulated reaction
time (``wait``, real sleep by default), so the server's rt checks (docs/participant-api.md,
"Timing rules") find nothing to flag. Against an in-process app with a test clock,
:func:`app_wait` moves that clock instead of sleeping.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from flask import Flask

from analysis.response_modes import TrialContext, mode_named
from analysis.response_modes.base import Observer, simulate
from analysis.simulate import ModelObserver
from experiment.stimulus_sets import LoadedStimulusSet, load
from glyphlab.errors import GlyphlabError
from stimuli.encodings import ENCODINGS, Display

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
TOKEN = re.compile(r'name="glyphlab-token" content="([^"]+)"')


class BotError(GlyphlabError):
    """The site answered a bot in a way a participant could not get past."""


def default_observer() -> ModelObserver:
    """A plausible participant: each encoding's declared ``bot_dprime`` (faces and plots
    easier than tables), ~1.5 s answers.

    Conservative (criterion 1.0, an item is marked only above d'/2 + 1), as people are
    when most items are not outliers: with 12 items an unbiased observer would mark
    about two wrong items per screen.
    """
    return ModelObserver.simple(
        {name: cls.bot_dprime for name, cls in ENCODINGS.items()},
        rt_median_ms=1500.0,
        criterion=1.0,
        lapse_rate=0.02,
        sensitivity_sd=0.3,
    )


def wsgi_client(app: Flask) -> httpx.Client:
    """An httpx client that talks to the app in-process (no server, no sockets)."""
    return httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://localhost")


class StimulusLookup:
    """Finds the manifest stimulus and items behind a served trial (bots only)."""

    def __init__(self, stimulus_set: LoadedStimulusSet) -> None:
        self.set = stimulus_set
        self.items_by_hash: dict[str, list[tuple[str, int]]] = defaultdict(list)
        self.composite_by_hash: dict[str, str] = {}
        self.tables: dict[frozenset, list[tuple[str, dict[tuple, int]]]] = defaultdict(list)
        for stimulus in stimulus_set.stimuli.values():
            sid = stimulus["stimulus_id"]
            for entry in stimulus.get("items", []):
                if "media" in entry:
                    self.items_by_hash[_name_hash(entry["media"])].append((sid, int(entry["item"])))
            if stimulus.get("media"):
                self.composite_by_hash[_name_hash(stimulus["media"])] = sid
            view = stimulus.get(stimulus["encoding"], {})
            if "rows" in view:
                rows = [tuple(row) for row in view["rows"]]
                items = {
                    row: int(e["item"]) for row, e in zip(rows, stimulus["items"], strict=True)
                }
                self.tables[frozenset(rows)].append((sid, items))

    def context(self, trial: dict[str, Any], fetch) -> TrialContext:
        """The trial's TrialContext, truth included, from what the site served."""
        if trial["display"] == Display.COMPOSITE:
            sid = self.composite_by_hash[_bytes_hash(fetch(trial["composite"]["src"]))]
            stimulus = self.set.stimuli[sid]
            items = tuple(int(e["item"]) for e in stimulus["items"])
            points = tuple((p["x"], p["y"]) for p in stimulus[stimulus["encoding"]]["points"])
            return self._with_truth(trial, sid, items, points)
        if trial["display"] == Display.ROWS:
            rows = [tuple(row) for row in trial["rows"]["rows"]]
            sid, by_row = self.tables[frozenset(rows)][0]
            return self._with_truth(trial, sid, tuple(by_row[row] for row in rows))
        found = [self.items_by_hash[_bytes_hash(fetch(i["src"]))] for i in trial["images"]]
        shared = set.intersection(*({sid for sid, _ in c} for c in found))
        shared = {
            sid
            for sid in shared
            if self.set.stimuli[sid]["encoding"] == trial["encoding"]
            and self.set.stimuli[sid]["layout"] == trial["layout"]
        } or shared
        sid = sorted(shared)[0]
        items = tuple(next(item for s, item in c if s == sid) for c in found)
        return self._with_truth(trial, sid, items)

    def _with_truth(self, trial, sid, items, points=None) -> TrialContext:
        dataset_id = self.set.stimuli[sid]["dataset_id"]
        return TrialContext(
            encoding=trial["encoding"],
            layout=trial["layout"],
            item_at_position=items,
            points=points,
            true_outliers=tuple(self.set.true_outliers(dataset_id)),
        )


def _name_hash(relative: str) -> str:
    return Path(relative).stem[:16]


def sleep_ms(ms: float) -> None:
    time.sleep(ms / 1000)


def no_wait(ms: float) -> None:
    """For sites told to expect it (the demo's tolerance): the bot answers at once."""


def app_wait(app: Flask) -> Callable[[float], None]:
    """How a bot waits against ``app`` in-process: by moving the app's injectable test
    clock when it has one (``advance(ms)``; one bot at a time), else in real time."""
    from experiment.app import SITE_KEY

    clock = app.extensions[SITE_KEY].clock
    return getattr(clock, "advance", sleep_ms)


def _bytes_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


@dataclass
class BotRun:
    """What one bot did, with per-request latencies in ms (for the load benchmark)."""

    trials: int = 0
    timed_out: int = 0
    latencies_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    finished: bool = False


class Bot:
    def __init__(
        self,
        client: httpx.Client,
        stimulus_set: LoadedStimulusSet | str | Path,
        *,
        observer: Observer | None = None,
        rng: np.random.Generator,
        wait: Callable[[float], None] = sleep_ms,
    ) -> None:
        self.client = client
        self.wait = wait
        loaded = stimulus_set if isinstance(stimulus_set, LoadedStimulusSet) else load(stimulus_set)
        self.lookup = StimulusLookup(loaded)
        self.observer = observer or default_observer()
        self.rng = rng
        self.run = BotRun()

    def _request(self, kind: str, method: str, url: str, **kwargs) -> httpx.Response:
        started = time.perf_counter()
        response = self.client.request(method, url, **kwargs)
        self.run.latencies_ms[kind].append((time.perf_counter() - started) * 1000)
        return response

    def enter(self, slug: str, *, query: dict[str, str] | None = None) -> str:
        """Entry, consent and runner page; returns the tab token."""
        page = self._request("entry", "GET", f"/s/{slug}/", params=query or {})
        if page.status_code == 200 and "csrf_token" in page.text:
            csrf = CSRF.search(page.text)
            consent = self._request(
                "consent",
                "POST",
                f"/s/{slug}/consent",
                data={"csrf_token": csrf.group(1) if csrf else "", "consent": "yes"},
                headers={"Referer": str(page.url)},  # as a browser sends it (same-origin)
            )
            _expect(consent, 302, "consent")
        elif page.status_code != 302:
            raise BotError(f"entry page answered {page.status_code}: {page.text[:200]}")
        run = self._request("run_page", "GET", f"/s/{slug}/run")
        _expect(run, 200, "runner page")
        return TOKEN.search(run.text).group(1)

    def take(
        self, slug: str, *, query: dict[str, str] | None = None, max_trials: int | None = None
    ) -> BotRun:
        """Take the study from the entry link to the end (or ``max_trials`` answers)."""
        headers = {"X-Glyphlab-Token": self.enter(slug, query=query)}
        api = f"/s/{slug}/api"
        upcoming = None  # the next trial, when an answer's reply brought it along
        while max_trials is None or self.run.trials < max_trials:
            if upcoming is None:
                nxt = self._request("next", "GET", f"{api}/next", headers=headers)
                _expect(nxt, 200, "next trial")
                if nxt.json()["done"]:
                    self.run.finished = True
                    break
                upcoming = nxt.json()["trial"]
            saved = self.answer(api, upcoming, headers).json()
            if saved["finished"]:
                self.run.finished = True
                break
            upcoming = saved.get("next")
        return self.run

    def answer(self, api: str, trial: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
        context = self.lookup.context(trial, self._fetch_media)
        start = self._request(
            "start", "POST", f"{api}/trials/{trial['id']}/start", headers=headers, json={}
        )
        _expect(start, 200, "start")
        simulated = simulate(mode_named(trial["response_mode"]), context, self.observer, self.rng)
        body: dict[str, Any] = {"idempotency_key": str(uuid.uuid4()), "rt_ms": simulated.rt_ms}
        if simulated.rt_ms > trial["deadline_ms"]:
            body.update(timed_out=True, rt_ms=float(trial["deadline_ms"]))
            self.run.timed_out += 1
        else:
            self.wait(simulated.rt_ms)  # think, as long as the stated reaction time
            body.update(timed_out=False, response=simulated.response)
        saved = self._request(
            "answer", "POST", f"{api}/trials/{trial['id']}/answer", headers=headers, json=body
        )
        _expect(saved, 201, "answer")
        self.run.trials += 1
        return saved

    def _fetch_media(self, src: str) -> bytes:
        if src.startswith("data:"):  # inline media came with the trial
            return base64.b64decode(src.partition(",")[2])
        response = self._request("media", "GET", src)
        _expect(response, 200, "media")
        return response.content


def _expect(response: httpx.Response, status: int, what: str) -> None:
    if response.status_code != status:
        raise BotError(
            f"{what}: expected HTTP {status}, got {response.status_code}: {response.text[:300]}"
        )
