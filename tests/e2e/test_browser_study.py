"""A participant takes a whole study in headless Chromium: every encoding, every
response mode, grids and a sequence, a reload in the middle and one timed-out trial.

Asserts on what the database stored, and measures sequence frame timing as the browser
presented it (requestAnimationFrame timestamps, reported by the runner in
``frame_stats``). Screenshots of each screen kind go to ``GLYPHLAB_SCREENSHOTS`` (a
folder; ``docs/`` when refreshing README's pictures) or to the test's tmp folder.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from experiment.models import Event, Response, Study, Trial
from glyphlab.site_process import site_session

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ALL_ENCODINGS = ("gan_face", "chernoff", "table", "plot")
ALL_MODES = ("mark_outliers", "yes_no", "m_afc", "keypress")
DEADLINE_MS = 6000
FRAME_MS = 150


class Participant:
    """Drives the runner like a person: reads the screen, answers, sometimes dawdles."""

    def __init__(self, page, shots: Path) -> None:
        self.page = page
        self.shots = shots
        self.taken: set[str] = set()
        self.trial: dict | None = None
        page.on("response", self._remember_trial)

    def _remember_trial(self, response) -> None:
        """The trial on screen: from ``next``, or brought along by an answer's reply."""
        if response.url.endswith("/api/next") and response.status == 200:
            body = response.json()
            self.trial = None if body.get("done") else body["trial"]
        elif response.url.endswith("/answer") and response.status in (200, 201):
            body = response.json()
            if body.get("next"):
                self.trial = body["next"]

    def shoot(self, name: str) -> None:
        if name not in self.taken:
            self.taken.add(name)
            self.page.screenshot(path=str(self.shots / f"{name}.png"))

    def screen_name(self) -> str | None:
        trial = self.trial or {}
        if trial.get("layout") == "sequence":
            return "trial-sequence-frame"
        return {
            "gan_face": "trial-face-grid",
            "table": "trial-table",
            "plot": "trial-plot",
            "chernoff": "trial-chernoff-grid",
        }.get(trial.get("encoding"))

    def answer(self) -> None:
        screen = self.page.locator("#runner-screen")
        if screen.locator(".feedback-display").count():  # practice feedback
            screen.get_by_role("button", name="Next").click()
            return
        stimulus = screen.locator(".stimulus")
        if not stimulus.count():  # a Start / Next screen
            # Start / Next (the practice feedback shows the display again, inert)
            screen.locator(":scope > button, :scope > .answer-bar button").first.click()
            return
        stimulus.first.wait_for(state="visible")
        name = self.screen_name()
        if name == "trial-sequence-frame":
            self.page.wait_for_timeout(FRAME_MS * 2)
        if name:
            self.shoot(name)
        if screen.locator("[data-action=submit]").count():
            self.pick(screen)
            screen.locator("[data-action=submit]").click()
        elif screen.locator("[data-action=yes]").count():
            self.page.keyboard.press("y")
        elif screen.locator("[data-action=press]").count():
            self.page.keyboard.press(" ")
            screen.locator("[data-action=press]").wait_for(state="detached", timeout=15_000)
        else:
            self.pick(screen)

    def pick(self, screen) -> None:
        if screen.locator(".item").count():
            screen.locator(".item").nth(2).click()
        elif screen.locator("table button").count():
            screen.locator("table button").nth(1).click()
        else:
            screen.locator(".plot-wrap img").click(position={"x": 120, "y": 90})


def wait_for_a_screen(page, site) -> None:
    """Wait for something to press (or the debrief); if it never comes, or the runner
    shows an error, fail with what the participant saw and what the server logged."""
    try:
        page.locator("#runner-screen button:visible, .debrief-text").first.wait_for(timeout=20_000)
    except PlaywrightTimeout:
        fail(page, site, "stuck")
    if page.locator("#runner-screen [role=alert]").count():
        fail(page, site, "the runner reported an error")


def fail(page, site, what: str) -> None:
    seen = page.text_content("main")
    log = site.log_path.read_text(errors="replace")[-3000:]
    raise AssertionError(f"{what} on {page.url}: {seen!r}\nsite log:\n{log}")


