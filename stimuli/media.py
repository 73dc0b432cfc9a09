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
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
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


#: Quality of lossy WebP stills (``image_format = "webp"``): at 95 a 256 px DCGAN face
#: is ~7.5 KiB instead of ~62 KiB as PNG, about a grey level off on average
#: (``docs/neural-faces/README.md``).
WEBP_QUALITY = 95
#: libwebp's effort (0 fastest .. 6 smallest). Method 0 encodes a 256 px DCGAN face in
#: ~20% less CPU than method 1 (1.75 vs 2.23 ms on a loaded 2-core machine) for 4% larger
#: files (7.5 vs 7.2 KiB) and the same error (200 faces: 0.984 vs 0.980 grey levels).
WEBP_METHOD = 0
#: Quality of JPEG stills, the neural faces' default (issue 16): on 200 DCGAN faces at
#: 256 px quality 92 (4:2:0) is 0.86 grey levels off on average (WebP at 95: 0.98; worst
#: face 1.16 against 1.20) for 9.1 instead of 7.5 KiB, and libjpeg-turbo encodes it in
#: about a tenth of libwebp's CPU (0.27 against 3.0 ms a face on a loaded 2-core
#: machine), which decides how close writing faces comes to the generator's own speed.
JPEG_QUALITY = 92


def webp_still_bytes(image: Image.Image) -> bytes:
    """Lossy WebP with fixed settings and no metadata (libwebp is deterministic)."""
    buffer = io.BytesIO()
    _rgb(image).save(buffer, format="WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD)
    return buffer.getvalue()


def jpeg_bytes(image: Image.Image) -> bytes:
    """Baseline JPEG with fixed settings and no metadata (libjpeg-turbo is deterministic
    for a given build; Pillow's wheels pin it)."""
    buffer = io.BytesIO()
    _rgb(image).save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


@dataclass(frozen=True)
class StillFormat:
    """How one still-image format is written and served: its encoder, the file
    extension its names get, its Content-Type, and the largest side its codec takes."""

    encode: Callable[[Image.Image], bytes]
    extension: str
    media_type: str
    max_side: int


#: still-image formats an encoding can ask for (``Encoding.item_format``)
STILL_FORMATS = {
    "png": StillFormat(png_bytes, "png", "image/png", 2**31 - 1),
    "webp": StillFormat(webp_still_bytes, "webp", "image/webp", 16383),
    "jpeg": StillFormat(jpeg_bytes, "jpg", "image/jpeg", 65500),
}


#: the Content-Type of each kind of file a set's ``media/`` holds, by extension: the
#: stills, and the sequences (animated WebP shares the still's extension, and MP4)
MEDIA_TYPES = {f".{still.extension}": still.media_type for still in STILL_FORMATS.values()} | {
    ".mp4": "video/mp4"
}


def media_type(name: str) -> str:
    """The Content-Type of media file ``name`` (PNG for anything else)."""
    return MEDIA_TYPES.get(os.path.splitext(name)[1], "image/png")


def still_format(image_format: str, image: Image.Image) -> str:
    """``image_format``, or ``png`` for an image too large for its codec."""
    return "png" if max(image.size) > STILL_FORMATS[image_format].max_side else image_format


#: images a store lets wait for the pool before ``put_images_later`` waits itself
MAX_PENDING_IMAGES = 512


class MediaStore:
    """Writes files into ``<folder>/media/`` and returns their manifest paths.

    ``put_images`` encodes a batch of images on a thread pool (the codecs release
    the GIL), so the per-item images of a stimulus use every core; names and bytes do not
    depend on it. ``put_images_later`` returns at once with futures of the names, so the
    set writer renders the next stimulus (torch, also outside the GIL) while this one is
    encoded and written: at most ``max_pending`` images wait, so memory stays bounded.
    Several threads may store at once (the set writer renders stimuli concurrently; two
    writers of one name write the same bytes). Use as a context manager so the pool is
    shut down.
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
        self._pending_lock = threading.Lock()

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
        """Store many images (a key of ``STILL_FORMATS``), in order; encoded in parallel."""
        return [name.result() for name in self.put_images_later(images, image_format)]

    def put_images_later(
        self, images: Sequence[Image.Image], image_format: str = "png"
    ) -> list[Future[str]]:
        """Like :meth:`put_images`, but return futures of the names at once; each image
        is encoded and written on the pool."""
        still = STILL_FORMATS[image_format]
        with self._pending_lock:  # a producer over the bound waits, holding back the rest
            while self._pending and (
                self._pending[0].done() or len(self._pending) + len(images) > self.max_pending
            ):
                self._pending.popleft().result()  # bounded memory; and errors surface early
            names = [
                self.pool.submit(
                    lambda image: self.put(still.encode(image), still.extension), image
                )
                for image in images
            ]
            self._pending.extend(names)
        return names
