"""Generate a stimulus set on disk, atomically and reproducibly.

Layout and files follow the BRIEF contract: ``<out>/<set_id>/manifest.json`` (public),
``truth.json`` and ``data/<dataset_id>.csv`` (private), ``media/<hash16>.<ext>``.
Sequences also get copies with readable names in ``downloads/`` (``s0003-d01-chernoff-
sorted_y.mp4``) for the researcher to watch and share; the site serves only ``media/``,
whose names say nothing about a stimulus. The
set is written into a hidden temporary folder next to its destination and renamed into
place only when complete, so a failure (bad CSV, missing weights, full disk) leaves
nothing half-written. Every random choice comes from ``default_rng([seed, ...])`` keyed
by dataset and condition, so the same config gives byte-identical files.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

import glyphlab
from stimuli.config import StimulusSetConfig
from stimuli.datasets import Dataset, iter_datasets
from stimuli.encodings import ENCODINGS, Display, Encoding
from stimuli.errors import StimulusError
from stimuli.layouts.grid import display_order
from stimuli.media import MediaStore, still_format
from stimuli.render_lanes import RenderLanes


def generate_stimulus_set(
    config: StimulusSetConfig,
    out_dir: str | Path,
    *,
    progress: bool = True,
    on_progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write the set for ``config`` under ``out_dir``; return ``out_dir / set_id``.

    If that folder already holds a complete set it is returned as is: the id is a hash
    of the config, so the content would be the same. ``on_progress(done, total)`` is
    called after each stimulus (a background job's progress bar).
    """
    from tqdm import tqdm

    out_dir = Path(out_dir)
    final = out_dir / config.set_id
    if (final / "manifest.json").is_file():
        return final
    if final.exists():
        raise StimulusError(f"{final} exists but is not a complete stimulus set; remove it")
    encoders = _encoders(config)
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{config.set_id}-", dir=out_dir))
    try:
        datasets = list(iter_datasets(config))
        jobs = [
            (dataset, c, condition)
            for dataset in datasets
            for c, condition in enumerate(config.conditions)
            if dataset.role in condition.roles
        ]
        (work / "data").mkdir()
        stimuli = []
        bar = tqdm(
            jobs, desc=f"stimulus set {config.set_id}", unit="stimulus", disable=not progress
        )
        # asked before the lanes start, so every generator loads with all its threads
        concurrent = {name: enc.renders_concurrently(p) for name, (enc, p) in encoders.items()}
        with (
            MediaStore(work) as media,
            RenderLanes(concurrent=any(concurrent.values())) as lanes,
        ):
            # Stimuli render on the lanes, and each one's images are encoded and written
            # on the store's pool while others render; its manifest entry holds their
            # futures until then. Entries come back in job order.
            renders = []
            for dataset, c, condition in jobs:
                encoding, params = encoders[condition.encoding]
                rng = np.random.default_rng([config.seed, 1, dataset.index, c])
                renders.append(
                    lanes.submit(
                        concurrent[condition.encoding],
                        _stimulus,
                        config,
                        dataset,
                        condition,
                        encoding,
                        params,
                        media,
                        rng,
                    )
                )
            for k, ((_, _, condition), render) in enumerate(zip(bar, renders, strict=True)):
                entry = render.result()
                stimulus_id = f"s{k:04d}"
                if condition.layout == "sequence":
                    entry["downloads"] = _downloads(work, stimulus_id, entry)
                stimuli.append({"stimulus_id": stimulus_id, **entry})
                if on_progress is not None:
                    on_progress(k + 1, len(jobs))
            stimuli = [_with_names(entry) for entry in stimuli]
        for dataset in datasets:
            dataset.raw.to_csv(
                work / "data" / f"{dataset.dataset_id}.csv",
                index=False,
                float_format="%.10g",
                lineterminator="\n",
            )
        _write_json(work / "manifest.json", _manifest(config, datasets, stimuli, encoders))
        truth = {"set_id": config.set_id, "datasets": {d.dataset_id: d.truth for d in datasets}}
        _write_json(work / "truth.json", truth)
        work.chmod(0o755)  # mkdtemp made it private; the finished set is an ordinary folder
        try:
            os.rename(work, final)
        except OSError:
            if not (final / "manifest.json").is_file():
                raise
            shutil.rmtree(work)  # a concurrent run finished the same set first
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return final


