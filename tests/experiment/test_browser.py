"""A participant completes a short study in headless Chromium (Playwright), against
a real waitress server on 127.0.0.1 and a SQLite file; a trial page is saved to ``screenshot_dir``.
A bot takes the same study over real sockets."""

import re
import threading
from pathlib import Path

import httpx
import numpy as np
import pytest
import sqlalchemy as sa
import waitress
from werkzeug.security import generate_password_hash

from analysis.simulate import ModelObserver
from experiment import create_app, db
from experiment.bot import Bot
from experiment.config import SiteConfig
from experiment.models import Researcher, Response, Study, StudyStatus
from experiment.services.studies import create_study, set_status
from stimuli.encodings import ENCODINGS
from tests.experiment.conftest import TEST_SECRET_KEY, plan_seeds, small_study_params

SCREENSHOT_NAME = "screenshot-trial-grid.png"


@pytest.fixture
def live_server(request, tmp_path, real_stimulus_set, seed):
    """The site over real sockets with one open study: the short default one, or
    ``request.param``'s settings (``indirect`` parametrisation)."""
    settings = {
        "encodings": ("chernoff", "table", "plot"),
        "layouts": ("grid", "sequence"),
        "response_modes": ("mark_outliers", "keypress"),
        "trials_per_participant": 6,
        "practice_trials": 1,
        "attention_checks": 0,
        "frame_ms": 100,
        **getattr(request, "param", {}),
    }
    url = f"sqlite:///{tmp_path / 'browser.sqlite3'}"
    db.upgrade(url)
    config = SiteConfig(data_dir=tmp_path, database_url=url, secret_key=TEST_SECRET_KEY)
    app = create_app(config, plan_seed=plan_seeds(seed))
    session = app.extensions[db.EXTENSION_KEY].sessionmaker()
    researcher = Researcher(
        email="r@example.org", password_hash=generate_password_hash("pw", "pbkdf2:sha256:1000")
    )
    study = create_study(
        session,
        researcher=researcher,
        stimulus_set_folder=real_stimulus_set,
        params=small_study_params(**settings),
    )
    set_status(study, StudyStatus.open)
    session.commit()
    session.close()
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.effective_port}"
    server.close()
    thread.join(timeout=5)
    app.extensions[db.EXTENSION_KEY].dispose()


def open_page(browser) -> tuple:
    """A page that collects the browser's errors (script errors, console errors)."""
    page = browser.new_page(viewport={"width": 1000, "height": 760})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return page, errors


def click_and_wait_gone(locator) -> None:
    """Click the element and wait until that very element has left the page."""
    from playwright.sync_api import Error as PlaywrightError  # only where the browser runs

    handle = locator.element_handle()
    handle.click()
    try:
        handle.wait_for_element_state("hidden")
    except PlaywrightError as error:  # already detached: gone, which is what we wait for
        if "not attached" not in str(error):
            raise


def answer_screen(page, shots: list[str], screenshot: Path) -> None:
    """Do whatever the current runner screen asks, then wait until that screen is gone
    (so the next look never acts on a button that is about to be replaced)."""
    screen = page.locator("#runner-screen")
    if screen.locator("[data-action=submit]").count():
        if screen.locator(".item").count():
            screen.locator(".item").nth(1).click()
            pressed = screen.locator(".item[aria-pressed=true]")
            assert pressed.count() == 1  # exactly the one clicked
            if "grid" not in shots:
                page.screenshot(path=str(screenshot), full_page=True)
                shots.append("grid")
        elif screen.locator("table button").count():
            screen.locator("table button").first.click()
        else:
            image = screen.locator(".plot-wrap img")
            image.click(position={"x": 40, "y": 60})  # a mouse mark ...
            image.focus()  # ... and a keyboard one: move the cross, Enter
            for key in ("ArrowRight", "ArrowRight", "ArrowDown", "Enter"):
                page.keyboard.press(key)
            assert screen.locator(".plot-mark").count() == 2
        click_and_wait_gone(screen.locator("[data-action=submit]"))
    elif screen.locator("[data-action=press]").count():
        page.keyboard.press(" ")
        screen.locator("[data-action=press]").wait_for(state="detached", timeout=10_000)
    else:  # the Start / Next buttons between trials
        click_and_wait_gone(screen.get_by_role("button", name=re.compile("^(Start|Next)$")))


