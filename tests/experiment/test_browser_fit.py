"""Every trial screen fits the window without scrolling, and yes/no items are not buttons.

Headless Chromium (Playwright) against a real waitress server on a SQLite file, with a
set made by ``stimuli.generate_stimulus_set`` (16 items a dataset, the issue's case: a
16-face grid whose buttons fell below the fold at 1280x800): neural faces (DCGAN),
Chernoff faces, table and plot as grids, Chernoff faces as a sequence. At 1280x720,
1920x1080 and a phone's 390x844, each encoding's trial screen must have
``scrollHeight <= innerHeight``, its answer buttons and the time bar inside the window,
and the prompt must not move when a sequence ends.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import waitress
from werkzeug.security import generate_password_hash

from experiment import create_app, db
from experiment.config import SiteConfig
from experiment.models import BrowserSession, Participant, Researcher, Response, Study, StudyStatus
from experiment.services.studies import create_study, set_status
from experiment.services.trial_table import trial_table
from stimuli import StimulusSetConfig, generate_stimulus_set
from tests.experiment.conftest import TEST_SECRET_KEY, plan_seeds, small_study_params

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ITEMS = {"n_items": 16, "n_features": 3, "n_informative": 2, "noise": 1.0}
GRIDS = ("gan_face", "chernoff", "table", "plot")
PHONE_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Mobile Safari/537.36"
)
VIEWPORTS = {
    "1280x720": {"viewport": {"width": 1280, "height": 720}},
    "1920x1080": {"viewport": {"width": 1920, "height": 1080}},
    "390x844": {
        "viewport": {"width": 390, "height": 844},
        "user_agent": PHONE_UA,
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 3,
    },
}
#: slug -> study settings; every study but one takes phones, down to a phone's window
STUDIES = {
    "fit-grids": {
        "encodings": GRIDS,
        "layouts": ("grid",),
        "response_modes": ("mark_outliers",),
        "trials_per_participant": 4,
        "practice_trials": 0,
    },
    "fit-yes-no": {
        "encodings": GRIDS,
        "layouts": ("grid",),
        "response_modes": ("yes_no",),
        "trials_per_participant": 4,
        "practice_trials": 0,
    },
    "fit-practice": {
        "encodings": GRIDS,
        "layouts": ("grid",),
        "response_modes": ("mark_outliers",),
        "trials_per_participant": 4,
        "practice_trials": 4,  # one per encoding
    },
    "fit-no-phones": {
        "encodings": ("chernoff",),
        "layouts": ("grid",),
        "response_modes": ("mark_outliers",),
        "trials_per_participant": 1,
        "practice_trials": 0,
        "allow_phones": False,
    },
    "fit-sequence": {
        "encodings": ("chernoff",),
        "layouts": ("sequence",),
        "response_modes": ("yes_no",),  # answered after the end: "End of sequence." shows
        "trials_per_participant": 2,
        "practice_trials": 0,
        "frame_ms": 150,
    },
}


@pytest.fixture(scope="module")
def fit_stimulus_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = StimulusSetConfig.from_dict(
        {
            "name": "fit-test",
            "seed": 12,
            "frame_ms": 150,
            "video": False,
            "datasets": [
                {"role": "main", "count": 4, "n_outliers": 1, "magnitude_sd": 5.0, **ITEMS},
                {"role": "main", "count": 4, "n_outliers": 0, **ITEMS},
                {"role": "practice", "count": 2, "n_outliers": 1, "magnitude_sd": 6.0, **ITEMS},
                {"role": "attention_check", **ITEMS},
            ],
            "encoding_params": {"gan_face": {"backend": "dcgan64"}},
            "conditions": [{"encoding": e, "layout": "grid"} for e in GRIDS]
            + [{"encoding": "chernoff", "layout": "sequence", "roles": ["main"]}],
        }
    )
    return generate_stimulus_set(config, tmp_path_factory.mktemp("fit-set"), progress=False)


@pytest.fixture(scope="module")
def fit_server(tmp_path_factory, fit_stimulus_set) -> Iterator[tuple]:
    folder = tmp_path_factory.mktemp("fit-site")
    url = f"sqlite:///{folder / 'fit.sqlite3'}"
    db.upgrade(url)
    config = SiteConfig(data_dir=folder, database_url=url, secret_key=TEST_SECRET_KEY)
    app = create_app(config, plan_seed=plan_seeds(7))
    session = app.extensions[db.EXTENSION_KEY].sessionmaker()
    researcher = Researcher(
        email="fit@example.org", password_hash=generate_password_hash("pw", "pbkdf2:sha256:1000")
    )
    for slug, settings in STUDIES.items():
        params = small_study_params(
            title="Which one does not fit?",
            slug=slug,
            attention_checks=0,
            min_viewport_width=360,
            min_viewport_height=560,
            **{"allow_phones": True, **settings},
        )
        study = create_study(
            session, researcher=researcher, stimulus_set_folder=fit_stimulus_set, params=params
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


def new_page(browser, viewport: str):
    from playwright.sync_api import Error as PlaywrightError  # only where the browser runs

    context = browser.new_context(**VIEWPORTS[viewport])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.trials = {}  # the trial on screen, from ``next`` or an answer's reply

    def remember(response) -> None:
        try:
            if response.url.endswith("/api/next") and response.status == 200:
                body = response.json()
                page.trials["now"] = None if body.get("done") else body["trial"]
            elif response.url.endswith("/answer") and response.status in (200, 201):
                page.trials["now"] = response.json().get("next")
        except PlaywrightError:  # the last answer's reply: the page has moved on
            page.trials["now"] = None

    page.on("response", remember)
    return page, errors


#: screenshot name of each encoding's trial screen (docs/screenshots/participant-*.png)
SCREEN_NAMES = {
    "gan_face": "face-grid",
    "chernoff": "chernoff-grid",
    "table": "table",
    "plot": "plot",
}
#: the viewports whose screenshots docs/ shows, by the name they get there
SHOT_SIZES = {"1280x720": "desktop", "390x844": "phone"}


def shoot(page, folder: Path, screen: str, viewport: str, *, full_page: bool = False) -> None:
    """``participant-<screen>-<desktop|phone>.png`` in ``folder`` (the docs' pictures when
    GLYPHLAB_SCREENSHOTS=docs/screenshots); other sizes are not kept."""
    if viewport in SHOT_SIZES:
        name = f"participant-{screen}-{SHOT_SIZES[viewport]}.png"
        page.screenshot(path=str(folder / name), full_page=full_page, scale="css")


def enter(page, base: str, slug: str, pid: str, instructions=None, consent=None) -> None:
    page.goto(f"{base}/s/{slug}/?pid={pid}")
    if consent is not None:
        consent(page)
    page.check("input[name=consent]")
    page.click("button[type=submit]")
    if instructions is not None:
        instructions(page)
    page.get_by_role("link", name="Start").click()
    start = page.locator("#runner-screen").get_by_role("button", name="Start")
    start.wait_for(timeout=15_000)
    start.click()


MEASURE = """() => {
  const box = (el) => { if (!el) return null; const r = el.getBoundingClientRect();
    return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; };
  const stimulus = document.querySelector('#runner-screen .stimulus');
  const inner = stimulus.firstElementChild;
  return {
    scrollHeight: document.scrollingElement.scrollHeight,
    scrollWidth: document.scrollingElement.scrollWidth,
    innerHeight: window.innerHeight,
    innerWidth: window.innerWidth,
    controls: [...document.querySelectorAll('#runner-screen [data-action]')].map(box),
    timeBar: box(document.getElementById('runner-time')),
    prompt: box(document.querySelector('#runner-screen .prompt')),
    stimulus: box(inner),
    items: [...document.querySelectorAll('#runner-screen .item')].map(box),
    tableFont: (() => { const t = document.querySelector('.stimulus-table');
      return t ? parseFloat(getComputedStyle(t).fontSize) : null; })(),
    plot: (() => { const i = document.querySelector('.plot-wrap img');
      return i ? box(i) : null; })(),
  };
}"""


def assert_fits(measure: dict, what: str) -> None:
    width, height = measure["innerWidth"], measure["innerHeight"]
    assert measure["scrollHeight"] <= height, f"{what}: page scrolls ({measure})"
    assert measure["scrollWidth"] <= width, f"{what}: page scrolls sideways ({measure})"
    boxes = [("time bar", measure["timeBar"])] + [("control", c) for c in measure["controls"]]
    for name, box in boxes:
        assert box["top"] >= 0 and box["bottom"] <= height, f"{what}: {name} outside {box}"
        assert box["left"] >= 0 and box["right"] <= width, f"{what}: {name} outside {box}"
    stimulus = measure["stimulus"]
    assert stimulus["bottom"] <= height and stimulus["right"] <= width, f"{what}: {stimulus}"


def gone(handle) -> None:
    """Wait until the element behind ``handle`` has left the page (or is hidden)."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        handle.wait_for_element_state("hidden")
    except PlaywrightError as error:
        if "not attached" not in str(error):
            raise


