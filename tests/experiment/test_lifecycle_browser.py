"""A researcher's study life cycle and a consent decline, in headless Chromium.

A study the set cannot cover is refused on the form with what is missing; a draft is
previewed from the dashboard and the preview stays out of the progress; a participant
declines at the consent page and only the count changes. Screenshots (consent,
declined, the refused form, the study page with its design) go to ``screenshot_dir``.
"""

from __future__ import annotations

import shutil

import pytest
import sqlalchemy as sa

from experiment.models import Participant, StimulusSet, Study

pytestmark = pytest.mark.browser


def _log_in(page, base: str, path: str) -> None:
    page.goto(f"{base}{path}")
    page.fill("#email", "researcher@example.org")
    page.fill("#password", "correct horse battery staple")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}{path}")


def _watch(page) -> list[str]:
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "console",
        lambda m: m.type == "error" and "Failed to load" not in m.text and problems.append(m.text),
    )
    return problems


def test_refused_study_and_preview_in_chromium(
    browser, live_url, researcher, stimulus_set, data_dir, db_session, screenshot_dir
):
    shutil.copytree(stimulus_set, data_dir / "stimuli" / "set-a")
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    problems = _watch(page)
    _log_in(page, live_url, "/dashboard/stimulus-sets")
    page.fill("#folder", "stimuli/set-a")
    page.click("text=Register stimulus set")
    page.goto(f"{live_url}/dashboard/studies/new")
    page.fill("#title", "Too many trials")
    page.fill("#trials_per_participant", "40")  # 4 encodings x 10: the set has 12
    page.click("input[type=submit][value='Create study']")
    summary = page.locator("#error-summary")
    summary.wait_for()
    assert "40 of any kind for mark_outliers (grid) (12 available, 28 missing)" in (
        summary.inner_text()
    )
    page.screenshot(path=str(screenshot_dir / "dashboard-refused.png"), full_page=True)
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Study)) == 0

    page.fill("#trials_per_participant", "8")
    page.click("input[type=submit][value='Create study']")
    page.locator("#design").wait_for()
    study = db_session.scalar(sa.select(Study))
    assert study.stimulus_set_id == db_session.scalar(sa.select(StimulusSet.id))
    assert page.locator(".design-table tbody tr").count() == 4  # four Latin-square rows
    page.screenshot(path=str(screenshot_dir / "dashboard-design.png"), full_page=True)

    page.click("text=Preview as a participant")
    page.wait_for_url(f"{live_url}/s/{study.slug}/instructions")
    page.goto(f"{live_url}/dashboard/studies/{study.id}")
    assert page.inner_text("[data-key=participants_started]").strip() == "0"
    page.goto(f"{live_url}/dashboard/studies/{study.id}/participants")
    assert page.locator("tr.preview").count() == 1
    db_session.expire_all()
    assert db_session.scalar(sa.select(Participant.is_preview)) is True
    assert not problems, problems
    page.close()


def test_a_consent_decline_in_chromium(browser, live_url, study, db_session, screenshot_dir):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    problems = _watch(page)
    page.goto(f"{live_url}/s/{study.slug}/?PROLIFIC_PID=someone&SESSION_ID=s1")
    page.screenshot(path=str(screenshot_dir / "consent.png"), full_page=True)
    page.click("[data-action=decline]")
    page.locator(".declined-message").wait_for()
    page.screenshot(path=str(screenshot_dir / "declined.png"), full_page=True)
    db_session.expire_all()
    assert db_session.get(Study, study.id).declined_count == 1
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Participant)) == 0
    assert not problems, problems
    page.close()


def test_a_small_window_holds_the_consent_back_until_enlarged(browser, live_url, study):
    page = browser.new_page(viewport={"width": 800, "height": 560})
    problems = _watch(page)
    page.goto(f"{live_url}/s/{study.slug}/?pid=small-window")
    note = page.locator(".screen-too-small")
    assert note.is_visible() and "800 × 560" in note.inner_text()
    assert page.locator(".consent-form button[type=submit]").is_disabled()
    page.set_viewport_size({"width": 1280, "height": 720})
    note.wait_for(state="hidden")
    assert page.locator(".consent-form button[type=submit]").is_enabled()
    assert not problems, problems
    page.close()
