"""Many simulated participants at once against a running site (asyncio, lean HTTP client).

Each virtual participant does what the trial runner does (docs/participant-api.md):
entry page, consent, runner page, then per trial every media URL, a think time,
``answer`` (reporting the onset as the time since the request that brought the trial
was sent; its reply brings the next trial; ``next`` only when it does not, at the start
and after the practice, and ``peek`` only when neither the runner page nor the answer's
reply said what comes next).
Answers are valid but random (this measures the site, not the observer:
``experiment.bot`` answers like a modelled participant). Requests that fail at the
transport level or with 5xx are retried with the same body and idempotency key, as the
runner does, so the generator also drives the kill-and-restart test: every answer the
site acknowledged is recorded in ``LoadResult.acknowledged`` and can be checked against
the database afterwards.

Each participant holds one keep-alive connection (plus up to ``MEDIA_CONNECTIONS`` for
media URLs, as a browser opens a few), through ``loadgen_http``: the generator runs on
the machine it measures, so it must cost less CPU than the server does. Replies are
parsed only where their content is needed (a page's tokens, an answer's next trial).

Bounded by construction: a fixed number of participants, a per-participant trial cap,
and an overall time limit; loopback addresses only.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from analysis.response_modes import mode_named
from experiment.loadgen_http import Browser, Reply, TransportFailure
from glyphlab.errors import GlyphlabError

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
TOKEN = re.compile(r'name="glyphlab-token" content="([^"]+)"')
COMING = re.compile(r'id="runner-coming">([^<]*)</script>')
LOOPBACK = ("127.", "localhost", "[::1]")
RETRY_STATUSES = {500, 502, 503, 504}
MEDIA_CONNECTIONS = 4


class LoadError(GlyphlabError):
    """The load run was asked to do something unsafe or impossible."""


@dataclass(frozen=True)
class LoadConfig:
    """One load run: who, how many, how fast, for how long at most."""

    base_url: str
    slug: str
    participants: int = 50
    #: participants start evenly spread over this many seconds
    ramp_s: float = 5.0
    #: median think time per trial (lognormal, sigma 0.4), the participant's RT
    think_ms: float = 1500.0
    max_trials: int | None = None
    time_limit_s: float = 300.0
    #: how long a participant keeps retrying a request while the site is down
    retry_window_s: float = 60.0
    fetch_media: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        host = urlsplit(self.base_url).netloc
        if not host.startswith(LOOPBACK):
            raise LoadError(f"load runs target loopback addresses only, not {host!r}")
        if not 1 <= self.participants <= 2000:
            raise LoadError("participants must be between 1 and 2000")
        if self.time_limit_s <= 0 or self.retry_window_s < 0 or self.think_ms < 0:
            raise LoadError("time_limit_s must be > 0, retry_window_s and think_ms >= 0")


@dataclass
class LoadResult:
    """What happened: latencies (ms) per request kind, errors, acknowledged answers."""

    latencies_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    #: why requests were retried ("ReadTimeout", "HTTP 503", ...) and how often
    retry_reasons: Counter[str] = field(default_factory=Counter)
    #: (trial public id, idempotency key) of every answer the site acknowledged
    acknowledged: list[tuple[str, str]] = field(default_factory=list)
    finished_participants: int = 0
    wall_s: float = 0.0

    @property
    def retries(self) -> int:
        return self.retry_reasons.total()

    def percentiles(self, kind: str) -> dict[str, float]:
        values = np.asarray(self.latencies_ms.get(kind, []), dtype=float)
        if values.size == 0:
            return {"n": 0}
        p50, p95, p99 = np.percentile(values, [50, 95, 99])
        return {"n": int(values.size), "p50": p50, "p95": p95, "p99": p99, "max": values.max()}

    def summary(self) -> str:
        lines = [
            f"{self.finished_participants} participants finished, "
            f"{len(self.acknowledged)} answers acknowledged in {self.wall_s:.1f} s "
            f"({len(self.acknowledged) / max(self.wall_s, 1e-9):.1f} answers/s), "
            f"{len(self.errors)} errors, {self.retries} retries"
            + (
                f" ({', '.join(f'{n} {why}' for why, n in self.retry_reasons.most_common())})"
                if self.retries
                else ""
            )
        ]
        for kind in sorted(self.latencies_ms):
            p = self.percentiles(kind)
            lines.append(
                f"  {kind:<9} n={p['n']:<6} p50={p['p50']:7.1f} ms  p95={p['p95']:7.1f} ms  "
                f"p99={p['p99']:7.1f} ms  max={p['max']:7.1f} ms"
            )
        return "\n".join(lines)


def random_response(trial: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """A valid answer for ``trial``, as its response mode writes one."""
    composite = trial.get("composite")
    area = (composite["width"], composite["height"]) if composite else None
    return mode_named(trial["response_mode"]).random_answer(int(trial["n_items"]), area, rng)


class VirtualParticipant:
    """One participant's session: cookies, tab token, and the retry rule."""

    def __init__(self, browser: Browser, config: LoadConfig, result: LoadResult, number: int):
        self.browser = browser
        self.media_browsers = [Browser(config.base_url) for _ in range(MEDIA_CONNECTIONS)]
        self.config = config
        self.result = result
        self.number = number
        self.rng = np.random.default_rng([config.seed, number])
        self.headers: dict[str, str] = {}
        #: what a peek would say of the next trial, when the page or a reply said it
        self.coming: dict[str, Any] | None = None
        #: when the attempt that the last reply answered was sent (perf_counter)
        self.sent_at = 0.0

    async def close(self) -> None:
        for browser in (self.browser, *self.media_browsers):
            await browser.close()

    async def request(
        self, kind: str, method: str, url: str, *, browser: Browser | None = None, **kwargs
    ) -> Reply:
        """Send, retrying transport failures and 5xx within the retry window."""
        give_up = time.monotonic() + self.config.retry_window_s
        while True:
            started = time.perf_counter()
            try:
                response = await (browser or self.browser).request(method, url, **kwargs)
            except TransportFailure as error:
                failure = str(error)
            else:
                if response.status_code not in RETRY_STATUSES:
                    self.result.latencies_ms[kind].append((time.perf_counter() - started) * 1e3)
                    self.sent_at = started
                    return response
                failure = f"HTTP {response.status_code}"
            if time.monotonic() > give_up:
                raise LoadError(f"{kind} {url}: still failing after retries ({failure})")
            self.result.retry_reasons[failure] += 1
            await asyncio.sleep(0.25)

    async def fetch_media(self, sources: list[str]) -> None:
        """Every media URL, spread over the participant's media connections."""

        async def fetch(browser: Browser, share: list[str]) -> None:
            for source in share:
                reply = await self.request("media", "GET", source, browser=browser)
                self.expect(reply, (200,), "media")

        lanes = self.media_browsers
        await asyncio.gather(*(fetch(b, sources[i :: len(lanes)]) for i, b in enumerate(lanes)))

    def expect(self, response, statuses: tuple[int, ...], what: str) -> None:
        if response.status_code not in statuses:
            raise LoadError(f"{what}: HTTP {response.status_code} {response.text[:160]}")

    async def enter(self) -> None:
        slug = self.config.slug
        page = await self.request(
            "entry", "GET", f"/s/{slug}/", params={"pid": f"load-{self.number}"}
        )
        self.expect(page, (200,), "entry")
        csrf = CSRF.search(page.text)
        consent = await self.request(
            "consent",
            "POST",
            f"/s/{slug}/consent",
            form={"csrf_token": csrf.group(1) if csrf else "", "consent": "yes"},
            # as a browser does under the site's Referrer-Policy: same-origin (over
            # HTTPS, Flask-WTF refuses a form post without it)
            headers={"Referer": f"{self.config.base_url}/s/{slug}/?pid=load-{self.number}"},
        )
        self.expect(consent, (302,), "consent")
        await self.open_runner()

    async def open_runner(self) -> None:
        run = await self.request("run_page", "GET", f"/s/{self.config.slug}/run")
        self.expect(run, (200,), "runner page")
        self.headers = {"X-Glyphlab-Token": TOKEN.search(run.text).group(1)}
        coming = COMING.search(run.text)
        self.coming = json.loads(coming.group(1)) if coming else None

    async def take(self) -> None:
        api = f"/s/{self.config.slug}/api"
        await self.enter()
        answered = 0
        upcoming = None  # the next trial, when an answer's reply brought it along
        brought_at = 0.0  # when the request that brought it was sent
        while self.config.max_trials is None or answered < self.config.max_trials:
            if upcoming is None:
                # As the runner: what comes next (nothing served) words the Start pause,
                # then the trial itself is fetched; it is asked for only if not yet said.
                if self.coming is None:
                    peek = await self.request(
                        "peek", "GET", f"{api}/next", params={"peek": "1"}, headers=self.headers
                    )
                    if peek.status_code == 409:
                        await self.open_runner()
                        continue
                    self.expect(peek, (200,), "peek")
                self.coming = None
                nxt = await self.request("next", "GET", f"{api}/next", headers=self.headers)
                if nxt.status_code == 409:  # our tab token was superseded: reopen, as a reload
                    await self.open_runner()
                    continue
                self.expect(nxt, (200,), "next")
                body = nxt.json()
                if body["done"]:
                    self.result.finished_participants += 1
                    return
                upcoming = body["trial"]
                brought_at = self.sent_at
            saved = await self.answer(api, upcoming, brought_at)
            brought_at = self.sent_at
            answered += 1
            if saved.get("finished"):
                self.result.finished_participants += 1
                return
            upcoming = saved.get("next")
            self.coming = saved.get("coming")

    async def answer(self, api: str, trial: dict[str, Any], brought_at: float) -> dict[str, Any]:
        """Show (fetch media), think, answer; returns the answer's reply. ``brought_at``:
        when the request whose reply brought ``trial`` was sent."""
        if self.config.fetch_media:
            sources = [image["src"] for image in trial.get("images", [])]
            if "composite" in trial:
                sources.append(trial["composite"]["src"])
            # Inline media (data: URIs) came with the trial, as they do for a browser.
            sources = [s for s in sources if not s.startswith("data:")]
            if sources:
                await self.fetch_media(sources)
        onset_after_request_ms = (time.perf_counter() - brought_at) * 1e3
        think_ms = float(self.config.think_ms * self.rng.lognormal(0.0, 0.4))
        think_ms = min(think_ms, 0.8 * float(trial["deadline_ms"]))
        await asyncio.sleep(think_ms / 1000)
        body = {
            "idempotency_key": str(uuid.uuid4()),
            "response": random_response(trial, self.rng),
            "rt_ms": think_ms,
            "timed_out": False,
            "onset_after_request_ms": round(onset_after_request_ms, 2),
        }
        saved = await self.request(
            "answer",
            "POST",
            f"{api}/trials/{trial['id']}/answer",
            headers=self.headers,
            json_body=body,
        )
        self.expect(saved, (200, 201), "answer")
        self.result.acknowledged.append((trial["id"], body["idempotency_key"]))
        return saved.json()


async def run_load_async(config: LoadConfig) -> LoadResult:
    """Run ``config.participants`` virtual participants; see the module docstring."""
    result = LoadResult()
    started = time.perf_counter()

    async def one(number: int) -> None:
        await asyncio.sleep(config.ramp_s * number / config.participants)
        participant = VirtualParticipant(Browser(config.base_url), config, result, number)
        try:
            await participant.take()
        except (LoadError, KeyError, ValueError) as error:
            result.errors.append(f"participant {number}: {error}")
        finally:
            await participant.close()

    tasks = [asyncio.ensure_future(one(n)) for n in range(config.participants)]
    _done, pending = await asyncio.wait(tasks, timeout=config.time_limit_s)
    for task in pending:
        task.cancel()
        result.errors.append("time limit reached before a participant finished")
    await asyncio.gather(*pending, return_exceptions=True)
    result.wall_s = time.perf_counter() - started
    return result


def run_load(config: LoadConfig) -> LoadResult:
    """Blocking wrapper of :func:`run_load_async`.

    The event loop runs in a thread of its own, so callers that already have a loop in
    their thread (Playwright's sync API, a notebook) can use it too.
    """
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="glyphlab-load") as pool:
        return pool.submit(asyncio.run, run_load_async(config)).result()