def trial_screens(page, errors) -> Iterator[str]:
    """Yield the encoding of each trial as it is on screen (stimulus shown), until the
    debrief; the caller answers it."""
    for _ in range(20):
        ready = page.locator("#runner-screen .stimulus:not(.pending)").or_(
            page.locator(".debrief-text")
        )
        ready.first.wait_for(timeout=15_000)
        if page.url.endswith("/debrief"):
            return
        assert not errors, errors
        yield (page.trials.get("now") or {}).get("encoding", "?")


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_every_trial_screen_fits_the_window(browser, fit_server, viewport, screenshot_dir):
    _app, base = fit_server
    seen = {}
    for slug in ("fit-grids", "fit-yes-no"):
        page, errors = new_page(browser, viewport)
        first = slug == "fit-grids"
        enter(
            page,
            base,
            slug,
            f"fit-{slug}-{viewport}",
            consent=(lambda p: shoot(p, screenshot_dir, "consent", viewport)) if first else None,
        )
        for encoding in trial_screens(page, errors):
            page.wait_for_timeout(100)  # a resize observer's turn
            measure = page.evaluate(MEASURE)
            assert_fits(measure, f"{slug} {encoding} at {viewport}")
            if measure["items"]:
                assert min(b["bottom"] - b["top"] for b in measure["items"]) >= 40
            if measure["tableFont"] is not None:
                assert measure["tableFont"] >= 9, measure
            seen[(slug, encoding)] = measure
            if slug == "fit-grids":
                shoot(page, screenshot_dir, f"trial-{SCREEN_NAMES[encoding]}", viewport)
            elif encoding in ("gan_face", "table"):  # the cases: faces, Pick buttons
                shoot(page, screenshot_dir, f"yes-no-{SCREEN_NAMES[encoding]}", viewport)
            screen = page.locator("#runner-screen")
            shown = screen.locator(".stimulus").element_handle()
            if screen.locator("[data-action=submit]").count():
                screen.locator("[data-action=submit]").click()
            else:
                screen.locator("[data-action=yes]").click()
            gone(shown)
        assert page.url.endswith("/debrief")
        if first:
            page.locator(".debrief-text").wait_for()
            shoot(page, screenshot_dir, "debrief", viewport)
        page.context.close()
    assert {e for _, e in seen} == set(GRIDS)

    page, errors = new_page(browser, viewport)
    enter(page, base, "fit-sequence", f"fit-sequence-{viewport}")
    page.locator("#runner-screen .stimulus:not(.pending) .frame img").wait_for(timeout=15_000)
    during = page.evaluate(MEASURE)
    shoot(page, screenshot_dir, "trial-sequence", viewport)
    assert_fits(during, f"sequence at {viewport}")
    page.locator("#runner-screen .frame .message").wait_for(timeout=15_000)
    after = page.evaluate(MEASURE)
    assert_fits(after, f"sequence ended at {viewport}")
    assert after["prompt"] == during["prompt"], "the prompt moved when the sequence ended"
    assert after["controls"] == during["controls"], "the buttons moved when the sequence ended"
    for _ in range(2):
        shown = page.locator("#runner-screen .stimulus").element_handle()
        page.locator("#runner-screen [data-action=no]").click()
        gone(shown)
        page.locator("#runner-screen .stimulus, .debrief-text").first.wait_for(timeout=15_000)
    page.wait_for_url(re.compile(r"/debrief$"), timeout=15_000)
    assert not errors, errors
    page.context.close()