def _encoders(config: StimulusSetConfig) -> dict[str, tuple[Encoding, Any]]:
    """One encoding instance and validated params per encoding the config uses."""
    out = {}
    for condition in config.conditions:
        name = condition.encoding
        if name in out:
            continue
        cls = ENCODINGS[name]
        reason = cls.unavailable_reason(config.encoding_params.get(name))
        if reason:
            raise StimulusError(f"encoding {name!r} cannot run here: {reason}")
        encoding = cls()
        out[name] = (encoding, encoding.params(config.encoding_options(name)))
    return out


def _downloads(work: Path, stimulus_id: str, entry: dict[str, Any]) -> dict[str, str]:
    """Copies of a sequence's animation and video under readable names in downloads/."""
    folder = work / "downloads"
    folder.mkdir(exist_ok=True)
    stem = f"{stimulus_id}-{entry['dataset_id']}-{entry['encoding']}-{entry['order']}"
    out = {}
    for key in ("media", "video"):
        if key in entry:
            name = f"{stem}{Path(entry[key]).suffix}"
            shutil.copyfile(work / entry[key], folder / name)
            out["animation" if key == "media" else "video"] = f"downloads/{name}"
    return out


def _stimulus(config, dataset: Dataset, condition, encoding: Encoding, params, media, rng):
    """Render one (dataset, encoding, layout) stimulus; return its manifest entry."""
    rows = dataset.rows
    layout = condition.layout
    draws = encoding.draw(rows, params, rng=rng)
    y = rows.column(rows.target)  # datasets always name their target
    order_name = condition.order or config.order
    order = display_order(rows.n_items, order_name, y=y, rng=rng)
    entry: dict[str, Any] = {
        "dataset_id": dataset.dataset_id,
        "encoding": encoding.name,
        "layout": layout,
        "order": order_name,
    }
    if layout == "sequence":
        from stimuli.layouts.sequence import mp4_bytes, webp_bytes

        images = encoding.render(rows, params, draws)
        frames = [images[i] for i in order]
        entry["width"], entry["height"] = frames[0].size
        entry["media"] = media.put(webp_bytes(frames, config.frame_ms), "webp")
        if config.video:
            entry["video"] = media.put(mp4_bytes(frames, config.frame_ms), "mp4")
        entry["frame_ms"] = config.frame_ms
        names = media.put_images([images[i] for i in order], encoding.item_format(params))
        entry["items"] = [{"item": i, "media": n} for i, n in zip(order, names, strict=True)]
        if encoding.display is not Display.IMAGES:  # rows / points for the site's own view
            entry.update(encoding.grid(rows, params, draws, order, images=images).fields)
        return entry
    images = encoding.render(rows, params, draws) if encoding.display is Display.IMAGES else None
    grid = encoding.grid(rows, params, draws, order, images=images)
    entry["width"], entry["height"] = grid.image.size
    items = [] if images is None else [images[i] for i in order]
    names = media.put_images_later(items, encoding.item_format(params))
    entry["media"] = media.put_images_later(
        [grid.image], composite_format(encoding, params, grid.image)
    )[0]
    if images is None:
        entry["items"] = [{"item": i} for i in order]
    else:
        entry["items"] = [{"item": i, "media": n} for i, n in zip(order, names, strict=True)]
    entry.update(grid.fields)
    return entry


def composite_format(encoding: Encoding, params: Any, image: Image.Image) -> str:
    """A grid's composite file format: a tile of item images is stored like its items
    (a sheet of lossy faces gains nothing from lossless PNG, which costs more than the
    faces' own encoding), else PNG; PNG too past the format's size limit."""
    if encoding.display is not Display.IMAGES:
        return "png"
    return still_format(encoding.item_format(params), image)


def _with_names(entry: dict[str, Any]) -> dict[str, Any]:
    """``entry`` with the media names its futures (``MediaStore.put_images_later``) gave."""

    def name(value: Any) -> Any:
        return value.result() if isinstance(value, Future) else value

    items = [
        {**item, "media": name(item["media"])} if "media" in item else item
        for item in entry["items"]
    ]
    return {**entry, "media": name(entry["media"]), "items": items}


def _manifest(config, datasets, stimuli, encoders) -> dict[str, Any]:
    provenance = [e.provenance(p) for e, p in encoders.values()]
    return {
        "set_id": config.set_id,
        "glyphlab_version": glyphlab.__version__,
        "config": config.to_dict(),
        "generator": next((p for p in provenance if p is not None), None),
        "datasets": [
            {
                "dataset_id": d.dataset_id,
                "n_items": d.rows.n_items,
                "n_features": len(d.rows.columns) - (1 if d.rows.target else 0),
                "role": d.role,
            }
            for d in datasets
        ],
        "stimuli": stimuli,
    }


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
