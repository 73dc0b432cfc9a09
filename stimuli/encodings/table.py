"""Table: the rows as fixed-width numbers, as a PNG and as display strings for HTML.

The font is matplotlib's bundled DejaVu Sans Mono, located by path inside matplotlib's
data folder rather than by ``findfont``: a system font chosen by lookup could differ
between machines and break byte-identical stimulus sets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from stimuli.encodings.base import Display, Encoding, Grid, Rows
from stimuli.errors import StimulusError

INK = (20, 20, 20)
RULE = (120, 120, 120)
STRIPE = (238, 242, 248)
BACKGROUND = (255, 255, 255)


@cache
def mono_font(size_px: int) -> ImageFont.FreeTypeFont:
    """DejaVu Sans Mono at ``size_px`` from matplotlib's bundled fonts."""
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSansMono.ttf"
    return ImageFont.truetype(str(path), size_px)


@dataclass(frozen=True)
class TableParams:
    """``columns``: which to show, in order (empty = all); ``decimals`` per number;
    ``font_px``: text size of the PNG."""

    columns: tuple[str, ...] = ()
    decimals: int = 2
    font_px: int = 18

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", tuple(self.columns))
        if not 0 <= self.decimals <= 6:
            raise StimulusError(f"table decimals must be 0..6, got {self.decimals}")
        if not 8 <= self.font_px <= 72:
            raise StimulusError(f"table font_px must be 8..72, got {self.font_px}")


class Table(Encoding[TableParams, None]):
    """Numbers in a table; grid = the whole table, items = one-row tables (sequences)."""

    name = "table"
    label = "Table"
    params_type = TableParams
    display = Display.ROWS
    bot_dprime = 1.0

    def draw(self, rows: Rows, params: TableParams, *, rng: np.random.Generator) -> None:
        return None

    def render(self, rows: Rows, params: TableParams, draws: None) -> list[Image.Image]:
        header, cells = self.strings(rows, params)
        width = _widths(header, cells)
        return [_table_image(header, [line], width, params.font_px) for line in cells]

    def grid(
        self, rows: Rows, params: TableParams, draws: None, order: Sequence[int], *, images=None
    ) -> Grid:
        header, cells = self.strings(rows, params)
        shown = [cells[i] for i in order]
        image = _table_image(header, shown, _widths(header, cells), params.font_px)
        return Grid(image, {self.name: {"columns": header, "rows": shown}})

    @staticmethod
    def strings(rows: Rows, params: TableParams) -> tuple[list[str], list[list[str]]]:
        """Header and display strings per row (row order), e.g. ``"-1.30"``."""
        names = list(params.columns or rows.columns)
        unknown = [c for c in names if c not in rows.columns]
        if unknown:
            raise StimulusError(f"table columns {unknown} not in the data {list(rows.columns)}")
        values = np.stack([rows.column(c) for c in names], axis=1)
        cells = [[_number(v, params.decimals) for v in line] for line in values.tolist()]
        return names, cells


def _number(value: float, decimals: int) -> str:
    """Fixed-point text without a misleading ``-0.00`` for tiny negatives."""
    text = f"{value:.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def _widths(header: list[str], cells: list[list[str]]) -> list[int]:
    """Characters per column: the longest entry (so every table of a dataset aligns)."""
    return [max(len(h), *(len(line[j]) for line in cells)) for j, h in enumerate(header)]


def _table_image(
    header: list[str], cells: list[list[str]], widths: list[int], font_px: int
) -> Image.Image:
    """Header, a rule, then right-aligned fixed-width rows on alternating stripes."""
    font = mono_font(font_px)
    char = font.getlength("0")
    pad, gap = round(font_px * 0.6), 2
    line_h = round(font_px * 1.6)
    text = ["  ".join(s.rjust(w) for s, w in zip(line, widths, strict=True)) for line in cells]
    head = "  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True))
    width = round(char * len(head)) + 2 * pad
    height = line_h * (len(cells) + 1) + gap + 2 * pad
    image = Image.new("RGB", (width, height), BACKGROUND)
    d = ImageDraw.Draw(image)
    d.text((pad, pad), head, font=font, fill=INK)
    top = pad + line_h
    d.line(((pad, top), (width - pad, top)), fill=RULE, width=gap)
    for k, line in enumerate(text):
        y = top + gap + k * line_h
        if k % 2:
            d.rectangle((0, y, width, y + line_h - 1), fill=STRIPE)
        d.text((pad, y + (line_h - font_px) // 2 - 1), line, font=font, fill=INK)
    return image