def test_yes_no_items_are_not_buttons_and_clicks_post_nothing(browser, fit_server):
    """Clicking faces, table rows and the plot in a yes/no trial does nothing (no
    request, no wrong-shaped answer); Yes / No then answer, and the answer is stored."""
    app, base = fit_server
    page, errors = new_page(browser, "1280x720")
    posted: list[str] = []
    page.on("request", lambda r: posted.append(r.url) if r.method == "POST" else None)
    enter(page, base, "fit-yes-no", "fit-clicker")
    answers = []
    for encoding in trial_screens(page, errors):
        screen = page.locator("#runner-screen")
        stimulus = screen.locator(".stimulus")
        shown = stimulus.element_handle()
        assert stimulus.locator("button, [tabindex], [role=button]").count() == 0, encoding
        before = len([u for u in posted if u.endswith("/answer")])
        for target in ("img", "td", "tr"):
            found = stimulus.locator(target)
            for k in range(min(found.count(), 3)):
                found.nth(k).click(force=True)
        page.wait_for_timeout(150)
        assert len([u for u in posted if u.endswith("/answer")]) == before, encoding
        assert screen.locator("[role=alert]").count() == 0
        said = len(answers) % 2 == 0
        answers.append(said)
        screen.locator(f"[data-action={'yes' if said else 'no'}]").click()
        gone(shown)
    assert page.url.endswith("/debrief")
    assert not errors, errors
    with app.extensions[db.EXTENSION_KEY].engine.connect() as connection:
        rows = connection.execute(
            sa.select(Response.said_present, Response.timed_out, Response.raw).order_by(Response.id)
        ).all()
    mine = rows[-len(answers) :]
    assert [r.said_present for r in mine] == answers
    assert not any(r.timed_out for r in mine)
    assert all(r.raw["response"] == {"present": s} for r, s in zip(mine, answers, strict=True))
    page.context.close()


