"""Direct projection: standardised data columns -> latent offsets, no named directions.

"Forgo the latent directions and project the data into the latent space directly": the
columns are coordinates along an orthonormal basis, all at one strength (``gan_face``'s
``scale``, latent units per data SD). ``pca``: the leading principal axes of the
generator's own latents (for w: GANSpace's components, the axes faces vary along most);
``random``: an orthonormalised Gaussian matrix, the unbiased baseline.
"""

from __future__ import annotations

import numpy as np

from stimuli.directions.base import Directions, DirectionsError
from stimuli.generators.base import FaceGenerator, sample_latents

PCA_SAMPLES = 20_000


def projection_basis(
    generator: FaceGenerator, n_columns: int, *, basis: str, rng: np.random.Generator
) -> Directions:
    """``n_columns`` orthonormal unit vectors named b01..; every scale 1."""
    dim = generator.latent_dim
    if n_columns > dim:
        raise DirectionsError(f"cannot project {n_columns} columns into {dim} dimensions")
    if basis == "pca":
        latents = sample_latents(generator, max(PCA_SAMPLES, 2 * dim), rng=rng)
        _, _, right = np.linalg.svd(latents - latents.mean(axis=0), full_matrices=False)
        raw = right[:n_columns]
    else:
        raw = rng.standard_normal((n_columns, dim))
    q, r = np.linalg.qr(raw.T)
    vectors = (q * np.sign(np.diag(r))).T
    names = tuple(f"b{k + 1:02d}" for k in range(n_columns))
    return Directions(
        vectors=vectors, names=names, scales=np.ones(n_columns), method=f"projection-{basis}"
    )
