"""GANSpace-style unsupervised directions (Härkönen et al., 2020).

PCA over z itself is useless for this DCGAN (z is isotropic: every component explains
~1% and looks random). GANSpace instead takes PCA of an early layer's activations, where
the network has already mixed z into correlated features, and maps each principal
component back to z by regressing z on the PCA coordinates. For the DCGAN the first
layer (transposed conv + batch norm, eval mode) is affine in z, so the regression is
exact. For a StyleGAN-type generator whose latents are w (``features`` is w itself),
it is PCA of sampled w, as GANSpace does for StyleGAN. Components are then reordered by
the image change they cause.
"""

from __future__ import annotations

import numpy as np
import torch

from stimuli.directions.base import Directions, DirectionsError
from stimuli.generators.base import FaceGenerator, batches, check_latents, sample_latents


def first_layer_activations(generator: FaceGenerator, latents: np.ndarray) -> np.ndarray:
    tensor = check_latents(latents, generator.latent_dim)
    with torch.inference_mode():
        parts = [generator.features(chunk).double() for chunk in batches(tensor, 256)]
    return torch.cat(parts).cpu().numpy()


def affine_jacobian(generator: FaceGenerator, *, rng: np.random.Generator) -> np.ndarray | None:
    """The matrix W with features(z) = W z + b, or None when the features are not affine.

    D + 1 forward passes give W exactly; two random probes check the affine claim.
    """
    dim = generator.latent_dim
    points = np.vstack([np.zeros(dim), np.eye(dim)])
    values = first_layer_activations(generator, points)
    offset, jacobian = values[0], (values[1:] - values[0]).T
    probes = rng.standard_normal((2, dim))
    predicted = probes @ jacobian.T + offset
    actual = first_layer_activations(generator, probes)
    error = np.abs(predicted - actual).max() / max(np.abs(actual).max(), 1e-12)
    return jacobian if error < 1e-3 else None


def pca_directions(
    generator: FaceGenerator,
    *,
    n_components: int = 10,
    n_samples: int = 2000,
    rng: np.random.Generator,
) -> tuple[Directions, np.ndarray]:
    """Top ``n_components`` PCA directions in z and the activation variance each explains.

    When the features are affine in z (the DCGAN's first layer), PCA of W z for
    z ~ N(0, I) is the SVD of W and the regression back to z gives its right singular
    vectors: exact and instant. Otherwise we sample ``n_samples`` latents, run PCA on the
    Gram matrix (activations have thousands of columns) and regress z on the PCA
    coordinates, as GANSpace does. Signs are fixed so each vector's largest entry is
    positive, making the result a deterministic function of ``rng``.
    """
    if not 1 <= n_components <= min(n_samples - 1, generator.latent_dim):
        raise DirectionsError(
            f"n_components must be 1..{min(n_samples - 1, generator.latent_dim)}; "
            f"got {n_components}"
        )
    # the exact shortcut assumes latents ~ N(0, I); a w-space generator samples its own
    gaussian = not hasattr(generator, "sample_latents")
    jacobian = affine_jacobian(generator, rng=rng) if gaussian else None
    if jacobian is not None:
        # right singular vectors of W = eigenvectors of the small D x D matrix W^T W
        variance, right = np.linalg.eigh(jacobian.T @ jacobian)
        variance, back = variance[::-1].clip(min=0), right[:, ::-1].T[:n_components]
    else:
        back, variance = _sampled_pca(generator, n_components, n_samples, rng=rng)
    signs = np.sign(back[np.arange(n_components), np.abs(back).argmax(axis=1)])
    explained = variance[:n_components] / variance.sum()
    names = tuple(f"pc{k + 1:02d}" for k in range(n_components))
    directions = Directions(
        vectors=back * signs[:, None], names=names, scales=np.ones(n_components), method="pca"
    )
    return directions, explained


def _sampled_pca(
    generator: FaceGenerator, n_components: int, n_samples: int, *, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """GANSpace's estimate: z regressed on sampled activations' PCA coordinates."""
    latents = sample_latents(generator, n_samples, rng=rng)
    activations = first_layer_activations(generator, latents)
    activations -= activations.mean(axis=0)
    eigenvalues, eigenvectors = np.linalg.eigh(activations @ activations.T)
    eigenvalues, eigenvectors = eigenvalues[::-1].clip(min=0), eigenvectors[:, ::-1]
    coordinates = eigenvectors[:, :n_components] * np.sqrt(eigenvalues[:n_components])
    centred = latents - latents.mean(axis=0)
    back, *_ = np.linalg.lstsq(coordinates, centred, rcond=None)  # z ~ coordinates @ back
    return back, eigenvalues