@pytest.mark.parametrize("viewport", ["1280x720", "390x844"])
def test_practice_feedback_marks_the_outlier_and_says_why(
    browser, fit_server, viewport, screenshot_dir
):
    """The instructions show a worked example per encoding (outlier marked, reason in
    words); each practice answer is followed by the same display with the outlier marked
    and why it is odd, fitting the window like the trial did."""
    _app, base = fit_server
    page, errors = new_page(browser, viewport)

    def instructions(page) -> None:
        examples = page.locator(".worked-example")
        assert examples.count() == len(GRIDS)
        for k in range(examples.count()):
            example = examples.nth(k)
            assert example.locator(".is-odd, .odd-ring").count() >= 1
            assert "In the other" in example.locator("figcaption").text_content()
        shoot(page, screenshot_dir, "instructions", viewport, full_page=True)

    enter(page, base, "fit-practice", f"fit-practice-{viewport}", instructions)
    for _ in range(len(GRIDS)):
        page.locator("#runner-screen .stimulus:not(.pending)").wait_for(timeout=15_000)
        encoding = (page.trials.get("now") or {}).get("encoding", "?")
        assert page.trials["now"]["phase"] == "practice"
        page.locator("#runner-screen [data-action=submit]").click()  # nothing marked
        feedback = page.locator("#runner-screen .feedback-display")
        feedback.wait_for(timeout=15_000)
        page.wait_for_timeout(100)
        assert feedback.locator(".is-odd, .plot-odd").count() >= 1, encoding
        assert "In the other" in page.locator("#runner-screen .why").text_content()
        measure = page.evaluate(MEASURE.replace("#runner-screen .stimulus", ".feedback-display"))
        assert_fits(measure, f"practice feedback {encoding} at {viewport}")
        next_button = page.locator("#runner-screen").get_by_role("button", name="Next")
        box = next_button.bounding_box()
        assert box["y"] + box["height"] <= measure["innerHeight"]
        shoot(page, screenshot_dir, f"feedback-{SCREEN_NAMES[encoding]}", viewport)
        next_button.click()
    page.locator("#runner-screen").get_by_role("button", name="Start").wait_for()
    assert not errors, errors
    page.context.close()


