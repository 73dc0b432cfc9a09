"""Draft renders of a studio mapping: the live preview, the grid, the sequence, downloads.

They are drawn from the same ``StimulusSetConfig`` the set will be built from (its CSV
dataset, encoding and params, the set's first random stream), so what the researcher
sees is what the set will hold. Renders are kept in a small in-memory cache keyed by
the config's canonical JSON, so changing the sort column or the frame duration, or
coming back to a mapping, draws no face again; one lock keeps two requests from
rendering at once on a small machine. A preview draws only the first rows.

A generator with a ``draft`` (MobileStyleGAN: its network stopped at 128 px and read
out at 256 px, ``stimuli.generators.mobilestylegan_draft``) draws the studio's faces
with it: the same base faces, latents and named axes as the set, at 2.6x less work
(8 faces in about 1.5 CPU-s; ``benchmarks/bench_studio.py``), a little softer than the
set's faces, which always come from the full network.

The views of every row (grid, sequence, downloads) of a neural-face mapping are drawn
by a ``studio_faces`` job in the worker, never in a web request (500 rows are a minute
of CPU): it stores the faces under ``<data dir>/studio/faces/<key>/`` (written in a
temporary folder and renamed, the newest ``KEEP_RENDERS`` kept), and the views are
composed from them. Feature encodings (Chernoff) draw fast and stay in the request.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

PREVIEW_ROWS = 8
CACHE_ENTRIES = 12
FACES_SUBDIR = "faces"
KEEP_RENDERS = 24


class DraftRenderer:
    """Renders item images per (config, row limit), cached (LRU); thread-safe."""

    def __init__(self, entries: int = CACHE_ENTRIES) -> None:
        self._cache: OrderedDict[tuple[str, int | None], list[Image.Image]] = OrderedDict()
        self._encodings: dict[str, object] = {}
        self._lock = threading.Lock()
        self.entries = entries

    def images(self, config, limit: int | None = None) -> list[Image.Image]:
        """One image per row (the first ``limit`` rows), in row order."""
        return self._cached((image_key(config), limit), lambda: self.render(config, limit))

    def stored(self, data_dir: Path, config) -> list[Image.Image] | None:
        """Every row's image as the ``studio_faces`` job stored it, or None if not yet."""
        folder = faces_dir(data_dir, config)
        if not (folder / "done").is_file():
            return None
        return self._cached((image_key(config), "stored"), lambda: load_faces(folder))

    def _cached(self, key, make: Callable[[], list[Image.Image]]) -> list[Image.Image]:
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            images = make()
            self._cache[key] = images
            while len(self._cache) > self.entries:
                self._cache.popitem(last=False)
            return images

    def render(
        self, config, limit: int | None, on_progress: Callable[[int, int], None] | None = None
    ) -> list[Image.Image]:
        """Draw the images (drafts where the generator has them), uncached."""
        from stimuli.datasets import iter_datasets
        from stimuli.encodings import ENCODINGS, Rows

        name = config.conditions[0].encoding
        encoding = self._encodings.setdefault(name, ENCODINGS[name]())  # keeps its network
        params = encoding.params(config.encoding_options(name))
        rows = next(iter_datasets(config)).rows
        if limit is not None:
            rows = Rows(rows.values[:limit], rows.columns, rows.target, rows.informative)
        draws = encoding.draw(rows, params, rng=np.random.default_rng([config.seed, 1, 0, 0]))
        generator = encoding.generator(params) if hasattr(encoding, "generator") else None
        if getattr(generator, "draft", None) is None:
            return encoding.render(rows, params, draws)
        latents = encoding.latents(rows, params, draws)
        return draft_faces(generator, latents, params, on_progress=on_progress)


def draft_faces(
    generator, latents: np.ndarray, params, on_progress: Callable[[int, int], None] | None = None
) -> list[Image.Image]:
    """``generator.draft`` faces for ``latents``, batch by batch, at ``params.size_px``;
    ``on_progress(done, total)`` after each batch."""
    import torch

    from stimuli.generators.base import batches, check_latents, resize_images, to_display

    tensor = check_latents(latents, generator.latent_dim)
    faces: list[Image.Image] = []
    with torch.inference_mode():
        for chunk in batches(tensor, params.batch_size):
            drawn = resize_images(generator.draft(chunk), params.size_px)
            faces += [Image.fromarray(face) for face in to_display(drawn, params.size_px)]
            if on_progress is not None:
                on_progress(len(faces), len(tensor))
    return faces


def image_key(config) -> str:
    """What the images depend on: the data, the encoding and its params, the seed (not
    the frame duration or the orders, so changing those draws nothing again)."""
    data = config.to_dict()
    keep = {k: data[k] for k in ("datasets", "encoding_params", "seed")}
    keep["encoding"] = config.conditions[0].encoding
    return json.dumps(keep, sort_keys=True)


def drawn_in_worker(config) -> bool:
    """Whether every row's images come from the ``studio_faces`` job (neural faces)."""
    from experiment.studio.axes import is_latent

    return is_latent(config.conditions[0].encoding)


def faces_key(config) -> str:
    return hashlib.sha256(image_key(config).encode()).hexdigest()[:20]


def faces_dir(data_dir: Path, config) -> Path:
    from experiment.studio.data import STUDIO_SUBDIR

    return Path(data_dir) / STUDIO_SUBDIR / FACES_SUBDIR / faces_key(config)


def store_faces(data_dir: Path, config, images: Sequence[Image.Image]) -> Path:
    """Write ``images`` as ``faces_dir``'s ``00000.png``...; atomic; prunes old renders."""
    final = faces_dir(data_dir, config)
    final.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=final.parent))
    try:
        for k, image in enumerate(images):
            image.save(work / f"{k:05d}.png", compress_level=1)
        (work / "done").write_text(f"{len(images)}\n")
        if final.exists():
            shutil.rmtree(final)
        os.rename(work, final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    renders = sorted(
        (p for p in final.parent.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.stat().st_mtime,
    )
    for old in renders[:-KEEP_RENDERS]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def load_faces(folder: Path) -> list[Image.Image]:
    images = []
    for path in sorted(folder.glob("*.png")):
        with Image.open(path) as image:
            images.append(image.convert("RGB"))
    return images


def display_rows(values: np.ndarray | None, n: int, descending: bool = False) -> list[int]:
    """Row order: as in the file (``values`` None) or sorted by ``values``."""
    if values is None:
        return list(range(n))
    order = [int(i) for i in np.argsort(values, kind="stable")]
    return order[::-1] if descending else order


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def grid_png(images: Sequence[Image.Image], order: Sequence[int]) -> bytes:
    from stimuli.layouts.grid import tile

    return png(tile([images[i] for i in order]))


def sequence_webp(images: Sequence[Image.Image], order: Sequence[int], frame_ms: int) -> bytes:
    from stimuli.layouts.sequence import webp_bytes

    return webp_bytes([images[i] for i in order], frame_ms)


def sequence_mp4(images: Sequence[Image.Image], order: Sequence[int], frame_ms: int) -> bytes:
    from stimuli.layouts.sequence import mp4_bytes

    return mp4_bytes([images[i] for i in order], frame_ms)


def images_zip(images: Sequence[Image.Image], order: Sequence[int], readme: str) -> bytes:
    """PNGs named by position and row (``001-row-007.png``) plus a note on the mapping."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for position, row in enumerate(order, start=1):
            archive.writestr(f"{position:03d}-row-{row + 1:03d}.png", png(images[row]))
        archive.writestr("README.txt", readme)
    return buffer.getvalue()
