"""A resumable bank of generated faces on disk: the input of the labelling pipeline.

Labelling 5,000 faces takes an hour or more on two cores, so faces are made in chunks of
``CHUNK`` (chunk ``i``'s latents come from ``default_rng([seed, 17, i])``, independent of
how many chunks exist) and each finished chunk is written atomically as
``chunk_00000.npz`` (``latents`` (n, D) float64, ``images`` (n, px, px, 3) uint8). A
killed run resumes at the first missing chunk; a later, longer run reuses every chunk.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from tqdm import tqdm

from stimuli.generators.base import FaceGenerator, generate_batched, sample_latents, to_display

CHUNK = 50
BANK_PX = 256


def bank_dir(cache_dir: Path, generator: FaceGenerator, seed: int, px: int = BANK_PX) -> Path:
    return (
        Path(cache_dir) / f"bank-{generator.backend}-{generator.weights_sha256[:12]}-s{seed}-{px}"
    )


def chunk_path(folder: Path, index: int) -> Path:
    return folder / f"chunk_{index:05d}.npz"


def n_chunks(n_faces: int) -> int:
    return -(-n_faces // CHUNK)


def fill_bank(
    generator: FaceGenerator,
    folder: Path,
    n_faces: int,
    *,
    seed: int,
    px: int = BANK_PX,
    batch_size: int = 10,
    progress: bool = True,
) -> Path:
    """Make every missing chunk for the first ``n_faces`` faces of ``seed``."""
    folder.mkdir(parents=True, exist_ok=True)
    todo = [i for i in range(n_chunks(n_faces)) if not chunk_path(folder, i).is_file()]
    for index in tqdm(todo, desc="face bank", unit="chunk", disable=not progress):
        latents = sample_latents(generator, CHUNK, rng=np.random.default_rng([seed, 17, index]))
        images = to_display(generate_batched(generator, latents, batch_size=batch_size, size=px))
        with tempfile.NamedTemporaryFile(dir=folder, suffix=".tmp", delete=False) as tmp:
            np.savez(tmp, latents=latents, images=images)
        os.replace(tmp.name, chunk_path(folder, index))
    return folder


def iter_bank(folder: Path, n_faces: int) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """(chunk index, latents, images) for each chunk present among the first ``n_faces``."""
    for index in range(n_chunks(n_faces)):
        path = chunk_path(folder, index)
        if path.is_file():
            with np.load(path) as chunk:
                yield index, chunk["latents"], chunk["images"]
