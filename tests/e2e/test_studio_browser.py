"""The studio in headless Chromium, end to end, as a researcher uses it.

On the real site (``glyphlab serve``, which starts a worker): log in, upload a CSV (10
rows, to keep CI short), map y -> smile and x -> age of the default neural-face
generator (MobileStyleGAN; its previews are drafts) with a log transform on x, watch the
preview change, view the sorted grid and the sequence (every row drawn by a job the
views page follows), download the MP4, save the set
and watch the job's progress, create a study from it and take one trial. Each studio
page is saved as a screenshot in ``screenshot_dir`` (``GLYPHLAB_SCREENSHOTS=docs/screenshots``
refreshes the ones in docs/).
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Error as PlaywrightError

from experiment.models import Job, JobStatus, Response
from glyphlab.site_process import SiteProcess, site_environment, site_session

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CSV = "x,y,z,outlier\n" + "".join(
    f"{x},{y},{z},{int(k == 3)}\n"
    for k, (x, y, z) in enumerate([
        (1.2, 3.1, 7), (8.5, 2.2, 1), (3.3, 5.9, 4), (20.0, 1.1, 9), (5.1, 4.4, 2),
        (2.7, 6.3, 8), (12.9, 3.8, 5), (4.4, 2.9, 3), (0.8, 5.2, 6), (9.6, 4.1, 0),
    ])
)  # fmt: skip


@pytest.fixture
def studio_site(tmp_path):
    environment = {**site_environment(tmp_path / "site"), "GLYPHLAB_JOB_HEARTBEAT_S": "1"}
    password = secrets.token_urlsafe(12)
    from experiment.auth.operations import create_researcher
    from experiment.config import SiteConfig

    url = SiteConfig.from_env(environment).database_url
    with site_session(url) as session:
        create_researcher(session, email="studio@example.org", password=password)
        session.commit()
    site = SiteProcess(environment, log_path=tmp_path / "site.log").start()
    yield site, password, url
    site.stop()


def until(page, condition, timeout_s: float = 30.0) -> None:
    """Poll ``condition`` (the site's CSP forbids Playwright's string-evaluated waits)."""
    for _ in range(int(timeout_s * 10)):
        if condition():
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"waited {timeout_s} s in vain on {page.url}: {page.text_content('main')}")


def shows(page, selector: str) -> bool:
    """Whether ``selector`` is on the page (False while the page reloads itself)."""
    try:
        return page.locator(selector).count() > 0
    except PlaywrightError:
        return False


def pick_axes(page) -> tuple[str, str]:
    """smile and age: the default generator (MobileStyleGAN) names them; DCGAN is offered too."""
    generators = page.locator("#generator option").all_text_contents()
    assert page.input_value("#generator") == "mobilestylegan" and "dcgan64" in generators
    names = page.locator("select[data-column=y] option").all_text_contents()[1:]
    assert {"smile", "age", "gender", "eye_size"} <= set(names), names
    return "smile", "age"


def test_researcher_turns_a_csv_into_a_study_in_the_studio(
    browser, studio_site, tmp_path, screenshot_dir
):
    site, password, database_url = studio_site
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))

    page.goto(f"{site.url}/login")
    page.fill("input[name=email]", "studio@example.org")
    page.fill("input[name=password]", password)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{site.url}/studio/")
    page.screenshot(path=str(screenshot_dir / "studio-start.png"), full_page=True)

    (tmp_path / "measurements.csv").write_text(CSV)
    page.set_input_files("#file", str(tmp_path / "measurements.csv"))
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url("**/studio/d/*")
    y_axis, x_axis = pick_axes(page)
    page.select_option("select[data-column=y]", y_axis)
    page.select_option("select[data-column=x]", x_axis)
    page.fill("#transforms_0", "log")
    preview = page.locator("#preview")
    until(page, lambda: "log" in (page.locator("#preview").get_attribute("data-query") or ""))
    preview.evaluate("img => img.decode()")
    before = preview.screenshot()
    first_query = preview.get_attribute("data-query")
    page.fill("#strength", "2.5")
    until(page, lambda: page.locator("#preview").get_attribute("data-query") != first_query)
    preview.evaluate("img => img.decode()")
    assert preview.screenshot() != before, "the preview follows the mapping"

    page.get_by_role("button", name="Apply the mapping").click()
    page.locator("main", has_text=f"z-score → {y_axis}").wait_for()  # the mapping page again
    main = page.text_content("main")
    assert f"log → z-score → {x_axis}" in main and f"z-score → {y_axis}" in main
    page.locator("#preview").evaluate("img => img.decode()")
    page.screenshot(path=str(screenshot_dir / "studio-mapping.png"), full_page=True)

    page.get_by_role("link", name="Views and downloads").click()
    page.wait_for_load_state()
    if shows(page, ".job"):  # the worker draws every row; the page follows its job
        page.screenshot(path=str(screenshot_dir / "studio-views-drawing.png"), full_page=True)
    until(page, lambda: shows(page, "#grid"), timeout_s=240)
    page.select_option("#sort", "y")
    page.fill("#play_ms", "300")
    page.get_by_role("button", name="Show").click()
    page.locator("main", has_text="300 ms a frame").wait_for()
    assert "sorted by y" in page.text_content("main") and "300 ms a frame" in page.text_content(
        "main"
    )
    for name in ("#grid", "#sequence"):
        assert page.locator(name).evaluate("img => img.decode().then(() => img.naturalWidth)") > 0
    page.screenshot(path=str(screenshot_dir / "studio-views.png"), full_page=True)
    with page.expect_download() as download:
        page.click("#download-mp4")
    video = download.value
    assert video.suggested_filename.endswith("-y.mp4")
    assert Path(video.path()).read_bytes()[4:8] == b"ftyp"

    page.get_by_role("link", name="Back to the mapping").click()
    page.get_by_role("button", name="Save as stimulus set").click()
    page.wait_for_url("**/jobs/*")
    seen = set()
    for _ in range(3000):  # the set's 30 faces come from the full network
        try:
            state = page.evaluate(
                "() => [document.querySelector('.job-status')?.textContent,"
                " document.querySelector('.job-bar')?.value]"
            )
        except PlaywrightError:  # the page reloads itself when the job finishes
            page.wait_for_load_state()
            continue
        seen.add((state[0], round(state[1] or 0, 2)))
        if state[0] == "running" and 0 < state[1] < 1 and "progress" not in {s for s, _ in seen}:
            page.screenshot(path=str(screenshot_dir / "studio-job.png"), full_page=True)
            seen.add(("progress", 0))
        if (
            state[0] == "done"
            and page.get_by_role("link", name="Create a study from this set").count()
        ):
            break
        page.wait_for_timeout(100)
    assert ("progress", 0) in seen, f"no progress seen between 0 and 1: {sorted(seen, key=str)}"
    page.screenshot(path=str(screenshot_dir / "studio-saved.png"), full_page=True)

    page.get_by_role("link", name="Create a study from this set").click()
    page.fill("#title", "Studio pilot")
    with site_session(database_url) as session:
        job = session.scalar(sa.select(Job).where(Job.kind == "stimulus_set"))
        assert job.status is JobStatus.done
        encoding = job.params["config"]["conditions"][0]["encoding"]
    for box in page.locator("input[name=encodings]").all():
        box.set_checked(box.get_attribute("value") == encoding)
    page.fill("#trials_per_participant", "1")
    page.fill("#practice_trials", "0")
    page.fill("#attention_checks", "0")
    page.get_by_role("button", name="Create study").click()
    opening = page.get_by_role("button", name="Open the study")
    try:
        opening.wait_for()
    except PlaywrightError:
        raise AssertionError(f"the study was not created: {page.text_content('main')}") from None
    opening.click()
    entry = page.locator("code.entry-url").first.text_content()

    participant = browser.new_page(viewport={"width": 1100, "height": 820})
    participant.on("pageerror", lambda error: errors.append(str(error)))
    participant.goto(f"{entry}?pid=studio-first")
    participant.check("input[name=consent]")
    participant.click("button[type=submit]")
    participant.get_by_role("link", name="Start").click()
    for _ in range(20):
        participant.locator("#runner-screen button:visible, .debrief-text").first.wait_for()
        if participant.url.endswith("/debrief"):
            break
        screen = participant.locator("#runner-screen")
        if screen.locator(".stimulus").count():
            screen.locator(".stimulus").first.wait_for(state="visible")
            screen.locator(".item").first.click()
            screen.locator("[data-action=submit]").click()
        else:
            # Start / Next (the practice feedback shows the display again, inert)
            screen.locator(":scope > button, :scope > .answer-bar button").first.click()
        participant.wait_for_timeout(200)
    assert participant.url.endswith("/debrief"), participant.text_content("main")
    with site_session(database_url) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Response)) == 1

    page.goto(f"{site.url}/studio/axes?n=12&seed=2")
    faces = page.locator(".face-picker img")
    assert faces.count() == 12
    for k in range(12):
        assert faces.nth(k).evaluate("img => img.decode().then(() => img.naturalWidth)") == 128
    for k in (1, 4, 7):
        page.locator(".face-picker input").nth(k).check()
    page.fill("#name", "glasses")
    page.screenshot(path=str(screenshot_dir / "studio-axes.png"), full_page=True)
    assert errors == []
