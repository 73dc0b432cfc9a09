"""The plugin promise, proved by two plugins the tests add themselves.

``tests/plugins/rate_1_7.py`` (a response mode: rate 1..7 how odd a display looks) and
``tests/plugins/star.py`` (an encoding: star glyphs drawn with Pillow) are registered
with one line each, from here, and taken end to end: a stimulus set is generated, a
study created, simulated participants answer through the site's HTTP API, the trial
table is read and scored, and the report is written. Nothing in glyphlab knows them.

Files each addition needed (and nothing else changed):

- response mode ``rate_1_7``: ``tests/plugins/rate_1_7.py`` (meaning: schema, parse,
  scoring, observer, ideal answer, trial-table column), ``tests/plugins/templates/
  trials/rate_1_7.html`` (prompt and buttons), ``tests/plugins/static/rate_1_7.js``
  (keys and buttons on the runner's trial API), one registry line;
- encoding ``star``: ``tests/plugins/star.py``, one registry line.

A shipped plugin puts the same files at ``analysis/response_modes/<name>.py``,
``templates/trials/<name>.html``, ``experiment/static/js/modes/<name>.js`` and
``stimuli/encodings/<name>.py`` (docs/extending.md).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from jinja2 import ChoiceLoader, FileSystemLoader
from werkzeug.security import generate_password_hash

from analysis.report import ReportConfig, write_report
from analysis.response_modes import RESPONSE_MODES
from analysis.trials import load_trials, read_trials
from experiment import create_app, db
from experiment.bot import Bot, app_wait, wsgi_client
from experiment.config import SiteConfig
from experiment.models import Researcher, StudyStatus
from experiment.services.studies import StudyParams, create_study, set_status
from experiment.services.trial_table import trial_table
from stimuli import StimulusSetConfig, generate_stimulus_set
from stimuli.encodings import ENCODINGS
from tests.experiment.conftest import TEST_SECRET_KEY, FakeClock, plan_seeds
from tests.plugins import rate_1_7, star

pytestmark = pytest.mark.slow

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"
FILES_NEEDED = {
    "rate_1_7": [
        "tests/plugins/rate_1_7.py",
        "tests/plugins/templates/trials/rate_1_7.html",
        "tests/plugins/static/rate_1_7.js",
    ],
    "star": ["tests/plugins/star.py"],
}


@pytest.fixture
def plugins(monkeypatch):
    """The two registry lines (undone after the test)."""
    monkeypatch.setitem(RESPONSE_MODES, "rate_1_7", rate_1_7.MODE)
    monkeypatch.setitem(ENCODINGS, "star", star.Star)


def test_the_listed_files_are_all_there():
    root = PLUGINS.parents[1]
    assert all((root / f).is_file() for files in FILES_NEEDED.values() for f in files)


def test_plugins_run_end_to_end(plugins, tmp_path, seed):
    config = StimulusSetConfig.from_dict(
        {
            "name": "plugins",
            "seed": seed % 1000,
            "datasets": [
                {"role": "main", "count": 4, "n_items": 6, "n_outliers": 1, "magnitude_sd": 5.0},
                {"role": "main", "count": 4, "n_items": 6, "n_outliers": 0},
                {"role": "practice", "count": 1, "n_items": 6, "n_outliers": 1},
                {"role": "attention_check", "n_items": 6},
            ],
            "conditions": [
                {"encoding": "star", "layout": "grid"},
                {"encoding": "chernoff", "layout": "grid"},
            ],
            "encoding_params": {"chernoff": {"size_px": 64}},
        }
    )
    folder = generate_stimulus_set(config, tmp_path / "sets", progress=False)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert {s["encoding"] for s in manifest["stimuli"]} == {"star", "chernoff"}

    url = f"sqlite:///{tmp_path / 'plugins.sqlite3'}"
    db.upgrade(url)
    config = SiteConfig(data_dir=tmp_path, database_url=url, secret_key=TEST_SECRET_KEY)
    # a test clock that the bots move by their reaction times (they take turns)
    clock = FakeClock(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    app = create_app(config, clock=clock, plan_seed=plan_seeds(seed))
    app.jinja_env.loader = ChoiceLoader(
        [app.jinja_env.loader, FileSystemLoader(PLUGINS / "templates")]
    )
    sessionmaker = app.extensions[db.EXTENSION_KEY].sessionmaker
    with sessionmaker() as session:
        researcher = Researcher(
            email="r@example.org", password_hash=generate_password_hash("pw", "pbkdf2:sha256:1000")
        )
        study = create_study(
            session,
            researcher=researcher,
            stimulus_set_folder=folder,
            params=StudyParams(
                title="Stars and ratings",
                slug="plugins",
                response_modes=("rate_1_7",),
                trials_per_participant=6,
                target_present_share=0.5,
                practice_trials=1,
                attention_checks=1,
            ),
        )
        assert study.encodings == ["chernoff", "star"]  # the set's, in registry order
        set_status(study, StudyStatus.open)
        session.commit()
        study_id = study.id

    with wsgi_client(app) as http:
        run_page = http.get("/s/plugins/").status_code
        for k in range(6):
            bot = Bot(http, folder, rng=np.random.default_rng([seed, k]), wait=app_wait(app))
            assert bot.take("plugins", query={"pid": f"plugin-bot-{k}"}).finished
            http.cookies.clear()
    assert run_page == 200

    with sessionmaker() as session:
        table = trial_table(session, study_id)
    app.extensions[db.EXTENSION_KEY].dispose()
    assert set(table["response_mode"]) == {"rate_1_7"} and len(table) == 6 * 8
    answered = table[~table["timed_out"]]
    assert answered["rating"].between(1, 7).all()
    # the mode's meaning: a rating of 5 or more says "an outlier is there"
    assert (answered["said_present"] == (answered["rating"] >= 5)).all()

    scored = load_trials(read_trials(table, extra=rate_1_7.MODE.columns)).trials
    assert set(scored["encoding"]) == {"star", "chernoff"}
    present = scored[scored["n_signal"] > 0]
    assert (present["hits"] == present["said_present"].astype(bool)).all()

    report = write_report(table, tmp_path / "report", ReportConfig(stimulus_set=folder))
    html = report.html.read_text()
    assert "star" in html and "Measures per encoding" in html
