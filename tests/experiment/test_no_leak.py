"""Ground truth never reaches the browser: a full participant run, every page, JSON,
media URL and header is scanned for what would reveal an outlier, with media inline
(data: URIs) and as URLs."""

import base64
import json
import re

import pytest

from experiment.config import SiteConfig
from experiment.stimulus_sets import load
from tests.experiment.conftest import TEST_SECRET_KEY
from tests.experiment.participant_client import Participant as Browser
from tests.experiment.participant_client import some_answer

ALLOWED_TRIAL_KEYS = {
    "id",
    "phase",
    "number",
    "of",
    "encoding",
    "layout",
    "response_mode",
    "response_mode_version",
    "params",
    "keys",
    "deadline_ms",
    "time_left_ms",
    "fixation_ms",
    "frame_ms",
    "n_items",
    "display",
    "images",
    "rows",
    "composite",
}


def secrets_of(stimulus_set):
    """Strings that must never be served: media names, stimulus and dataset ids."""
    loaded = load(stimulus_set)
    names = set()
    for stimulus in loaded.stimuli.values():
        names.add(stimulus["stimulus_id"])
        for entry in stimulus.get("items", []):
            if "media" in entry:
                names.add(entry["media"].split("/")[-1].split(".")[0])
        if stimulus.get("media"):
            names.add(stimulus["media"].split("/")[-1].split(".")[0])
    return names | {f'"{d}"' for d in loaded.datasets}


def media_bytes_of(stimulus_set, role: str | None = None) -> set[bytes]:
    """The bytes of the set's media files (only of ``role``'s datasets, if given)."""
    if role is None:
        return {path.read_bytes() for path in (stimulus_set / "media").iterdir()}
    loaded = load(stimulus_set)
    names = set()
    for stimulus in loaded.stimuli.values():
        if loaded.role(stimulus) == role:
            names |= {e["media"] for e in stimulus.get("items", []) if "media" in e}
            names |= {stimulus["media"]} if stimulus.get("media") else set()
    return {(stimulus_set / name).read_bytes() for name in names}


DATA_URI = re.compile(r"data:[a-z/]+;base64,([A-Za-z0-9+/=]+)")


@pytest.fixture(params=[256 * 1024, 0], ids=["inline", "urls"])
def site_config(request, migrated_url, data_dir) -> SiteConfig:
    return SiteConfig(
        data_dir=data_dir,
        database_url=migrated_url,
        secret_key=TEST_SECRET_KEY,
        inline_media_bytes=request.param,
    )


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {
            "encodings": ("chernoff", "table"),
            "layouts": ("grid", "sequence"),
            "response_modes": ("yes_no",),
        },
        {
            "encodings": ("chernoff", "table"),
            "layouts": ("sequence",),
            "response_modes": ("keypress",),
        },
        {"response_modes": ("m_afc",)},
    ],
    ids=["mark_outliers", "yes_no", "keypress", "m_afc"],
)
def test_nothing_served_reveals_truth(client, make_study, stimulus_set, site_config, overrides):
    make_study(**overrides)
    forbidden = secrets_of(stimulus_set)
    served: list[str] = []

    def keep(response):
        served.append(response.get_data(as_text=True))
        served.append(json.dumps(dict(response.headers)))
        return response

    browser = Browser(client)
    keep(client.get("/s/site-test/"))
    browser.consent()
    instructions = client.get("/s/site-test/instructions").get_data(as_text=True)
    # The worked examples show practice data only, inline whatever the media setting,
    # their outliers marked by design; nothing else on the page names anything.
    shown = {base64.b64decode(data) for data in DATA_URI.findall(instructions)}
    assert shown and shown <= media_bytes_of(stimulus_set, role="practice")
    served.append(DATA_URI.sub("data:", instructions))
    keep(client.get("/s/site-test/run"))
    browser.open_runner()
    while not (nxt := keep(browser.next()).json)["done"]:
        trial = nxt["trial"]
        assert set(trial) <= ALLOWED_TRIAL_KEYS
        assert set(trial) & {"images", "rows", "composite"}
        composite = trial.get("composite", {}).get("src")
        for src in [i["src"] for i in trial.get("images", [])] + [composite]:
            if src and not src.startswith("data:"):
                media = client.get(src)
                assert media.status_code == 200 and "ETag" not in media.headers
                assert not {"Last-Modified", "Content-Disposition"} & set(media.headers.keys())
                served.append(json.dumps(dict(media.headers)))
        keep(browser.start(trial["id"]))
        reply = keep(browser.answer(trial["id"], some_answer(trial))).json
        # truth reaches the browser only for practice, after the answer, in its feedback
        if trial["phase"] == "practice":
            assert set(reply["feedback"]) <= {"correct", "message", "odd", "why"}
        else:
            assert reply["feedback"] is None
    keep(client.get("/s/site-test/debrief"))
    text = "\n".join(served)
    # Inline media are exactly the set's image bytes (what any browser must get), and
    # their base64 is left out of the text scan, where a short id could match by chance.
    inline = DATA_URI.findall(text)
    assert bool(inline) == bool(site_config.inline_media_bytes)
    assert {base64.b64decode(data) for data in inline} <= media_bytes_of(stimulus_set)
    text = DATA_URI.sub("data:", text)
    leaked = sorted(name for name in forbidden if name in text)
    assert leaked == []
    # no item index is named anywhere: the only per-item keys are display positions
    assert not re.search(r'"(item|items|outlier|outliers|true_outliers|is_attention_check)"', text)


def test_positions_are_shuffled_per_participant(client, study, app, db_session):
    from experiment.models import Trial

    for _ in range(3):
        browser = Browser(app.test_client())
        browser.consent()
    orders = {tuple(t.display_order) for t in db_session.query(Trial).filter(Trial.is_practice)}
    assert len(orders) > 1
