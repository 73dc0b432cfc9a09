"""Sequences: one item per frame, exported as animated WebP and MP4 for sharing.

The site shows the frames itself (their PNGs are in the manifest); these files let a
researcher look at or share a sequence. Both encoders run with fixed settings so the
same frames give the same bytes: WebP is lossless, and ffmpeg runs x264 single-threaded
with ``+bitexact`` flags and no metadata (no encoder version string, no creation time).
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image


def webp_bytes(frames: Sequence[Image.Image], frame_ms: int) -> bytes:
    """Animated, looping, lossless WebP with ``frame_ms`` per frame."""
    buffer = io.BytesIO()
    first, *rest = [frame.convert("RGB") for frame in frames]
    first.save(
        buffer,
        format="WEBP",
        save_all=True,
        append_images=rest,
        duration=frame_ms,
        loop=0,
        lossless=True,
        method=4,
    )
    return buffer.getvalue()


def _even(frame: Image.Image) -> np.ndarray:
    """RGB pixels padded with white to even width and height (yuv420p needs them)."""
    width, height = frame.size
    canvas = Image.new("RGB", (width + width % 2, height + height % 2), (255, 255, 255))
    canvas.paste(frame.convert("RGB"), (0, 0))
    return np.asarray(canvas)


def mp4_bytes(frames: Sequence[Image.Image], frame_ms: int) -> bytes:
    """H.264 MP4 showing each frame for ``frame_ms``, byte-identical across runs."""
    import imageio_ffmpeg

    pixels = [_even(frame) for frame in frames]
    height, width = pixels[0].shape[:2]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sequence.mp4"
        writer = imageio_ffmpeg.write_frames(
            str(path),
            (width, height),
            fps=1000.0 / frame_ms,
            codec="libx264",
            macro_block_size=1,
            ffmpeg_log_level="error",
            output_params=[
                "-threads", "1",
                "-fflags", "+bitexact",
                "-flags:v", "+bitexact",
                "-map_metadata", "-1",
                "-movflags", "+faststart",
            ],
        )  # fmt: skip
        writer.send(None)
        for frame in pixels:
            writer.send(np.ascontiguousarray(frame))
        writer.close()
        return path.read_bytes()
