"""The dashboard: own studies only, creating/opening/closing, live progress, the CSV.

Progress and the CSV are checked on a study that participants answered through the
real participant pages and trial API (the test client), and the dashboard's accuracy is
checked against ``analysis.trials.score_trials`` on the downloaded CSV.
"""

from __future__ import annotations

import io
import shutil

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from analysis.trials import read_trials, score_trials
from experiment.bot import Bot, app_wait, wsgi_client
from experiment.models import Response, StimulusSet, Study, StudyStatus, Trial
from experiment.services.trial_table import COLUMNS
from tests.experiment.researcher_data import add_researcher, add_study
from tests.experiment.test_auth import csrf_token, log_in


@pytest.fixture
def logged_in(client, researcher):
    assert log_in(client).status_code == 302
    return client


def study_form(stimulus_set_id: int, **overrides) -> dict:
    form = {
        "title": "Faces versus tables",
        "slug": "",
        "stimulus_set": str(stimulus_set_id),
        "encodings": ["chernoff", "table"],
        "layouts": ["grid"],
        "response_modes": ["mark_outliers"],
        "trials_per_participant": "4",
        "practice_trials": "1",
        "attention_checks": "1",
        "deadline_ms": "10000",
        "frame_ms": "500",
        "fixation_ms": "500",
        "target_present_percent": "50",
        "expected_minutes": "10",
        "abandon_after_minutes": "",
        "min_viewport_width": "1000",
        "min_viewport_height": "600",
        "consent_text": "You agree.",
        "debrief_text": "Thanks.",
        "completion_code": "ABC123",
        "completion_url": "",
    }
    form.update(overrides)
    return form


def take_study(app, stimulus_set, slug: str, *, pid: str, max_trials: int | None = None):
    """One simulated participant (E1's bot) through the real pages and trial API."""
    client = wsgi_client(app)
    try:
        rng = np.random.default_rng(sum(map(ord, pid)))
        return Bot(client, stimulus_set, rng=rng, wait=app_wait(app)).take(
            slug, query={"pid": pid}, max_trials=max_trials
        )
    finally:
        client.close()


def csrf_token_from(page: str) -> str:
    return page.split('name="csrf_token"')[1].split('value="')[1].split('"')[0]


def test_the_list_shows_only_the_researchers_own_studies(logged_in, study, db_session):
    other = add_study(db_session, add_researcher(db_session), encodings=("table",))
    db_session.commit()
    page = logged_in.get("/dashboard/").get_data(as_text=True)
    assert study.title in page and other.title not in page
    for path in [
        f"/dashboard/studies/{other.id}",
        f"/dashboard/studies/{other.id}/progress.json",
        f"/dashboard/studies/{other.id}/trials.csv",
    ]:
        assert logged_in.get(path).status_code == 404, path
    token = csrf_token(logged_in, "/dashboard/")
    response = logged_in.post(f"/dashboard/studies/{other.id}/closed", data={"csrf_token": token})
    assert response.status_code == 404
    db_session.refresh(other)
    assert other.status == StudyStatus.open


def test_progress_and_csv_follow_real_participants(
    app, logged_in, study, stimulus_set, tmp_path, db_session
):
    take_study(app, stimulus_set, study.slug, pid="first", max_trials=3)
    take_study(app, stimulus_set, study.slug, pid="second")
    progress = logged_in.get(f"/dashboard/studies/{study.id}/progress.json").get_json()
    per_participant = 4 + 1 + 1
    assert progress["participants_started"] == 2 and progress["participants_finished"] == 1
    assert progress["trials_saved"] == 3 + per_participant
    assert progress["trials_planned"] == 2 * per_participant
    download = logged_in.get(f"/dashboard/studies/{study.id}/trials.csv")
    assert (
        download.mimetype == "text/csv" and "attachment" in download.headers["Content-Disposition"]
    )
    table = pd.read_csv(io.StringIO(download.get_data(as_text=True)), keep_default_na=False)
    assert list(table.columns) == list(COLUMNS) and len(table) == progress["trials_saved"]
    stored_flags = db_session.execute(
        sa.select(Trial.is_practice, Trial.is_attention_check).join(Response)
    ).all()
    assert table["is_practice"].sum() == sum(flags[0] for flags in stored_flags) == 2
    assert table["is_attention_check"].sum() == sum(flags[1] for flags in stored_flags) >= 1
    csv_path = tmp_path / "trials.csv"
    csv_path.write_bytes(download.get_data())
    scored = score_trials(read_trials(csv_path))
    main = scored[~scored["is_practice"] & ~scored["is_attention_check"]]
    for encoding, group in main.groupby("encoding"):
        shown = progress["accuracy_by_encoding"][encoding]
        assert shown["answered"] == len(group)
        assert shown["correct"] == int(group["correct"].sum())
    page = logged_in.get(f"/dashboard/studies/{study.id}").get_data(as_text=True)
    assert f"/s/{study.slug}/" in page and "Trials saved" in page


