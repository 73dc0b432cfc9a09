"""The ``glyphlab`` command line.

Each package owns its commands (``stimuli/cli.py``, ``analysis/cli.py``,
``experiment/cli.py``); this root only lists them. Subcommands are imported lazily so
``glyphlab --help`` does not pay for torch or Flask, and a :class:`GlyphlabError` (or an
``OSError``: a path that is missing, not a folder or not writable) from any of them is
printed as a one-line message instead of a traceback.
"""

from __future__ import annotations

import importlib

import click

from glyphlab import __version__
from glyphlab.errors import GlyphlabError

#: name -> "module:attribute" of a click command or group. A line is added here only
#: when the command behind it does real work.
COMMANDS: dict[str, str] = {
    "stimuli": "stimuli.cli:stimuli",
    "analyze": "analysis.cli:analyze",
    "researcher": "experiment.cli_researcher:researcher",
    "serve": "experiment.cli:serve",
    "worker": "experiment.cli_worker:worker",
    "axis": "experiment.cli_studio:axis",
    "db": "experiment.cli:db_group",
    "export": "experiment.cli_researcher:export",
    "demo": "glyphlab.demo:demo",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def __init__(self, *args, lazy_commands: dict[str, str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = lazy_commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands:
            module_name, attribute = self.lazy_commands[cmd_name].split(":")
            return getattr(importlib.import_module(module_name), attribute)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except GlyphlabError as error:
            raise click.ClickException(str(error)) from None
        except BrokenPipeError:
            raise  # click itself handles output piped into `head`
        except OSError as error:
            # A file or folder the user named (or a GLYPHLAB_DATA_DIR) that is missing,
            # not a folder, or not writable: their problem to fix, so one line, not a
            # traceback.
            where = f"{error.filename}: " if error.filename else ""
            raise click.ClickException(f"{where}{error.strerror or error}") from None


@click.group(cls=LazyGroup, lazy_commands=COMMANDS)
@click.version_option(__version__, prog_name="glyphlab")
def main() -> None:
    """glyphlab: do people spot the odd row faster when data are drawn as faces?

    Generate stimulus sets, run timed detection studies in the browser, and analyse
    the stored trials.
    """