def stored(database_url: str, slug: str):
    with site_session(database_url) as session:
        study_id = session.scalar(sa.select(Study.id).where(Study.slug == slug))
        trials = session.execute(
            sa.select(Trial, Response)
            .outerjoin(Response, Response.trial_id == Trial.id)
            .join(Trial.participant)
            .where(Trial.participant.has(study_id=study_id))
        ).all()
        events = session.scalars(sa.select(Event.kind)).all()
        return [(t.condition.encoding, t.condition.layout, t, r) for t, r in trials], events


def test_participant_takes_every_mode_and_encoding_in_chromium(
    browser, served_study, screenshot_dir
):
    shots = screenshot_dir
    site, slug, database_url = served_study(
        backend="sqlite",
        encodings=ALL_ENCODINGS,
        layouts=("grid", "sequence"),
        response_modes=ALL_MODES,
        trials_per_participant=20,  # 4 encodings x 5 layout/mode cells
        practice_trials=1,
        attention_checks=1,
        deadline_ms=DEADLINE_MS,
        frame_ms=FRAME_MS,
        completion_code="E2EDONE1",
    )
    page = browser.new_page(viewport={"width": 1100, "height": 820})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    person = Participant(page, shots)

    page.goto(f"{site.url}/s/{slug}/?PROLIFIC_PID={'a1' * 12}&STUDY_ID=s&SESSION_ID=x")
    person.shoot("consent")
    page.check("input[name=consent]")
    page.click("button[type=submit]")
    page.get_by_role("link", name="Start").click()

    answered_screens, reloaded, dawdled = 0, False, False
    for _ in range(200):
        wait_for_a_screen(page, site)
        if page.url.endswith("/debrief"):
            break
        on_trial = page.locator("#runner-screen .stimulus").count() > 0
        if on_trial and answered_screens == 5 and not dawdled:
            dawdled = True  # let this one run out: the runner reports it timed out
            page.locator("#runner-screen .stimulus").first.wait_for(state="visible")
            page.wait_for_timeout(DEADLINE_MS + 800)
            continue
        if on_trial and answered_screens == 9 and not reloaded:
            reloaded = True
            page.reload()
            continue
        person.answer()
        answered_screens += on_trial
    assert page.url.endswith("/debrief"), page.text_content("main")
    assert "E2EDONE1" in page.text_content("main")
    assert errors == []

    rows, events = stored(database_url, slug)
    responses = [r for *_, r in rows]
    assert all(r is not None for r in responses), "every planned trial is answered"
    assert len({r.idempotency_key for r in responses}) == len(responses) == len(rows)
    assert {e for e, *_ in rows} == set(ALL_ENCODINGS)
    assert {r.response_mode for r in responses} == set(ALL_MODES)
    assert sum(r.timed_out for r in responses) >= 1
    assert "reload" in events
    sequence = [r for e, layout, t, r in rows if layout == "sequence" and r.frame_stats]
    assert sequence, "a sequence trial reported its frame timing"

    durations = np.concatenate([r.frame_stats["durations_ms"] for r in sequence])
    refresh = float(np.median([r.frame_stats["refresh_ms"] for r in sequence]))
    within = float(np.mean(np.abs(durations - FRAME_MS) <= refresh * 1.05))
    summary = {
        "requested_ms": FRAME_MS,
        "frames": int(durations.size),
        "refresh_ms": refresh,
        "mean_ms": float(durations.mean()),
        "sd_ms": float(durations.std()),
        "percentiles_ms": dict(
            zip(("p1", "p50", "p99"), np.percentile(durations, [1, 50, 99]).tolist(), strict=True)
        ),
        "within_one_refresh": within,
        "by_mode": dict(Counter(r.response_mode for r in sequence)),
    }
    (shots / "frame-timing.json").write_text(json.dumps(summary, indent=2))
    print("\nframe timing:", json.dumps(summary))
    assert durations.size >= 8
    assert abs(float(np.median(durations)) - FRAME_MS) <= refresh * 1.05


def test_a_lost_connection_is_retried_and_says_so(browser, served_study, screenshot_dir):
    """When the runner cannot reach the site it says so and keeps trying; once the site
    is reachable again, the study goes on where it was (no reload needed)."""
    site, slug, _database_url = served_study(backend="sqlite")
    page = browser.new_page(viewport={"width": 1100, "height": 820})
    page.goto(f"{site.url}/s/{slug}/?pid=offline-for-a-moment")
    page.check("input[name=consent]")
    page.click("button[type=submit]")
    page.route("**/api/next", lambda route: route.abort("internetdisconnected"))
    page.get_by_role("link", name="Start").click()
    page.get_by_role("button", name="Start").click()  # the practice intro

    notice = page.locator(".connection-notice")
    notice.wait_for(state="visible", timeout=10_000)
    assert "Connection lost, retrying" in notice.text_content()
    page.screenshot(path=str(screenshot_dir / "runner-connection-lost.png"))
    page.unroute("**/api/next")
    page.locator("#runner-screen .stimulus").first.wait_for(state="visible", timeout=15_000)
    notice.wait_for(state="hidden", timeout=5_000)