def test_participants_cannot_reach_researcher_pages(app, study):
    participant = app.test_client()
    page = participant.get(f"/s/{study.slug}/?pid=curious").get_data(as_text=True)
    participant.post(
        f"/s/{study.slug}/consent",
        data={"csrf_token": csrf_token_from(page), "consent": "yes"},
    )
    assert participant.get("/dashboard/").status_code == 302
    assert participant.get(f"/dashboard/studies/{study.id}/trials.csv").status_code == 401
    assert participant.get(f"/dashboard/studies/{study.id}/progress.json").status_code == 401


def register(client, data_dir, stimulus_set, name="set-a"):
    target = data_dir / "stimuli" / name
    shutil.copytree(stimulus_set, target)
    token = csrf_token(client, "/dashboard/stimulus-sets")
    return client.post(
        "/dashboard/stimulus-sets", data={"csrf_token": token, "folder": f"stimuli/{name}"}
    )


def test_the_fixation_is_set_in_the_form_and_shown_on_the_study_page(
    logged_in, data_dir, stimulus_set, db_session
):
    assert register(logged_in, data_dir, stimulus_set).status_code == 302
    registered = db_session.scalar(sa.select(StimulusSet))
    token = csrf_token(logged_in, "/dashboard/studies/new")
    assert 'name="fixation_ms"' in logged_in.get("/dashboard/studies/new").get_data(as_text=True)
    bad = logged_in.post(
        "/dashboard/studies/new",
        data={**study_form(registered.id, fixation_ms="6000"), "csrf_token": token},
    )
    assert bad.status_code == 400
    made = logged_in.post(
        "/dashboard/studies/new",
        data={**study_form(registered.id, fixation_ms="0"), "csrf_token": token},
    )
    assert made.status_code == 302
    study = db_session.scalar(sa.select(Study).where(Study.title == "Faces versus tables"))
    assert study.fixation_ms == 0
    page = logged_in.get(f"/dashboard/studies/{study.id}").get_data(as_text=True)
    assert "Fixation between trials" in page


def test_register_a_set_then_create_open_and_close_a_study(
    logged_in, data_dir, stimulus_set, db_session
):
    assert logged_in.get("/dashboard/studies/new").status_code == 302  # no set yet
    assert register(logged_in, data_dir, stimulus_set).status_code == 302
    registered = db_session.scalar(sa.select(StimulusSet))
    assert registered.folder == str((data_dir / "stimuli" / "set-a").resolve())
    token = csrf_token(logged_in, "/dashboard/stimulus-sets")
    again = logged_in.post(
        "/dashboard/stimulus-sets", data={"csrf_token": token, "folder": "stimuli/set-a"}
    )
    assert again.status_code == 302
    assert db_session.scalar(sa.select(sa.func.count()).select_from(StimulusSet)) == 1
    token = csrf_token(logged_in, "/dashboard/studies/new")
    response = logged_in.post(
        "/dashboard/studies/new", data={**study_form(registered.id), "csrf_token": token}
    )
    assert response.status_code == 302
    study = db_session.scalar(sa.select(Study).where(Study.title == "Faces versus tables"))
    assert study.status == StudyStatus.draft and study.encodings == ["chernoff", "table"]
    assert response.headers["Location"] == f"/dashboard/studies/{study.id}"
    for status, expected in [("open", StudyStatus.open), ("closed", StudyStatus.closed)]:
        logged_in.post(f"/dashboard/studies/{study.id}/{status}", data={"csrf_token": token})
        db_session.refresh(study)
        assert study.status == expected
    reopened = logged_in.post(
        f"/dashboard/studies/{study.id}/open", data={"csrf_token": token}, follow_redirects=True
    )
    assert "is now open" in reopened.get_data(as_text=True)  # closed studies reopen
    db_session.refresh(study)
    assert study.status == StudyStatus.open and study.closed_at is None


