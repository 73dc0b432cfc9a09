"""The audit's smaller findings (issue 15, point 7), one test each; every one failed before.

- ``POST /api/events`` with a ``kind`` that is not a string was a 500 (unhashable);
- dashboard ids past the database's INTEGER range were a 500 on PostgreSQL;
- a database outage was a 500, indistinguishable from a bug, and gave no retry hint;
- a stimulus set naming media outside its folder (or missing) was registered, and
  failed only once participants had consented;
- text cells like ``=HYPERLINK(...)`` reached ``trials.csv`` as live formulas.
"""

from __future__ import annotations

import csv
import io
import json
import shutil

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from experiment import create_app
from experiment.config import SiteConfig
from experiment.models import Event, StimulusSet, Trial
from experiment.services.trial_table import neutralise_formula, trial_table_csv
from tests.experiment.participant_client import Participant as Browser
from tests.experiment.participant_client import some_answer
from tests.experiment.test_auth import csrf_token, log_in
from tests.experiment.test_hostile_requests import assert_refused


@pytest.mark.parametrize("kind", [["blur"], {"blur": 1}, 7, None, True])
def test_an_event_kind_that_is_not_a_string_is_400(client, study, db_session, kind):
    browser = Browser(client)
    browser.consent()
    browser.open_runner()
    response = client.post("/s/site-test/api/events", headers=browser.headers, json={"kind": kind})
    assert_refused(response, 400, "kind must be one of")
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Event)) == 0


@pytest.mark.parametrize("study_id", ["2147483648", "99999999999999999999999", "0"])
def test_a_dashboard_id_out_of_range_is_404(client, researcher, study, study_id):
    assert log_in(client).status_code == 302
    for suffix in ("", "/progress.json", "/trials.csv"):
        assert client.get(f"/dashboard/studies/{study_id}{suffix}").status_code == 404
    token = csrf_token(client, "/dashboard/")
    response = client.post(f"/dashboard/studies/{study_id}/open", data={"csrf_token": token})
    assert response.status_code == 404


def test_a_database_outage_is_503_with_retry_after(data_dir):
    """A real outage: the configured PostgreSQL server does not answer (closed port)."""
    config = SiteConfig(
        data_dir=data_dir,
        database_url="postgresql+psycopg://postgres@127.0.0.1:9/glyphlab?connect_timeout=2",
        secret_key="glyphlab-test-secret-key-0123456789",
    )
    client = create_app(config).test_client()
    page = client.get("/s/some-study/")
    api = client.get("/s/some-study/api/next", headers={"X-Glyphlab-Token": "t"})
    for response in (page, api):
        assert_refused(response, 503, "nothing was lost")
        assert response.headers["Retry-After"] == "5"
        assert "127.0.0.1:9" not in response.get_data(as_text=True)
    assert api.is_json and api.json["status"] == 503


def _broken_copy(stimulus_set, data_dir, break_it) -> str:
    folder = data_dir / "stimuli" / "broken"
    shutil.copytree(stimulus_set, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    break_it(folder, manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return str(folder)


def _escape(_folder, manifest) -> None:
    manifest["stimuli"][0]["items"][0]["media"] = "truth.json"


def _missing(folder, manifest) -> None:
    (folder / manifest["stimuli"][-1]["items"][-1]["media"]).unlink()


@pytest.mark.parametrize(
    ("break_it", "message"), [(_escape, "truth.json"), (_missing, "no media file")]
)
def test_a_set_with_bad_media_paths_is_refused_at_registration(
    client, researcher, stimulus_set, data_dir, db_session, break_it, message
):
    folder = _broken_copy(stimulus_set, data_dir, break_it)
    assert log_in(client).status_code == 302
    token = csrf_token(client, "/dashboard/stimulus-sets")
    response = client.post("/dashboard/stimulus-sets", data={"csrf_token": token, "folder": folder})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in page and "regenerate the set" in page
    assert db_session.scalar(sa.select(sa.func.count()).select_from(StimulusSet)) == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("d07", "d07"),
        ("", ""),
    ],
)
def test_formula_prefixes_are_neutralised(text, expected):
    assert neutralise_formula(text) == expected


def test_the_trial_csv_holds_no_live_formula(client, study, db_session: Session):
    browser = Browser(client)
    browser.consent()
    browser.open_runner()
    trial = browser.next().json["trial"]
    browser.start(trial["id"])
    assert browser.answer(trial["id"], some_answer(trial)).status_code == 201
    stored = db_session.scalar(sa.select(Trial).where(Trial.public_id == trial["id"]))
    stored.dataset_id, stored.stimulus_id = '=HYPERLINK("http://evil")', "@cmd"
    db_session.commit()
    (row,) = csv.DictReader(io.StringIO(trial_table_csv(db_session, study.id)))
    assert row["dataset_id"] == '\'=HYPERLINK("http://evil")'
    assert row["stimulus_id"] == "'@cmd"
    assert row["selected"].startswith("[") and float(row["rt_ms"]) == 800.0