def take_to_the_end(page, site, person) -> None:
    for _ in range(60):
        wait_for_a_screen(page, site)
        if page.url.endswith("/debrief"):
            return
        person.answer()
    fail(page, site, "no debrief after 60 screens")


def one_answer_per_trial(database_url: str, slug: str) -> list:
    rows, _events = stored(database_url, slug)
    assert rows and all(response is not None for *_, response in rows)
    keys = [response.idempotency_key for *_, response in rows]
    assert len(set(keys)) == len(keys)
    return rows


def test_an_answer_sent_while_the_site_is_unreachable_is_stored_once(
    browser, served_study, screenshot_dir
):
    """The first answer reaches the server but its reply is lost, the resend finds the
    site unreachable for a moment: the runner says so, resends with the same key, and
    the answer is stored once; the study then goes on to the end."""
    site, slug, database_url = served_study(backend="sqlite")
    page = browser.new_page(viewport={"width": 1100, "height": 820})
    person = Participant(page, screenshot_dir)
    page.goto(f"{site.url}/s/{slug}/?pid=unreachable-for-a-moment")
    page.check("input[name=consent]")
    page.click("button[type=submit]")
    sent: list[str] = []
    state = {"down": True}

    def flaky(route) -> None:
        sent.append(json.loads(route.request.post_data)["idempotency_key"])
        if len(sent) == 1:
            route.fetch()  # the server stores it; the reply never arrives
            route.abort("connectionreset")
        elif state["down"]:
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.route("**/answer", flaky)
    page.get_by_role("link", name="Start").click()
    page.get_by_role("button", name="Start").click()
    page.locator("#runner-screen .stimulus").first.wait_for(state="visible", timeout=15_000)
    person.answer()
    notice = page.locator(".connection-notice")
    notice.wait_for(state="visible", timeout=10_000)
    assert "Connection lost, retrying" in notice.text_content()
    page.screenshot(path=str(screenshot_dir / "runner-answer-retrying.png"))
    for _ in range(100):  # let it find the site unreachable once or twice more
        if len(sent) >= 3:
            break
        page.wait_for_timeout(100)
    state["down"] = False
    notice.wait_for(state="hidden", timeout=15_000)
    assert len(sent) >= 3 and len(set(sent[:3])) == 1  # every resend with the same key
    page.unroute("**/answer")
    take_to_the_end(page, site, person)
    rows = one_answer_per_trial(database_url, slug)
    first = min(rows, key=lambda row: row[2].trial_index)
    assert first[3].idempotency_key == sent[0]


def test_a_refused_answer_can_be_given_again(browser, served_study, screenshot_dir):
    site, slug, database_url = served_study(backend="sqlite")
    page = browser.new_page(viewport={"width": 1100, "height": 820})
    person = Participant(page, screenshot_dir)
    page.goto(f"{site.url}/s/{slug}/?pid=refused-once")
    page.check("input[name=consent]")
    page.click("button[type=submit]")
    refused: list[int] = []

    def refuse_once(route) -> None:
        if refused:
            return route.continue_()
        refused.append(1)
        route.fulfill(status=400, json={"error": "The answer did not fit this screen."})

    page.route("**/answer", refuse_once)
    page.get_by_role("link", name="Start").click()
    page.get_by_role("button", name="Start").click()
    page.locator("#runner-screen .stimulus").first.wait_for(state="visible", timeout=15_000)
    person.answer()
    page.get_by_text("Your answer was not accepted").wait_for(timeout=10_000)
    assert "did not fit this screen" in page.text_content("#runner-screen")
    page.screenshot(path=str(screenshot_dir / "runner-answer-refused.png"))
    page.get_by_role("button", name="Answer again").click()
    take_to_the_end(page, site, person)
    assert refused == [1]
    one_answer_per_trial(database_url, slug)
