"""``glyphlab researcher create`` and ``glyphlab export`` against a real database.

The commands commit, so they get a database of their own per backend (not the rolled-back
test transaction), migrated once for this module.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from experiment import db
from experiment.models import Researcher
from glyphlab.cli import main
from tests.experiment.researcher_data import Answer, add_participant, add_researcher, add_study

_emails = (f"cli{number}@example.org" for number in itertools.count())


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def cli_database(request, tmp_path_factory) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('cli') / 'glyphlab.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_database_factory")()
    db.upgrade(url)
    return url


@pytest.fixture
def invoke(cli_database: str, data_dir: Path):
    environment = {
        "GLYPHLAB_DATABASE_URL": cli_database,
        "GLYPHLAB_DATA_DIR": str(data_dir),
        "GLYPHLAB_SECRET_KEY": "cli-test-secret-key-0123456789",
    }

    def run(*args: str, stdin: str | None = None):
        return CliRunner().invoke(main, list(args), input=stdin, env=environment)

    return run


def stored(url: str, email: str) -> Researcher | None:
    engine = db.make_engine(url)
    try:
        with Session(engine) as session:
            return session.scalar(sa.select(Researcher).where(Researcher.email == email))
    finally:
        engine.dispose()


def test_create_reads_the_password_from_stdin_and_stores_only_a_hash(invoke, cli_database):
    email = next(_emails)
    result = invoke(
        "researcher",
        "create",
        "--email",
        email.upper(),
        "--password-stdin",
        stdin="a long passphrase\n",
    )
    assert result.exit_code == 0, result.output
    assert f"researcher {email} created" in result.output
    researcher = stored(cli_database, email)
    assert researcher is not None and "a long passphrase" not in researcher.password_hash
    assert researcher.password_hash.startswith(("scrypt:", "pbkdf2:"))
    assert check_password_hash(researcher.password_hash, "a long passphrase")


def test_create_prompts_twice_without_echo(invoke, cli_database):
    email = next(_emails)
    result = invoke(
        "researcher", "create", "--email", email, stdin="prompted passphrase\nprompted passphrase\n"
    )
    assert result.exit_code == 0, result.output
    assert "prompted passphrase" not in result.output
    assert stored(cli_database, email) is not None


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("not-an-address", "a long passphrase", "is not an e-mail address"),
        ("ok@example.org", "short", "at least 10 characters"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(invoke, cli_database, email, password, message):
    result = invoke(
        "researcher", "create", "--email", email, "--password-stdin", stdin=password + "\n"
    )
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert stored(cli_database, email) is None


def test_an_existing_email_is_refused(invoke):
    email = next(_emails)
    assert (
        invoke(
            "researcher", "create", "--email", email, "--password-stdin", stdin="first passphrase\n"
        ).exit_code
        == 0
    )
    again = invoke(
        "researcher", "create", "--email", email, "--password-stdin", stdin="second passphrase\n"
    )
    assert again.exit_code == 1 and "already exists" in again.output


def test_set_password_replaces_the_hash(invoke, cli_database):
    email = next(_emails)
    invoke("researcher", "create", "--email", email, "--password-stdin", stdin="old passphrase\n")
    before = stored(cli_database, email).password_hash
    result = invoke(
        "researcher", "set-password", "--email", email, "--password-stdin", stdin="new passphrase\n"
    )
    assert result.exit_code == 0, result.output
    after = stored(cli_database, email).password_hash
    assert after != before and check_password_hash(after, "new passphrase")
    missing = invoke(
        "researcher",
        "set-password",
        "--email",
        "nobody@example.org",
        "--password-stdin",
        stdin="new passphrase\n",
    )
    assert missing.exit_code == 1 and "no researcher has the e-mail" in missing.output


def test_an_unmigrated_database_is_refused(tmp_path, data_dir):
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    result = CliRunner().invoke(
        main,
        ["researcher", "create", "--email", "x@example.org", "--password-stdin"],
        input="a long passphrase\n",
        env={"GLYPHLAB_DATABASE_URL": url, "GLYPHLAB_DATA_DIR": str(data_dir)},
    )
    assert result.exit_code == 1 and "glyphlab db upgrade" in result.output


def test_export_writes_an_anonymised_psychds_folder(invoke, cli_database, tmp_path):
    engine = db.make_engine(cli_database)
    with Session(engine) as session:
        study = add_study(session, add_researcher(session, next(_emails)))
        for _ in range(3):
            add_participant(
                session,
                study,
                [Answer("chernoff", (3,), (3,)), Answer("table", (1,), (2,))],
                finished=True,
            )
        session.commit()
        slug, number = study.slug, study.id
    engine.dispose()
    out = tmp_path / "export"
    too_few = invoke("export", "--study", slug, "--out", str(out))
    assert too_few.exit_code == 1 and "k=5" in too_few.output and not out.exists()
    result = invoke("export", "--study", slug, "--out", str(out), "--k", "3")
    assert result.exit_code == 0, result.output
    assert "exported 6 trials of 3 participants" in result.output
    description = json.loads((out / "dataset_description.json").read_text())
    assert description["schemaVersion"].startswith("Psych-DS")
    data = (out / "data" / f"study-{slug}_data.csv").read_text()
    assert "2026-11-23T" not in data  # wall-clock times are made relative
    refused = invoke("export", "--study", str(number), "--out", str(out), "--k", "3")
    assert refused.exit_code == 1 and "not an empty folder" in refused.output


def test_export_names_the_known_studies_when_one_is_missing(invoke, tmp_path):
    result = invoke("export", "--study", "no-such-study", "--out", str(tmp_path / "x"))
    assert result.exit_code == 1 and "no study 'no-such-study'" in result.output


def test_export_refuses_a_missing_database_and_creates_nothing(tmp_path):
    nowhere = tmp_path / "no-site-here"
    result = CliRunner().invoke(
        main,
        ["export", "--study", "any", "--out", str(tmp_path / "out")],
        env={"GLYPHLAB_DATA_DIR": str(nowhere), "GLYPHLAB_DATABASE_URL": None},
    )
    assert result.exit_code == 1
    assert f"no glyphlab database at {nowhere / 'glyphlab.sqlite3'}" in result.output
    assert "GLYPHLAB_DATA_DIR" in result.output and "Traceback" not in result.output
    assert not nowhere.exists() and not (tmp_path / "out").exists()
