"""A new user's wrong settings get one line saying what is wrong, never a traceback.

Each case used to end in a SQLAlchemy, driver or ``FileExistsError`` traceback from
``glyphlab db``, ``serve`` or ``researcher``; none of them needs a running database.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from experiment.config import ConfigError, SiteConfig
from glyphlab.cli import main


def free_port() -> int:
    """A local TCP port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run(arguments: list[str], environment: dict[str, str | None]):
    return CliRunner().invoke(main, arguments, env=environment, input="a long passphrase\n")


def assert_one_line(result, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # click's own exit
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize(
    "arguments",
    [
        ["db", "current"],
        ["db", "upgrade"],
        ["serve"],
        ["researcher", "create", "--email", "ada@example.org", "--password-stdin"],
    ],
)
def test_an_unreachable_database_is_one_line_without_the_password(
    data_dir: Path, arguments: list[str]
) -> None:
    url = f"postgresql+psycopg://glyphlab:hunter2-secret@127.0.0.1:{free_port()}/glyphlab"
    result = run(arguments, {"GLYPHLAB_DATA_DIR": str(data_dir), "GLYPHLAB_DATABASE_URL": url})
    assert_one_line(result, "cannot open the database", "glyphlab:***@127.0.0.1")
    assert "hunter2-secret" not in result.output


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("sqlite:////nonexistent-folder/glyphlab.sqlite3", "unable to open database file"),
        ("mysql://someone@localhost/glyphlab", "No module named"),
        ("nosuchdialect://localhost/glyphlab", "Can't load plugin"),
        ("sqlite://user:password@/", "Invalid SQLite URL"),
    ],
)
def test_an_unusable_database_url_is_one_line(data_dir: Path, url: str, fragment: str) -> None:
    result = run(
        ["db", "upgrade"], {"GLYPHLAB_DATA_DIR": str(data_dir), "GLYPHLAB_DATABASE_URL": url}
    )
    assert_one_line(result, fragment)


def test_a_data_dir_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "glyphlab-data"
    not_a_folder.write_text("oops")
    unset = {"GLYPHLAB_DATABASE_URL": None, "GLYPHLAB_SECRET_KEY": None}  # use the folder
    result = run(["db", "current"], {"GLYPHLAB_DATA_DIR": str(not_a_folder), **unset})
    assert_one_line(result, f"GLYPHLAB_DATA_DIR {not_a_folder} cannot be used")


def test_an_unusable_data_dir_names_the_setting_outside_the_cli_too(tmp_path: Path) -> None:
    """``gunicorn 'experiment:create_app()'`` builds its settings without the CLI."""
    not_a_folder = tmp_path / "glyphlab-data"
    not_a_folder.write_text("oops")
    with pytest.raises(ConfigError, match="point it at a writable folder"):
        SiteConfig.from_env({"GLYPHLAB_DATA_DIR": str(not_a_folder)})
