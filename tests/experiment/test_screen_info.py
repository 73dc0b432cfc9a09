"""Each tab's screen, window, pixel ratio and refresh rate, and each participant's
fullscreen exits and hidden-tab count, reach the trial table."""

from __future__ import annotations

import pytest

from experiment.services.trial_table import trial_table
from tests.experiment.participant_client import Participant as Browser
from tests.experiment.participant_client import some_answer

SCREEN = {
    "screen_width": 1920,
    "screen_height": 1080,
    "window_width": 1280,
    "window_height": 720,
    "device_pixel_ratio": 1.25,
    "refresh_hz": 59.9,
}


def take(client, browser: Browser) -> None:
    while not (nxt := browser.next().json)["done"]:
        trial = nxt["trial"]
        browser.start(trial["id"])
        assert browser.answer(trial["id"], some_answer(trial)).status_code == 201


def test_screen_and_fullscreen_exits_reach_the_trial_table(client, study, db_session):
    browser = Browser(client)
    browser.consent()
    browser.open_runner()
    api = "/s/site-test/api"
    assert client.post(f"{api}/screen", headers=browser.headers, json=SCREEN).status_code == 201
    for kind in ("fullscreen_enter", "fullscreen_exit", "fullscreen_exit", "visibility_hidden"):
        reply = client.post(f"{api}/events", headers=browser.headers, json={"kind": kind})
        assert reply.status_code == 201
    take(client, browser)
    other = Browser(client.application.test_client())  # measured nothing, left nothing
    other.consent()
    other.open_runner()
    take(other.client, other)
    table = trial_table(db_session, study.id)
    mine = table[table["screen_width"].notna()]
    assert len(mine) == len(table) / 2
    for name, value in SCREEN.items():
        assert (mine[name] == value).all(), name
    assert (mine["fullscreen_exits"] == 2).all() and (mine["times_hidden"] == 1).all()
    theirs = table[table["screen_width"].isna()]
    assert (theirs["fullscreen_exits"] == 0).all() and theirs["refresh_hz"].isna().all()


@pytest.mark.parametrize(
    "body",
    [{"refresh_hz": 0}, {"screen_width": -5}, {"device_pixel_ratio": "2"}, [1, 2]],
)
def test_implausible_screen_values_are_refused(client, study, body):
    browser = Browser(client)
    browser.consent()
    browser.open_runner()
    reply = client.post("/s/site-test/api/screen", headers=browser.headers, json=body)
    assert reply.status_code == 400 and reply.json["error"]