def test_no_encoding_ticked_means_every_encoding_the_set_has(
    logged_in, data_dir, stimulus_set, db_session
):
    register(logged_in, data_dir, stimulus_set)
    registered = db_session.scalar(sa.select(StimulusSet))
    token = csrf_token(logged_in, "/dashboard/studies/new")
    response = logged_in.post(
        "/dashboard/studies/new",
        data={**study_form(registered.id, encodings=[]), "csrf_token": token},
    )
    assert response.status_code == 302
    study = db_session.scalar(sa.select(Study))
    assert study.encodings == ["gan_face", "chernoff", "table", "plot"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"title": ""}, "This field is required."),
        ({"deadline_ms": "ten"}, "Not a valid integer value."),
        ({"completion_url": "javascript:alert(1)"}, "full http:// or https:// address"),
        ({"slug": "Bad Slug!"}, "lowercase letters"),
        # the form is fine but the set has no such stimuli: the service says so
        (
            {"encodings": ["gan_face"], "layouts": ["sequence"], "response_modes": ["keypress"]},
            "has no main stimuli",
        ),
    ],
)
def test_bad_study_input_rerenders_the_form_and_writes_nothing(
    logged_in, data_dir, stimulus_set, db_session, overrides, message
):
    register(logged_in, data_dir, stimulus_set)
    registered = db_session.scalar(sa.select(StimulusSet))
    token = csrf_token(logged_in, "/dashboard/studies/new")
    response = logged_in.post(
        "/dashboard/studies/new",
        data={**study_form(registered.id, **overrides), "csrf_token": token},
    )
    page = response.get_data(as_text=True)
    print(page[page.index("<h1>") : page.index("<h1>") + 1500])
    assert response.status_code == 400
    assert "The study was not created" in page and message in page
    assert 'value="Faces versus tables"' in page or overrides.get("title") == ""
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Study)) == 0


@pytest.mark.parametrize(
    ("folder", "message"),
    [
        ("/etc", "outside the site&#39;s data folder"),
        ("../../", "outside the site&#39;s data folder"),
        ("stimuli/none", "holds no manifest.json"),
    ],
)
def test_a_bad_stimulus_folder_is_refused_with_a_reason(logged_in, db_session, folder, message):
    token = csrf_token(logged_in, "/dashboard/stimulus-sets")
    response = logged_in.post(
        "/dashboard/stimulus-sets", data={"csrf_token": token, "folder": folder}
    )
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert db_session.scalar(sa.select(sa.func.count()).select_from(StimulusSet)) == 0


def test_the_demo_button_starts_a_job_that_generates_into_the_data_folder(
    app, logged_in, data_dir, stimulus_set, db_session, monkeypatch
):
    import stimuli

    made = {}

    def fake_generate(config, out_dir, progress=True, on_progress=None):
        made["out_dir"], made["progress"] = out_dir, progress
        on_progress(1, 2)
        return shutil.copytree(stimulus_set, out_dir / "demo")

    monkeypatch.setattr(stimuli, "generate_stimulus_set", fake_generate)
    page = logged_in.get("/dashboard/stimulus-sets").get_data(as_text=True)
    assert "Generate and register the demo set" in page
    token = csrf_token(logged_in, "/dashboard/stimulus-sets")
    response = logged_in.post("/dashboard/stimulus-sets/demo", data={"csrf_token": token})
    assert response.status_code == 302 and "/jobs/" in response.location
    assert made == {}, "the request only queues the job; a worker generates"
    assert logged_in.get(response.location + ".json").json["status"] == "queued"
    assert app.extensions["glyphlab.site"].jobs.run_pending() == 1
    assert made == {"out_dir": data_dir / "stimuli", "progress": False}
    assert db_session.scalar(sa.select(StimulusSet)).folder.endswith("/stimuli/demo")
    page = logged_in.get(response.location).get_data(as_text=True)
    assert "Create a study from this set" in page and "done" in page
