"""``glyphlab stimuli ...``: generate stimulus sets and preview encodings.

Registered in ``glyphlab/cli.py`` as ``"stimuli": "stimuli.cli:stimuli"``. Errors a user
can cause are :class:`~stimuli.errors.StimulusError`, printed by the root as one line.
"""

from __future__ import annotations

from pathlib import Path

import click

from stimuli.config import StimulusSetConfig


def _config(path: Path | None) -> StimulusSetConfig:
    from stimuli.demo import demo_config

    return demo_config() if path is None else StimulusSetConfig.from_toml(path)


@click.group()
def stimuli() -> None:
    """Make stimulus sets: data rows drawn as faces, tables and plots."""


@stimuli.command()
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="folder that receives <set_id>/ (manifest.json, truth.json, data/, media/)",
)
@click.option("--quiet", is_flag=True, help="no progress bar")
@click.option(
    "--base-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="folder the config's relative paths start from (default: the config's folder; "
    "the site's data folder for a config saved in the studio)",
)
def generate(config: Path, out: Path, quiet: bool, base_dir: Path | None) -> None:
    """Generate the stimulus set described by CONFIG (a TOML file) under --out.

    Each CSV column's transforms are printed as they apply (the default z-score stays
    unless the steps replace it), then the folder of the set.
    """
    from stimuli.datasets import column_report
    from stimuli.generate import generate_stimulus_set

    parsed = StimulusSetConfig.from_toml(config, base_dir=base_dir)
    if not quiet:
        for line in column_report(parsed):
            click.echo(line, err=True)
    folder = generate_stimulus_set(parsed, out, progress=not quiet)
    click.echo(str(folder))


@stimuli.command()
@click.argument("config", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    default="preview",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="folder for the PNGs and MP4s",
)
def preview(config: Path | None, out: Path) -> None:
    """Write contact sheets (PNG) of each encoding in CONFIG (default: the demo config),
    and an MP4 of the first dataset of each sequence condition."""
    from stimuli.preview import write_previews

    for path in write_previews(_config(config), out):
        click.echo(str(path))


# Commands of the neural-face work (directions, photo encoding), from stimuli/cli_faces.py.
from stimuli.cli_faces import directions, encode_photo  # noqa: E402

stimuli.add_command(directions)
stimuli.add_command(encode_photo)
