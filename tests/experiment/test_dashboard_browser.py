"""The dashboard in headless Chromium: log in by keyboard, see progress, no CSP errors.

Saves dashboard.png (the study list) and dashboard-study.png (one study's progress)
in ``screenshot_dir`` (``GLYPHLAB_SCREENSHOTS=docs`` refreshes README's). Runs on SQLite
only: the pages are the same on PostgreSQL, which the other dashboard tests cover.
"""

from __future__ import annotations

import pytest

from experiment.models import StudyStatus
from experiment.services.studies import set_status
from tests.experiment.test_dashboard import take_study

pytestmark = pytest.mark.browser


def test_dashboard_in_chromium(
    browser, live_url, app, make_study, stimulus_set, db_session, screenshot_dir
):
    faces = make_study(title="Faces or tables? (pilot)", slug="pilot")
    for pid in ["p1", "p2", "p3", "p4", "p5"]:
        take_study(app, stimulus_set, faces.slug, pid=pid)
    take_study(app, stimulus_set, faces.slug, pid="p6", max_trials=3)
    make_study(
        open_=False,
        title="Sequences, 300 ms frames",
        slug="sequences",
        layouts=("sequence",),
        encodings=("chernoff", "table"),
        response_modes=("keypress",),
        frame_ms=300,
    )
    closed = make_study(
        title="Chernoff faces against tables",
        slug="chernoff-table",
        encodings=("chernoff", "table"),
    )
    for pid in ["p7", "p8"]:
        take_study(app, stimulus_set, closed.slug, pid=pid)
    set_status(closed, StudyStatus.closed)
    db_session.commit()

    page = browser.new_page(viewport={"width": 1200, "height": 720})
    problems: list[str] = []
    page.on(
        "console",
        lambda message: (
            message.type == "error"
            and "Failed to load resource" not in message.text
            and problems.append(message.text)
        ),
    )
    page.on(
        "response",
        lambda response: (
            response.status >= 400
            and not response.url.endswith("/favicon.ico")
            and problems.append(f"{response.status} {response.url}")
        ),
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{live_url}/dashboard/")
    assert "/login?next=/dashboard/" in page.url
    assert page.evaluate("document.activeElement.id") == "email"
    page.keyboard.type("researcher@example.org")
    page.keyboard.press("Tab")
    page.keyboard.type("correct horse battery staple")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_url}/dashboard/")
    rows = page.locator("table.studies tbody tr")
    assert rows.count() == 3
    statuses = page.locator("table.studies .status").all_inner_texts()
    assert sorted(statuses) == ["closed", "draft", "open"]
    page.screenshot(path=str(screenshot_dir / "dashboard.png"), full_page=True)

    page.click("text=Faces or tables? (pilot)")
    page.wait_for_selector("#progress")
    assert page.inner_text("[data-key=participants_started]").strip() == "6"
    assert page.inner_text("[data-key=participants_finished]").strip() == "5"
    page.screenshot(path=str(screenshot_dir / "dashboard-study.png"), full_page=True)
    progress = page.evaluate(
        "fetch(document.getElementById('progress').dataset.src).then(r => r.json())"
    )
    assert progress["participants_started"] == 6
    assert not problems, problems
    page.close()
