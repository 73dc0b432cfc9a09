"""The load benchmark's CPU per request kind: off by default; on, every request of the
runner is counted under its view's endpoint (the peek apart) and written at exit."""

from __future__ import annotations

import dataclasses

import pytest

from experiment.config import SiteConfig
from experiment.cpu_accounting import CpuAccounting, read_totals
from tests.experiment.conftest import TEST_SECRET_KEY
from tests.experiment.participant_client import Participant as Browser
from tests.experiment.participant_client import some_answer


@pytest.fixture
def site_config(site_config, tmp_path):
    return dataclasses.replace(site_config, cpu_accounting_dir=tmp_path / "cpu")


def test_each_request_kind_is_counted_and_written(app, client, study, tmp_path):
    browser = Browser(client)
    browser.consent()
    browser.open_runner()
    peek = client.get(f"/s/{browser.slug}/api/next?peek=1", headers=browser.headers)
    assert peek.json["done"] is False  # the body read: counted once it is sent
    answered = 0
    while not (body := browser.next().json)["done"]:
        trial = body["trial"]
        assert browser.answer(trial["id"], some_answer(trial)).status_code == 201  # starts it
        answered += 1
    accounting = app.wsgi_app
    assert isinstance(accounting, CpuAccounting)
    accounting.dump()
    totals = read_totals(tmp_path / "cpu")
    assert totals["participant_api.start"]["n"] == answered
    assert totals["participant_api.answer"]["n"] == answered
    assert totals["participant_api.next_trial:peek"]["n"] == 1
    assert totals["participant.consent"]["n"] == 1
    assert all(total["cpu_s"] > 0 for total in totals.values())


def test_accounting_is_off_unless_a_folder_is_given(tmp_path):
    base = {"GLYPHLAB_DATA_DIR": str(tmp_path), "GLYPHLAB_SECRET_KEY": TEST_SECRET_KEY}
    assert SiteConfig.from_env(base).cpu_accounting_dir is None
    on = SiteConfig.from_env({**base, "GLYPHLAB_CPU_ACCOUNTING_DIR": str(tmp_path / "cpu")})
    assert on.cpu_accounting_dir == (tmp_path / "cpu").resolve()
