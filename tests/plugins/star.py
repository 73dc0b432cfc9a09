"""A test-only encoding: each data row as a star glyph drawn with Pillow.

It proves an encoding is a plugin: this module, registered with one line
(``ENCODINGS["star"] = Star``), and nothing else in glyphlab changes. Column ``j`` sets
the length of ray ``j`` (one ray per column, at least five), so an outlying row is a
lopsided star. Shown as separate item images, answered by position.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from stimuli.encodings.base import Display, Encoding, Rows
from stimuli.errors import StimulusError


@dataclass(frozen=True)
class StarParams:
    """``size_px``: the square image's side."""

    size_px: int = 64

    def __post_init__(self) -> None:
        if not 24 <= self.size_px <= 512:
            raise StimulusError(f"star size_px must be 24..512, got {self.size_px}")


class Star(Encoding[StarParams, None]):
    """Star glyphs: deterministic, so there is nothing to draw at random."""

    name = "star"
    label = "Star glyphs"
    params_type = StarParams
    display = Display.IMAGES
    bot_dprime = 1.8

    def draw(self, rows: Rows, params: StarParams, *, rng: np.random.Generator) -> None:
        return None

    def render(self, rows: Rows, params: StarParams, draws: None) -> list[Image.Image]:
        rays = max(5, len(rows.columns))
        # +-3 SD spans 10%..100% of the radius
        lengths = np.clip((rows.values + 3.0) / 6.0, 0.0, 1.0) * 0.9 + 0.1
        return [self._star(line, rays, params.size_px) for line in lengths.tolist()]

    @staticmethod
    def _star(lengths: list[float], rays: int, size: int) -> Image.Image:
        image = Image.new("RGB", (size, size), "white")
        centre, radius = size / 2, size * 0.45
        points = []
        for k in range(rays):
            angle = 2 * math.pi * k / rays - math.pi / 2
            length = lengths[k] if k < len(lengths) else 0.5
            points.append((centre + radius * length * math.cos(angle),
                           centre + radius * length * math.sin(angle)))  # fmt: skip
        ImageDraw.Draw(image).polygon(points, fill=(250, 200, 60), outline=(90, 60, 0))
        return image
