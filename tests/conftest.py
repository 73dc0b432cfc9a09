"""Fixtures shared by every test package.

Optional real components (PostgreSQL, Debian's chromium, R with lme4, Redis, nginx) are
skipped with a clear reason where absent, unless CI asks for them with
GLYPHLAB_REQUIRE_POSTGRES / GLYPHLAB_REQUIRE_BROWSER / GLYPHLAB_REQUIRE_R /
GLYPHLAB_REQUIRE_REDIS / GLYPHLAB_REQUIRE_NGINX, in which case their absence fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from glyphlab.chromium import CHROMIUM, CHROMIUM_ARGS

DEFAULT_POSTGRES_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--seed",
        type=int,
        default=int(os.environ.get("GLYPHLAB_TEST_SEED", "20261123")),
        help="seed for every random choice the tests make (printed in the header)",
    )


def pytest_report_header(config: pytest.Config) -> str:
    return f"glyphlab test seed: --seed={config.getoption('--seed')}"


def missing(component: str, reason: str) -> None:
    """Skip, or fail where CI requires the component."""
    if os.environ.get(f"GLYPHLAB_REQUIRE_{component}"):
        pytest.fail(f"{reason} (GLYPHLAB_REQUIRE_{component} is set)")
    pytest.skip(reason)


@pytest.fixture(scope="session", autouse=True)
def directions_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Computed face directions go to a folder of this test session (children such as
    the demo's ``glyphlab serve`` inherit the setting), never the user's cache."""
    folder = tmp_path_factory.mktemp("directions-cache")
    with pytest.MonkeyPatch.context() as patch:  # stimuli.directions.CACHE_DIR_VARIABLE
        patch.setenv("GLYPHLAB_DIRECTIONS_CACHE", str(folder))
        yield folder


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> int:
    return request.config.getoption("--seed")


@pytest.fixture
def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """An empty glyphlab data folder."""
    folder = tmp_path / "glyphlab-data"
    folder.mkdir()
    return folder


def _postgres_admin_url() -> str:
    return os.environ.get("GLYPHLAB_TEST_POSTGRES_URL", DEFAULT_POSTGRES_SERVER)


@pytest.fixture(scope="session")
def postgres_database_factory():
    """Make throwaway PostgreSQL databases; all are dropped at the end of the session."""
    import sqlalchemy as sa

    admin_url = _postgres_admin_url()
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text("select 1"))
    except sa.exc.OperationalError as error:
        admin.dispose()
        missing("POSTGRES", f"PostgreSQL not reachable at {admin_url}: {error.orig}")
    created: list[str] = []

    def make() -> str:
        name = f"glyphlab_test_{uuid.uuid4().hex[:12]}"
        with admin.connect() as connection:
            connection.execute(sa.text(f'create database "{name}"'))
        created.append(name)
        return str(sa.make_url(admin_url).set(database=name).render_as_string(False))

    yield make
    with admin.connect() as connection:
        for name in created:
            connection.execute(sa.text(f'drop database if exists "{name}" with (force)'))
    admin.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """One empty database per backend for the session: SQLite file and PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'glyphlab.sqlite3'}"
    return request.getfixturevalue("postgres_database_factory")()


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not Path(CHROMIUM).exists():
        missing("BROWSER", f"{CHROMIUM} not installed (apt-get install chromium)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing("BROWSER", "playwright not installed (pip install -e '.[dev]')")
    return CHROMIUM


@pytest.fixture
def screenshot_dir(tmp_path: Path) -> Path:
    """Where browser tests save screenshots: ``GLYPHLAB_SCREENSHOTS`` (e.g. ``docs`` to
    refresh README's pictures) or the test's tmp folder, so a test run changes no
    tracked file."""
    folder = Path(os.environ.get("GLYPHLAB_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def playwright_driver(chromium_path: str) -> Iterator:
    """Playwright's driver, started once per session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture
def browser(playwright_driver, chromium_path: str) -> Iterator:
    """A fresh headless Debian chromium per test (never `playwright install`).

    One browser per test, not per session: pages left by an earlier test can keep
    headless Chromium from running a later page's requestAnimationFrame callbacks,
    which the trial runner's timing depends on.
    """
    instance = playwright_driver.chromium.launch(
        executable_path=chromium_path, args=list(CHROMIUM_ARGS)
    )
    yield instance
    instance.close()


@pytest.fixture(scope="session")
def rscript() -> str:
    """Path of Rscript with lme4 loadable."""
    path = shutil.which("Rscript")
    if path is None:
        missing("R", "Rscript not installed (apt-get install r-base-core r-cran-lme4)")
    probe = subprocess.run([path, "-e", "library(lme4)"], capture_output=True, text=True)
    if probe.returncode != 0:
        missing("R", f"R package lme4 not loadable: {probe.stderr.strip()[:200]}")
    return path
