"""Content-addressed media: files named by the sha256 of their bytes.

A name made of the first 16 hex digits of the content hash says nothing about the
stimulus (outlier or not), identical images are stored once, and a rerun that produces
the same bytes produces the same names. Encoding settings are fixed here so the bytes,
and therefore the names, are reproducible.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from PIL import Image


def png_bytes(image: Image.Image) -> bytes:
    """PNG with fixed settings and no metadata chunks (Pillow adds no timestamp).

    zlib level 1: on neural-face grids it is ~4x faster than the default 6 for ~12%
    larger files, and PNG encoding was the biggest single cost of generating a set.
    """
    buffer = io.BytesIO()
    _rgb(image).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _rgb(image: Image.Image) -> Image.Image:
    """``image`` as RGB; an RGB image as it is (``convert`` would copy it)."""
    return image if image.mode == "RGB" else image.convert("RGB")


#: Quality of lossy WebP stills. Neural faces are smooth upscales of a 64 px generator
#: output: at 95 a 256 px face is ~7 KiB instead of ~62 KiB as PNG, about a grey level
#: off on average (``docs/neural-faces/README.md``), so a 12-face trial fits inside its
#: JSON.
WEBP_QUALITY = 95
#: libwebp's effort (0 fastest .. 6 smallest). Method 0 encodes a 256 px DCGAN face in
#: ~20% less CPU than method 1 (1.75 vs 2.23 ms on a loaded 2-core machine) for 4% larger
#: files (7.5 vs 7.2 KiB) and the same error (200 faces: 0.984 vs 0.980 grey levels on
#: average, worst face 1.23 both); encoding costs about half as much CPU as the DCGAN's
#: generation of the face, so the CPU is worth more than the bytes.
WEBP_METHOD = 0
#: libwebp refuses images with a side above this; larger stills are stored as PNG
WEBP_MAX_SIDE = 16383


def webp_still_bytes(image: Image.Image) -> bytes:
    """Lossy WebP with fixed settings and no metadata (libwebp is deterministic)."""
    buffer = io.BytesIO()
    _rgb(image).save(buffer, format="WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD)
    return buffer.getvalue()


def still_format(image_format: str, image: Image.Image) -> str:
    """``image_format``, or ``png`` for an image too large for WebP."""
    too_big = image_format == "webp" and max(image.size) > WEBP_MAX_SIDE
    return "png" if too_big else image_format


#: still-image formats an encoding can ask for (``Encoding.item_format``)
IMAGE_ENCODERS = {"png": png_bytes, "webp": webp_still_bytes}


#: images a store lets wait for the pool before ``put_images_later`` waits itself
MAX_PENDING_IMAGES = 512


class MediaStore:
    """Writes files into ``<folder>/media/`` and returns their manifest paths.

    ``put_images`` encodes a batch of images on a thread pool (zlib and libwebp release
    the GIL), so the per-item images of a stimulus use every core; names and bytes do not
    depend on it. ``put_images_later`` returns at once with futures of the names, so the
    set writer renders the next stimulus (torch, also outside the GIL) while this one is
    encoded and written: at most ``max_pending`` images wait, so memory stays bounded.
    Use as a context manager so the pool is shut down.
    """

    def __init__(
        self,
        folder: Path,
        *,
        workers: int | None = None,
        max_pending: int = MAX_PENDING_IMAGES,
    ) -> None:
        self.folder = folder / "media"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.pool = ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1)
        self.max_pending = max_pending
        self._pending: deque[Future[str]] = deque()

    def __enter__(self) -> MediaStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.pool.shutdown()

    def put(self, data: bytes, extension: str) -> str:
        """Store ``data``; return ``"media/<hash16>.<extension>"``."""
        name = f"{hashlib.sha256(data).hexdigest()[:16]}.{extension}"
        path = self.folder / name
        if not path.exists():
            path.write_bytes(data)
        return f"media/{name}"

    def put_images(self, images: Sequence[Image.Image], image_format: str = "png") -> list[str]:
        """Store many images (``png`` or ``webp``, see ``IMAGE_ENCODERS``), in order;
        encoded in parallel."""
        return [name.result() for name in self.put_images_later(images, image_format)]

    def put_images_later(
        self, images: Sequence[Image.Image], image_format: str = "png"
    ) -> list[Future[str]]:
        """Like :meth:`put_images`, but return futures of the names at once; each image
        is encoded and written on the pool."""
        encode = IMAGE_ENCODERS[image_format]
        while self._pending and (
            self._pending[0].done() or len(self._pending) + len(images) > self.max_pending
        ):
            self._pending.popleft().result()  # bounded memory; and errors surface early
        names = [
            self.pool.submit(lambda image: self.put(encode(image), image_format), image)
            for image in images
        ]
        self._pending.extend(names)
        return names