def test_full_screen_is_asked_for_and_leaving_it_is_counted(browser, fit_server):
    """Start asks for full screen; leaving it is an event, the status bar offers to go
    back, and the trial table counts the exits next to the tab's measured screen."""
    app, base = fit_server
    page, errors = new_page(browser, "1280x720")
    enter(page, base, "fit-sequence", "fit-fullscreen")
    token = page.locator("meta[name=glyphlab-token]").get_attribute("content")
    page.locator("#runner-screen .stimulus:not(.pending)").wait_for(timeout=15_000)
    assert page.evaluate("() => Boolean(document.fullscreenElement)")
    button = page.locator("#runner-fullscreen")
    page.wait_for_timeout(1500)  # the refresh rate is measured over a second
    assert button.is_hidden()
    page.evaluate("() => document.exitFullscreen()")
    button.wait_for(state="visible")
    button.click()
    button.wait_for(state="hidden")
    page.evaluate("() => document.exitFullscreen()")
    button.wait_for(state="visible")
    for _ in range(2):
        shown = page.locator("#runner-screen .stimulus").element_handle()
        page.locator("#runner-screen [data-action=no]").click()
        gone(shown)
        page.locator("#runner-screen .stimulus, .debrief-text").first.wait_for(timeout=15_000)
    assert not errors, errors
    with app.app_context():
        session = app.extensions[db.EXTENSION_KEY].sessionmaker()
        study_id = session.scalar(sa.select(Study.id).where(Study.slug == "fit-sequence"))
        table = trial_table(session, study_id)
        code = session.scalar(
            sa.select(Participant.code)
            .join(BrowserSession, BrowserSession.participant_id == Participant.id)
            .where(BrowserSession.token == token)
        )
        session.close()
    mine = table[table["participant"] == code]
    assert len(mine) == 2
    row = mine.iloc[0]
    assert row["fullscreen_exits"] == 2
    assert row["window_width"] == 1280 and row["device_pixel_ratio"] == 1
    assert 20 <= row["refresh_hz"] <= 500, row["refresh_hz"]
    page.context.close()


@pytest.mark.parametrize("viewport", list(SHOT_SIZES))
def test_a_study_without_phones_refuses_a_phone_politely(
    browser, fit_server, viewport, screenshot_dir
):
    """A phone (User-Agent ``Mobi``) gets the polite page, whatever its window size."""
    _app, base = fit_server
    context = browser.new_context(**{**VIEWPORTS[viewport], "user_agent": PHONE_UA})
    page = context.new_page()
    page.goto(f"{base}/s/fit-no-phones/?pid=fit-phone-{viewport}")
    assert page.locator(".phone-refused").is_visible()
    assert page.locator("input[name=consent]").count() == 0
    shoot(page, screenshot_dir, "phone-refused", viewport)
    context.close()
