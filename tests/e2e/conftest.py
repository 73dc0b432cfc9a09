"""Whole-chain fixtures: a real stimulus set, a real site process, a real database.

Nothing here is faked: the set comes from ``stimuli.generate_stimulus_set``, the site is
``glyphlab serve`` in a child process (waitress on SQLite, gunicorn on PostgreSQL), and
participants talk to it over loopback HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from experiment.models import Response, Study, Trial
from experiment.services.studies import StudyParams
from glyphlab.site_process import SiteProcess, open_study, site_environment, site_session
from stimuli import StimulusSetConfig, generate_stimulus_set

COMMON = {"n_items": 8, "n_features": 3, "n_informative": 2}


@pytest.fixture(scope="session")
def e2e_stimulus_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every encoding as a grid and (main datasets) as a sequence; 14 main datasets with
    an outlier and 6 without, enough for one participant to meet every response mode in
    every layout (20 conditions); small and quick (no videos)."""
    config = StimulusSetConfig.from_dict(
        {
            "name": "e2e",
            "seed": 11,
            "frame_ms": 200,
            "video": False,
            "datasets": [
                {"role": "main", "count": 14, "n_outliers": 1, **COMMON},
                {"role": "main", "count": 6, "n_outliers": 0, **COMMON},
                {"role": "practice", "count": 1, "n_outliers": 1, **COMMON},
                {"role": "attention_check", **COMMON},
            ],
            # the small DCGAN keeps the browser tests quick (MobileStyleGAN: tests/stimuli)
            "encoding_params": {"gan_face": {"backend": "dcgan64"}},
            "conditions": [
                {"encoding": "gan_face", "layout": "grid"},
                {"encoding": "chernoff", "layout": "grid"},
                {"encoding": "table", "layout": "grid"},
                {"encoding": "plot", "layout": "grid"},
            ]
            + [
                {"encoding": e, "layout": "sequence", "roles": ["main"]}
                for e in ("gan_face", "chernoff", "table", "plot")
            ],
        }
    )
    return generate_stimulus_set(config, tmp_path_factory.mktemp("stimuli"), progress=False)


SiteFactory = Callable[..., tuple[SiteProcess, str, str]]


@pytest.fixture
def served_study(tmp_path: Path, e2e_stimulus_set: Path, postgres_database_factory) -> SiteFactory:
    """Start a site with one open study; returns (site process, slug, database URL).

    ``backend="sqlite"`` runs waitress on a SQLite file (the embedded default);
    ``backend="postgresql"`` runs gunicorn with two workers on a throwaway database;
    ``server`` names another server of ``glyphlab serve --server`` (two workers).
    """
    started: list[SiteProcess] = []

    def start(
        *, backend: str, server: str | None = None, **study: object
    ) -> tuple[SiteProcess, str, str]:
        data_dir = tmp_path / f"site-{len(started)}"
        data_dir.mkdir()
        if backend == "postgresql":
            database_url = postgres_database_factory()
            serve_args: tuple[str, ...] = ("--server", server or "gunicorn", "--workers", "2")
        else:
            database_url = f"sqlite:///{data_dir / 'glyphlab.sqlite3'}"
            serve_args = ("--server", server or "waitress", "--threads", "8")
        defaults = {
            "encodings": ("chernoff", "table", "plot"),
            "trials_per_participant": 3,
            "practice_trials": 1,
            "attention_checks": 1,
        }
        params = StudyParams(title="e2e", **{**defaults, **study})
        slug, _password = open_study(database_url, e2e_stimulus_set, params, email="e2e@x.org")
        site = SiteProcess(
            site_environment(data_dir, database_url),
            serve_args=serve_args,
            log_path=tmp_path / "site.log",
        ).start()
        started.append(site)
        return site, slug, database_url

    yield start
    for site in started:
        site.stop()


def stored_answers(database_url: str, slug: str) -> list[tuple[str, str]]:
    """(trial public id, idempotency key) of every stored response of the study."""
    with site_session(database_url) as session:
        rows = session.execute(
            sa.select(Trial.public_id, Response.idempotency_key)
            .join(Response, Response.trial_id == Trial.id)
            .join(Trial.participant)
            .join(Study)
            .where(Study.slug == slug)
        ).all()
    return [tuple(row) for row in rows]
