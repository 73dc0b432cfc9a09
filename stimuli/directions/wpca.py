"""GANSpace PCA in w, scaled by the spread of real faces along each component.

For StyleGAN, GANSpace (Härkönen et al., 2020) takes PCA of sampled w: the leading
components are pose, gender/age, lighting and background, and unlike PCA of the
DCGAN's z they are meaningful. Each component's scale is the SD of the sampled
(truncated) faces' projections on it, so one data SD moves a face by one population SD
along the component: +-3 SD spans the range real faces cover, visible and bounded,
without rendering faces to calibrate.
"""

from __future__ import annotations

import numpy as np

from stimuli.directions.base import Directions
from stimuli.generators.base import FaceGenerator, sample_latents


def w_pca_directions(
    generator: FaceGenerator,
    *,
    n_components: int = 10,
    n_samples: int = 20_000,
    rng: np.random.Generator,
) -> tuple[Directions, np.ndarray]:
    """Top components of sampled w (signs: largest entry positive) and variance shares."""
    latents = sample_latents(generator, n_samples, rng=rng)
    return pca_of_latents(latents, n_components=n_components)


def pca_of_latents(
    latents: np.ndarray, *, n_components: int = 10, prefix: str = "pc"
) -> tuple[Directions, np.ndarray]:
    """PCA of ``latents`` (N, D): unit components scaled by the SD along each."""
    centred = latents - latents.mean(axis=0)
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(centred, rowvar=False))
    order = np.argsort(eigenvalues)[::-1][:n_components]
    vectors = eigenvectors[:, order].T
    signs = np.sign(vectors[np.arange(n_components), np.abs(vectors).argmax(axis=1)])
    names = tuple(f"{prefix}{k + 1:02d}" for k in range(n_components))
    directions = Directions(
        vectors=vectors * signs[:, None],
        names=names,
        scales=np.sqrt(eigenvalues[order]),
        method="pca-w",
    )
    return directions, eigenvalues[order] / eigenvalues.sum()
