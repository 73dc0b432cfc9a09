"""Label a face bank chunk by chunk: ``chunk_00000.npz`` -> ``chunk_00000.labels.npy``.

Resumable like the bank itself: a chunk already labelled is skipped, so labelling can
follow a bank that is still being filled (``follow``) and a killed run loses at most
one chunk.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from tqdm import tqdm

from stimuli.directions.facebank import chunk_path, n_chunks

#: images uint8 (N, H, W, 3) -> measures (N, M), NaN where a face was not measurable
Labeller = Callable[[np.ndarray], np.ndarray]


def labels_path(folder: Path, index: int) -> Path:
    return folder / f"chunk_{index:05d}.labels.npy"


def label_bank(
    folder: Path,
    n_faces: int,
    labeller: Labeller,
    *,
    follow: bool = False,
    poll_s: float = 10.0,
    progress: bool = True,
) -> int:
    """Label every bank chunk that has no labels yet; return how many chunks are labelled.

    With ``follow`` it waits for chunks still being generated until all are labelled.
    """
    total = n_chunks(n_faces)
    bar = tqdm(total=total, desc="labelling", unit="chunk", disable=not progress)
    done = set()
    while True:
        for index in range(total):
            if index in done or not chunk_path(folder, index).is_file():
                continue
            target = labels_path(folder, index)
            if not target.is_file():
                with np.load(chunk_path(folder, index)) as chunk:
                    measures = labeller(chunk["images"])
                with tempfile.NamedTemporaryFile(dir=folder, suffix=".tmp", delete=False) as tmp:
                    np.save(tmp, measures)
                os.replace(tmp.name, target)
            done.add(index)
            bar.update(1)
        if len(done) == total or not follow:
            return len(done)
        time.sleep(poll_s)
