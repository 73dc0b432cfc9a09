"""Difference-of-means directions from labelled latents (the "truth table" method).

A researcher looks at a numbered face sheet of the latent bank (``latent_bank(seed)``:
face ``i`` is row ``i``), writes a CSV ``latent_id,label`` marking faces with and
without an attribute (smiling, glasses, ...), and the direction is the mean latent of
those with it minus the mean of those without. One CSV may hold several attributes as
extra columns; each 0/1 column gives one direction.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from stimuli.directions.base import Directions, DirectionsError

ID_COLUMN = "latent_id"


def latent_bank(n: int, latent_dim: int, *, seed: int, generator=None) -> np.ndarray:
    """The numbered latents a labels CSV refers to: row ``i`` is face ``i`` of ``seed``.

    With ``generator``, drawn from its own prior (``sample_latents``: MobileStyleGAN's
    truncated w); z ~ N(0, I) otherwise, which is the same draw for the DCGAN.
    """
    rng = np.random.default_rng(seed)
    if generator is not None:
        from stimuli.generators import sample_latents

        return np.asarray(sample_latents(generator, n, rng=rng))
    return rng.standard_normal((n, latent_dim))


def read_labels(path: Path) -> pd.DataFrame:
    """``latent_id`` plus one or more 0/1 label columns, checked row by row."""
    path = Path(path)
    try:
        table = pd.read_csv(path)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise DirectionsError(f"cannot read labels CSV {path}: {e}") from None
    if ID_COLUMN not in table.columns or len(table.columns) < 2:
        raise DirectionsError(
            f"{path} needs a column {ID_COLUMN!r} and at least one 0/1 label column; "
            f"got {list(table.columns)}"
        )
    for column in table.columns:
        values = pd.to_numeric(table[column], errors="coerce")
        bad = table.index[values.isna() | (values != values.round())]
        if column != ID_COLUMN:
            bad = bad.union(table.index[~values.isin([0, 1])])
        if len(bad):
            row = int(bad[0]) + 2  # header is line 1
            raise DirectionsError(
                f"{path} line {row}, column {column!r}: {table[column][bad[0]]!r} is not "
                f"{'a whole number' if column == ID_COLUMN else '0 or 1'}"
            )
    if (table[ID_COLUMN] < 0).any():
        raise DirectionsError(f"{path}: latent ids must be >= 0")
    return table.astype(int)


def mean_difference_directions(
    labels: pd.DataFrame, *, seed: int, latent_dim: int, generator=None
) -> Directions:
    """One direction per label column: mean(latents labelled 1) - mean(latents labelled 0)
    (latents of ``latent_bank``, from ``generator``'s prior when given)."""
    bank = latent_bank(int(labels[ID_COLUMN].max()) + 1, latent_dim, seed=seed, generator=generator)
    chosen = bank[labels[ID_COLUMN].to_numpy()]
    names = [column for column in labels.columns if column != ID_COLUMN]
    vectors = []
    for name in names:
        flags = labels[name].to_numpy() == 1
        if flags.sum() < 2 or (~flags).sum() < 2:
            raise DirectionsError(
                f"label {name!r} needs at least 2 faces labelled 1 and 2 labelled 0; "
                f"got {int(flags.sum())} and {int((~flags).sum())}"
            )
        vectors.append(chosen[flags].mean(axis=0) - chosen[~flags].mean(axis=0))
    return Directions(
        vectors=np.array(vectors), names=tuple(names), scales=np.ones(len(names)), method="means"
    )