@pytest.mark.browser
@pytest.mark.slow
def test_participant_completes_a_short_study(browser, live_server, screenshot_dir):
    screenshot = screenshot_dir / SCREENSHOT_NAME
    app, base = live_server
    page, errors = open_page(browser)
    api_calls: list[str] = []
    page.on("request", lambda request: "/api/" in request.url and api_calls.append(request.url))
    page.goto(f"{base}/s/site-test/?pid=browser-1")
    page.check("input[name=consent]")
    page.click("button[type=submit]")
    page.get_by_role("link", name="Start").click()
    # the first pause already names its phase (the status bar said "Loading…" there)
    page.locator("#runner-screen button:visible").first.wait_for(timeout=15_000)
    assert page.text_content("#runner-phase") == "Practice"
    shots: list[str] = []
    for _ in range(40):
        # (no wait_for_function: the CSP rightly forbids eval, which it relies on)
        ready = page.locator("#runner-screen button:visible").or_(page.locator(".debrief-text"))
        try:
            ready.first.wait_for(timeout=15_000)
        except Exception:
            raise AssertionError(
                f"stuck: {page.url} {page.text_content('main')!r} {errors}"
            ) from None
        if page.url.endswith("/debrief"):
            break
        answer_screen(page, shots, screenshot)
    assert page.url.endswith("/debrief")
    assert "C0DE1234" in page.text_content("main")
    assert errors == []
    # what comes next came with the runner page and the practice replies: never asked
    assert api_calls and not [url for url in api_calls if "peek=" in url]
    assert shots and screenshot.exists()
    with app.extensions[db.EXTENSION_KEY].engine.connect() as connection:
        stored = connection.execute(sa.select(Response)).all()
    assert len(stored) == 7
    sequences = [r for r in stored if r.response_mode == "keypress"]
    assert sequences and all(r.frame_stats["n_frames"] == 6 for r in sequences)
    assert all(r.rt_ms and r.rt_ms > 0 for r in stored)
    page.close()


def test_bot_takes_the_study_over_real_http(live_server, real_stimulus_set):
    """The same server, driven by ``experiment.bot`` over sockets (as the demo and the
    load benchmark do) instead of in-process WSGI."""
    app, base = live_server
    with httpx.Client(base_url=base) as http:
        # a quick observer: the bot waits out each reaction time it states, for real here
        quick = ModelObserver.simple(
            {name: cls.bot_dprime for name, cls in ENCODINGS.items()}, rt_median_ms=150.0
        )
        bot = Bot(http, real_stimulus_set, observer=quick, rng=np.random.default_rng(11))
        run = bot.take("site-test", query={"PROLIFIC_PID": "live-bot", "SESSION_ID": "s1"})
    assert run.finished and run.trials == 7
    assert len(run.latencies_ms["answer"]) == 7
    with app.extensions[db.EXTENSION_KEY].engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(Response)).scalar() == 7


NEXT_GEN = {
    "title": "Next-gen faces",
    "slug": None,
    "encodings": ("chernoff",),
    "layouts": ("grid",),
    "response_modes": ("yes_no",),
    "response_mode_params": {"yes_no": {"yes_key": "j", "no_key": "f"}},
    "trials_per_participant": 2,
    "practice_trials": 0,
    "attention_checks": 0,
}


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("live_server", [NEXT_GEN], indirect=True)
def test_a_study_whose_address_starts_with_next_runs(browser, live_server):
    """ "Next-gen faces" gets the address /s/next-gen-faces-...: the runner's API base
    used to lose its "/next" (it stripped the first "/next" from the next-trial URL).
    Answered with the mode's own keys (J = yes), which the instructions name."""
    app, base = live_server
    with app.extensions[db.EXTENSION_KEY].engine.connect() as connection:
        slug = connection.execute(sa.select(Study.slug)).scalar_one()
    assert slug.startswith("next-gen-faces-")
    page, errors = open_page(browser)
    page.goto(f"{base}/s/{slug}/?pid=browser-next")
    page.check("input[name=consent]")
    page.click("button[type=submit]")
    start = page.get_by_role("link", name="Start")
    start.wait_for()  # the instructions page has loaded; .all() below does not wait
    assert [k.text_content() for k in page.locator("main kbd").all()] == ["J", "F"]
    start.click()
    click_and_wait_gone(page.get_by_role("button", name="Start"))
    for _ in range(2):
        try:
            page.locator("#runner-screen [data-action=yes]").wait_for(timeout=15_000)
        except Exception:
            raise AssertionError(f"{page.url} {page.text_content('main')} {errors}") from None
        assert page.locator("#runner-screen kbd").first.text_content() == "J"
        page.locator("#runner-screen .stimulus:not(.pending)").wait_for(timeout=15_000)
        page.keyboard.press("j")
        page.locator("#runner-screen [data-action=yes]").wait_for(state="detached")
    page.wait_for_url(re.compile(r"/debrief$"), timeout=15_000)
    assert errors == []
    with app.extensions[db.EXTENSION_KEY].engine.connect() as connection:
        said = connection.execute(sa.select(Response.said_present)).scalars().all()
    assert said == [True, True]
    page.close()
