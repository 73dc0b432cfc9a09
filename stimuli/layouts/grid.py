"""Grid composites and display order.

A grid shows all items at once in reading order. The order itself is drawn (or sorted by
y) before rendering, independent of which rows are outliers, so a participant cannot
learn truth from position.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image

BACKGROUND = (255, 255, 255)


def grid_shape(n: int) -> tuple[int, int]:
    """(columns, rows) for ``n`` tiles, a little wider than tall (screens are landscape)."""
    columns = max(1, math.ceil(math.sqrt(n * 4 / 3)))
    return columns, math.ceil(n / columns)


def tile(images: Sequence[Image.Image], *, columns: int | None = None, gap: int = 8) -> Image.Image:
    """Paste equal-sized images in reading order on a white RGB canvas with ``gap`` px."""
    if not images:
        raise ValueError("tile needs at least one image")
    width, height = images[0].size
    n_columns, n_rows = (
        grid_shape(len(images)) if columns is None else (columns, math.ceil(len(images) / columns))
    )
    canvas = Image.new(
        "RGB",
        (n_columns * width + (n_columns + 1) * gap, n_rows * height + (n_rows + 1) * gap),
        BACKGROUND,
    )
    for k, image in enumerate(images):
        row, column = divmod(k, n_columns)
        rgb = image if image.mode == "RGB" else image.convert("RGB")  # convert copies
        canvas.paste(rgb, (gap + column * (width + gap), gap + row * (height + gap)))
    return canvas


def display_order(
    n_items: int, order: str, *, y: np.ndarray | None = None, rng: np.random.Generator
) -> list[int]:
    """Item indices in display order: ``"random"`` (from rng) or ``"sorted_y"`` (ascending).

    The random permutation is always drawn, even for ``sorted_y``, so switching the order
    of one stimulus does not shift the random stream of the rest of the set.
    """
    permutation = [int(i) for i in rng.permutation(n_items)]
    if order == "random":
        return permutation
    if order == "sorted_y":
        if y is None:
            raise ValueError("sorted_y needs the y column")
        return [int(i) for i in np.argsort(y, kind="stable")]
    raise ValueError(f"unknown order {order!r}")
