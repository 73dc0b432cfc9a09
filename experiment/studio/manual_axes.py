"""Named axes made by hand: the truth-table method, from the studio or the CLI.

The researcher sees ``n`` random faces of a generator (row ``i`` of
``stimuli.directions.means.latent_bank(seed)``), ticks those that have an attribute
("wears a hat"), and the axis is the difference between the mean latent of the ticked
faces and that of the others (``stimuli.directions``' ``means`` method, calibrated like
every direction). It is saved as ``<data dir>/studio/axes/<backend>/<name>.npz`` with its
strip (-3..+3 SD), and the studio's mapping offers it beside the generator's own axes.
The CLI (``glyphlab axis LABELS.csv``) reads the same ``latent_id,<name>`` labels file.
"""

from __future__ import annotations

import functools
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from experiment.studio import axes
from experiment.studio.data import StudioError

NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
STRIP_SD = (-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0)
FACE_PX = 128


def latent_encoding() -> str:
    """The first mappable encoding with a latent space (neural faces)."""
    for choice in axes.encodings():
        if choice.latent:
            return choice.name
    raise StudioError("no encoding with a latent space can run here")


@functools.lru_cache(maxsize=8)
def _encoding(name: str):
    from stimuli.encodings import ENCODINGS

    return ENCODINGS[name]()


def generator(backend: str):
    encoding = _encoding(latent_encoding())
    return encoding.generator(encoding.params({"backend": backend}))


def check_name(name: str, backend: str) -> str:
    name = name.strip().lower().replace(" ", "_")
    if not NAME.match(name):
        raise StudioError(
            "an axis name is 1-40 lowercase letters, digits or _ and starts with a letter"
        )
    if name in axes.generator_axes(latent_encoding(), backend):
        raise StudioError(f"{backend} already has an axis {name!r}; choose another name")
    return name


def _faces(latents: np.ndarray, backend: str, *, draft: bool = False) -> list[Image.Image]:
    """Faces at FACE_PX; ``draft``: the generator's fast draft where it has one (the face
    sheet, shown in a web request), else its full network (the saved strip)."""
    from stimuli.generators import generate_batched, to_display

    network = generator(backend)
    if draft and getattr(network, "draft", None) is not None:
        from experiment.studio.render import draft_faces

        return [face.resize((FACE_PX, FACE_PX), Image.Resampling.LANCZOS)
                for face in draft_faces(network, latents, _encoding_params(backend))]  # fmt: skip
    images = generate_batched(network, latents)
    return [Image.fromarray(face) for face in to_display(images, FACE_PX)]


def _encoding_params(backend: str):
    encoding = _encoding(latent_encoding())
    return encoding.params({"backend": backend})


@functools.lru_cache(maxsize=8)
def bank_faces(backend: str, n: int, seed: int) -> tuple[Image.Image, ...]:
    """The ``n`` faces a labels file numbers (face ``i`` = latent ``i`` of ``seed``, drawn
    from the generator's own prior: w for MobileStyleGAN, z for the DCGAN)."""
    from stimuli.directions.means import latent_bank

    network = generator(backend)
    bank = latent_bank(n, network.latent_dim, seed=seed, generator=network)
    return tuple(_faces(bank, backend, draft=True))


def labels_frame(name: str, n: int, ticked: set[int]) -> pd.DataFrame:
    """The labels table of ``n`` shown faces, 1 where ticked."""
    if len(ticked) < 2 or n - len(ticked) < 2:
        raise StudioError(
            f"tick at least 2 faces with the attribute and leave at least 2 without; "
            f"{len(ticked)} of {n} are ticked"
        )
    return pd.DataFrame({"latent_id": range(n), name: [int(i in ticked) for i in range(n)]})


def make_axis(data_dir: Path, backend: str, labels_csv: Path, *, seed: int) -> list[Path]:
    """Compute, save and draw every label column of ``labels_csv``; returns the .npz files."""
    from stimuli.directions import DirectionsConfig, compute_directions
    from stimuli.directions.means import read_labels
    from stimuli.generators import manifest_entry

    names = [c for c in read_labels(labels_csv).columns if c != "latent_id"]
    for name in names:
        check_name(name, backend)
    config = DirectionsConfig(method="means", path=str(labels_csv), seed=seed)
    directions = compute_directions(generator(backend), config)
    folder = axes.axes_dir(data_dir, backend)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        one = directions.select([name])
        with tempfile.NamedTemporaryFile(dir=folder, suffix=".npz", delete=False) as tmp:
            one.save(Path(tmp.name), generator=manifest_entry(generator(backend)))
        os.replace(tmp.name, folder / f"{name}.npz")
        strip(one, backend).save(folder / f"{name}.png")
        written.append(folder / f"{name}.npz")
    return written


def strip(direction, backend: str) -> Image.Image:
    """The mean face moved along the axis from -3 to +3 SD (its calibrated scale)."""
    from stimuli.generators import mean_latent
    from stimuli.layouts.grid import tile

    steps = np.array(STRIP_SD)[:, None]
    centre = mean_latent(generator(backend))[None, :]
    latents = centre + steps * direction.scales[0] * direction.vectors[0][None, :]
    return tile(_faces(latents, backend), columns=len(STRIP_SD))
