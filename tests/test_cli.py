"""The root command line: help, version, and how user errors are shown."""

import subprocess
import sys

import click
from click.testing import CliRunner

from glyphlab import __version__
from glyphlab.cli import COMMANDS, LazyGroup, main
from glyphlab.errors import GlyphlabError


def test_version_is_printed():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_help_lists_every_registered_command():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.output


def test_every_registered_command_imports_and_has_help():
    for name in COMMANDS:
        result = CliRunner().invoke(main, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)


def test_user_error_is_one_line_without_traceback():
    @click.group(cls=LazyGroup, lazy_commands={})
    def root() -> None:
        pass

    @root.command()
    def fail() -> None:
        raise GlyphlabError("the CSV has no column 'y'; pass --target to name it")

    result = CliRunner().invoke(root, ["fail"])
    assert result.exit_code == 1
    assert result.output == "Error: the CSV has no column 'y'; pass --target to name it\n"


def test_console_script_runs():
    completed = subprocess.run(
        [sys.executable, "-m", "glyphlab", "--version"], capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stderr
    assert __version__ in completed.stdout
