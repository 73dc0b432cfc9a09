"""Contact sheets: what each encoding looks like, for README and for a researcher
checking a config before generating thousands of stimuli.

``encoding_sheet`` shows the grid composite of the first few datasets of a config, one
labelled band per dataset (outliers are not marked: it shows what participants see).
``chernoff_feature_sheet`` shows every Chernoff feature from -3 to +3 SD, so the mapping
of columns to features can be judged by eye.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from stimuli.config import StimulusSetConfig
from stimuli.datasets import iter_datasets
from stimuli.encodings import ENCODINGS
from stimuli.encodings.base import Rows
from stimuli.encodings.chernoff import FEATURES, Chernoff
from stimuli.encodings.table import mono_font
from stimuli.errors import StimulusError
from stimuli.layouts.grid import display_order

INK = (30, 30, 30)


def _labelled(images: list[tuple[str, Image.Image]], *, gap: int = 12) -> Image.Image:
    """Stack images vertically, each under a one-line label."""
    font = mono_font(16)
    width = max(max(image.width, round(font.getlength(label))) for label, image in images)
    width += 2 * gap
    height = sum(image.height + 28 + gap for _, image in images) + gap
    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    d = ImageDraw.Draw(sheet)
    y = gap
    for label, image in images:
        d.text((gap, y), label, font=font, fill=INK)
        sheet.paste(image, (gap, y + 28))
        y += image.height + 28 + gap
    return sheet


def encoding_sheet(config: StimulusSetConfig, encoding: str, *, n_datasets: int = 2) -> Image.Image:
    """Grid composites of the first ``n_datasets`` datasets drawn with ``encoding``."""
    if encoding not in ENCODINGS:
        raise StimulusError(f"unknown encoding {encoding!r}; registered: {sorted(ENCODINGS)}")
    enc = ENCODINGS[encoding]()
    params = enc.params(config.encoding_options(encoding))
    bands = []
    for dataset in list(iter_datasets(config))[:n_datasets]:
        rng = np.random.default_rng([config.seed, 2, dataset.index])
        draws = enc.draw(dataset.rows, params, rng=rng)
        order = display_order(dataset.rows.n_items, "random", rng=rng)
        grid = enc.grid(dataset.rows, params, draws, order)
        label = f"{encoding}: dataset {dataset.dataset_id}, {dataset.rows.n_items} items"
        bands.append((label, grid.image))
    return _labelled(bands)


def chernoff_feature_sheet(*, steps: int = 7, size_px: int = 96) -> Image.Image:
    """One row per Chernoff feature, columns from -3 to +3 SD (others at 0)."""
    values = np.linspace(-3.0, 3.0, steps)
    enc = Chernoff()
    font = mono_font(14)
    label_w = 150
    size = (label_w + steps * size_px, (len(FEATURES) + 1) * size_px)
    sheet = Image.new("RGB", size, (255, 255, 255))
    d = ImageDraw.Draw(sheet)
    for k, value in enumerate(values):
        d.text(
            (label_w + k * size_px + size_px // 3, size_px // 2),
            f"{value:+.0f} SD",
            font=font,
            fill=INK,
        )
    for r, feature in enumerate(FEATURES, start=1):
        d.text((8, r * size_px + size_px // 2 - 8), feature, font=font, fill=INK)
        rows = Rows(values[:, None], ("v",), target=None)
        params = enc.params({"size_px": size_px, "features": [feature]})
        for k, image in enumerate(enc.render(rows, params, np.zeros((steps, len(FEATURES))))):
            sheet.paste(image, (label_w + k * size_px, r * size_px))
    return sheet


def sequence_video(config: StimulusSetConfig, encoding: str, order: str) -> bytes:
    """The first dataset drawn with ``encoding`` as an MP4 sequence in ``order``."""
    from stimuli.layouts.sequence import mp4_bytes

    enc = ENCODINGS[encoding]()
    params = enc.params(config.encoding_options(encoding))
    dataset = next(iter_datasets(config))
    rows = dataset.rows
    rng = np.random.default_rng([config.seed, 2, dataset.index])
    draws = enc.draw(rows, params, rng=rng)
    shown = display_order(rows.n_items, order, y=rows.column(rows.target), rng=rng)
    images = enc.render(rows, params, draws)
    return mp4_bytes([images[i] for i in shown], config.frame_ms)


def write_previews(config: StimulusSetConfig, out_dir: str | Path) -> list[Path]:
    """One ``<encoding>.png`` per encoding in the config, plus ``chernoff-features.png``
    when Chernoff faces are used, plus ``<encoding>-sequence-<order>.mp4`` for each
    sequence condition (its first dataset); returns the paths written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    names = dict.fromkeys(c.encoding for c in config.conditions)
    for name in names:
        reason = ENCODINGS[name].unavailable_reason(config.encoding_params.get(name))
        if reason:
            raise StimulusError(f"encoding {name!r} cannot run here: {reason}")
        path = out_dir / f"{name}.png"
        encoding_sheet(config, name).save(path)
        written.append(path)
    if Chernoff.name in names:
        path = out_dir / f"{Chernoff.name}-features.png"
        chernoff_feature_sheet().save(path)
        written.append(path)
    for condition in config.conditions:
        order = condition.order or config.order
        path = out_dir / f"{condition.encoding}-sequence-{order}.mp4"
        if condition.layout == "sequence" and path not in written:
            path.write_bytes(sequence_video(config, condition.encoding, order))
            written.append(path)
    return written
