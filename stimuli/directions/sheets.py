"""Contact sheets a researcher looks at to see and name latent directions.

``direction_strips``: one row per direction, faces at -3..+3 SD (scaled as a stimulus
would be) for a base face; ``face_sheet``: numbered faces, e.g. to label latents for the
difference-of-means method. Pillow only, with its default font.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from stimuli.directions.base import Directions
from stimuli.generators.base import FaceGenerator, generate_batched, to_display

SD_STEPS = (-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0)
BACKGROUND = (255, 255, 255)
INK = (20, 20, 20)


def _font(size: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def direction_strips(
    generator: FaceGenerator,
    directions: Directions,
    base_latent: np.ndarray,
    *,
    steps: tuple[float, ...] = SD_STEPS,
    face_px: int = 96,
    notes: dict[str, str] | None = None,
    progress: bool = False,
) -> Image.Image:
    """Rows = directions, columns = data values in SD; labelled with name and scale."""
    base = np.asarray(base_latent, dtype=np.float64).reshape(1, -1)
    values = np.asarray(steps)
    latents = [
        base + value * directions.scales[k] * directions.vectors[k]
        for k in range(len(directions))
        for value in values
    ]
    faces = to_display(
        generate_batched(
            generator, np.concatenate(latents), batch_size=8, size=face_px, progress=progress
        ),
        face_px,
    )
    label_w, header_h = 150, 24
    sheet = Image.new(
        "RGB",
        (label_w + face_px * len(values), header_h + face_px * len(directions)),
        BACKGROUND,
    )
    draw = ImageDraw.Draw(sheet)
    font = _font(13)
    for j, value in enumerate(values):
        draw.text((label_w + j * face_px + face_px // 2, 6), f"{value:+g} SD", INK, font, "mt")
    for k, name in enumerate(directions.names):
        top = header_h + k * face_px
        lines = [name, f"scale {directions.scales[k]:.2f}"]
        if notes and name in notes:
            lines.append(notes[name])
        draw.multiline_text((6, top + 8), "\n".join(lines), INK, font)
        for j in range(len(values)):
            sheet.paste(Image.fromarray(faces[k * len(values) + j]), (label_w + j * face_px, top))
    return sheet


def face_sheet(
    generator: FaceGenerator,
    latents: np.ndarray,
    *,
    columns: int = 8,
    face_px: int = 96,
    labels: list[str] | None = None,
) -> Image.Image:
    """A grid of faces in row order, each captioned with its label (default: its index)."""
    faces = to_display(generate_batched(generator, latents, batch_size=8, size=face_px), face_px)
    labels = labels or [f"{i:03d}" for i in range(len(faces))]
    caption_h = 16
    rows = -(-len(faces) // columns)
    sheet = Image.new("RGB", (columns * face_px, rows * (face_px + caption_h)), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font = _font(12)
    for i, face in enumerate(faces):
        left, top = (i % columns) * face_px, (i // columns) * (face_px + caption_h)
        sheet.paste(Image.fromarray(face), (left, top))
        draw.text((left + face_px // 2, top + face_px + 2), labels[i], INK, font, "mt")
    return sheet
