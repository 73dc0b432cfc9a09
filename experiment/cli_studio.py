"""``glyphlab axis``: a named axis from a labels CSV, as the studio's "make an axis by hand".

The CSV has ``latent_id`` (face numbers of the studio's face bank for ``--seed``) and one
0/1 column per attribute; each column becomes an axis of the generator, saved in the
site's data folder (GLYPHLAB_DATA_DIR) where the studio's mapping finds it.
"""

from __future__ import annotations

from pathlib import Path

import click

from experiment.config import SiteConfig


@click.command("axis")
@click.argument("labels", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--backend", default="dcgan64", show_default=True, help="Face generator.")
@click.option("--seed", default=0, show_default=True, help="Seed of the face bank labelled.")
def axis(labels: Path, backend: str, seed: int) -> None:
    """Make one named axis per 0/1 column of LABELS (latent_id,<name>...)."""
    from experiment.studio import manual_axes

    config = SiteConfig.from_env()
    for path in manual_axes.make_axis(config.data_dir, backend, labels, seed=seed):
        click.echo(f"{path.stem}: {path} (strip {path.with_suffix('.png')})")
