"""Inline media: a small trial's images come inside its JSON as data: URIs, a big one's
as media URLs; either way each display position shows the file of the item placed there."""

from __future__ import annotations

import base64

import pytest

from experiment.config import ConfigError, SiteConfig
from experiment.models import Trial
from experiment.stimulus_sets import StimulusSetError, load
from tests.experiment.conftest import TEST_SECRET_KEY
from tests.experiment.participant_client import Participant as Browser
from tests.experiment.participant_client import some_answer


def expected_bytes(stimulus_set, trial: Trial) -> list[bytes]:
    """The set's file for each display position of ``trial`` (truth-side view)."""
    loaded = load(stimulus_set)
    stimulus = loaded.stimuli[trial.stimulus_id]
    by_item = {int(e["item"]): e["media"] for e in stimulus["items"]}
    return [(loaded.folder / by_item[item]).read_bytes() for item in trial.display_order]


def served_bytes(client, sources: list[str]) -> list[bytes]:
    served = []
    for src in sources:
        if src.startswith("data:"):
            served.append(base64.b64decode(src.partition(",")[2]))
        else:
            response = client.get(src)
            assert response.status_code == 200
            served.append(response.data)
    return served


def image_trials(client, db_session):
    """Every image-grid trial one participant is served, with its stored row."""
    browser = Browser(client)
    browser.consent()
    browser.open_runner()
    while not (body := browser.next().json)["done"]:
        trial = body["trial"]
        if trial["display"] == "images":
            row = db_session.query(Trial).filter_by(public_id=trial["id"]).one()
            yield trial, row
        browser.start(trial["id"])
        assert browser.answer(trial["id"], some_answer(trial)).status_code == 201


def smallest_image_stimulus(stimulus_set) -> int:
    loaded = load(stimulus_set)
    return min(
        sum(loaded.media.size(e["media"]) for e in stimulus["items"])
        for stimulus in loaded.stimuli.values()
        if stimulus["items"] and all("media" in e for e in stimulus["items"])
    )


@pytest.fixture(params=["default", "off", "below every trial"])
def site_config(request, migrated_url, data_dir, stimulus_set) -> SiteConfig:
    limit = {
        "default": 256 * 1024,
        "off": 0,
        "below every trial": smallest_image_stimulus(stimulus_set) - 1,
    }[request.param]
    return SiteConfig(
        data_dir=data_dir,
        database_url=migrated_url,
        secret_key=TEST_SECRET_KEY,
        inline_media_bytes=limit,
    )


def test_every_position_shows_its_item_inline_or_by_url(
    client, db_session, study, stimulus_set, site_config
):
    seen = 0
    for trial, row in image_trials(client, db_session):
        sources = [image["src"] for image in trial["images"]]
        expected = expected_bytes(stimulus_set, row)
        fits = sum(map(len, expected)) <= site_config.inline_media_bytes
        assert [src.startswith("data:") for src in sources] == [fits] * len(sources)
        assert served_bytes(client, sources) == expected
        seen += 1
    assert seen > 0


def test_the_inline_limit_is_read_from_the_environment(tmp_path):
    base = {"GLYPHLAB_DATA_DIR": str(tmp_path), "GLYPHLAB_SECRET_KEY": "k" * 32}
    assert SiteConfig.from_env(base).inline_media_bytes == 256 * 1024
    off = SiteConfig.from_env({**base, "GLYPHLAB_INLINE_MEDIA_KB": "0"})
    assert off.inline_media_bytes == 0
    for bad in ("-1", "lots"):
        with pytest.raises(ConfigError, match="GLYPHLAB_INLINE_MEDIA_KB"):
            SiteConfig.from_env({**base, "GLYPHLAB_INLINE_MEDIA_KB": bad})


def test_media_outside_the_set_folder_is_refused(stimulus_set):
    with pytest.raises(StimulusSetError, match="outside media/"):
        load(stimulus_set).media.read("../truth.json")
