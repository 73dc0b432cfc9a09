"""A tiny stimulus set written per the on-disk contract (BRIEF.md), for site tests.

It does not need torch or the real encoders: coloured tiles stand in for faces, so the
site's tests run in well under a second of set-up. Every media file is named by the
sha256 of its bytes like the real generator does, every tile's bytes differ, and the
datasets cover what the design needs: main datasets with one, two and zero outliers
(enough of each for a yes/no study), a practice and an attention-check dataset; four
encodings; grids everywhere and sequences for chernoff and table.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

N_ITEMS = 6
N_FEATURES = 3
ENCODINGS = ("gan_face", "chernoff", "table", "plot")
SEQUENCE_ENCODINGS = ("chernoff", "table")
#: dataset id -> (role, outlier rows)
DATASETS = {
    "d00": ("main", [2]),
    "d01": ("main", [5]),
    "d02": ("main", [0]),
    "d03": ("main", [1, 4]),
    "d04": ("main", []),
    "d05": ("main", [3]),
    "d06": ("main", []),
    "d07": ("main", []),
    "d08": ("main", []),
    "d09": ("main", [4]),
    "d10": ("main", [1]),
    "d11": ("main", [0]),
    "p00": ("practice", [1]),
    "a00": ("attention_check", [4]),
}
SET_ID = "f1x7e5e70001"


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _save(folder: Path, data: bytes, suffix: str = ".png") -> str:
    name = f"media/{hashlib.sha256(data).hexdigest()[:16]}{suffix}"
    (folder / name).write_bytes(data)
    return name


def _tile(seed: int, odd: bool) -> bytes:
    rng = np.random.default_rng(seed)
    colour = (200, 60, 60) if odd else tuple(int(v) for v in rng.integers(40, 180, 3))
    image = Image.new("RGB", (48, 48), colour)
    ImageDraw.Draw(image).ellipse((8, 8, 40, 40), outline=(255, 255, 255), width=2)
    image.putpixel((0, 0), tuple(int(v) for v in rng.integers(0, 255, 3)))
    return _png(image)


def make_stimulus_set(root: Path) -> Path:
    """Write the set under ``root/<set_id>`` and return that folder."""
    folder = root / SET_ID
    (folder / "media").mkdir(parents=True)
    (folder / "data").mkdir()
    rng = np.random.default_rng(7)
    datasets, stimuli, truth = [], [], {}
    counter = 0
    for dataset_id, (role, outliers) in DATASETS.items():
        rows = rng.normal(size=(N_ITEMS, N_FEATURES + 1))
        rows[outliers, -1] += 6.0
        with (folder / "data" / f"{dataset_id}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([f"x{k + 1}" for k in range(N_FEATURES)] + ["y"])
            writer.writerows(rows.round(4).tolist())
        datasets.append(
            {"dataset_id": dataset_id, "n_items": N_ITEMS, "n_features": N_FEATURES, "role": role}
        )
        truth[dataset_id] = {
            "outliers": outliers,
            "outlier_kind": "vertical",
            "magnitude_sd": 6.0,
            "role": role,
        }
        layouts = [(e, "grid") for e in ENCODINGS] + [(e, "sequence") for e in SEQUENCE_ENCODINGS]
        for encoding, layout in layouts:
            order = [int(i) for i in rng.permutation(N_ITEMS)]
            stimulus = {
                "stimulus_id": f"s{counter:04d}",
                "dataset_id": dataset_id,
                "encoding": encoding,
                "layout": layout,
                "width": 300,
                "height": 200,
            }
            counter += 1
            columns = [f"x{k + 1}" for k in range(N_FEATURES)] + ["y"]
            display_rows = [[f"{v:.2f}" for v in rows[i]] for i in order]
            per_item = encoding in ("gan_face", "chernoff") or layout == "sequence"
            items = []
            for i in order:
                entry = {"item": i}
                if per_item:
                    entry["media"] = _save(folder, _tile(counter * 100 + i, i in outliers))
                items.append(entry)
            stimulus["items"] = items
            if encoding == "table":
                stimulus["table"] = {"columns": columns, "rows": display_rows}
            if encoding == "plot":
                points = [
                    {"x": 30.0 + 45.0 * p, "y": 170.0 - 20.0 * rows[i, -1]}
                    for p, i in enumerate(order)
                ]
                image = Image.new("RGB", (300, 200), "white")
                draw = ImageDraw.Draw(image)
                for point in points:
                    draw.ellipse(
                        (point["x"] - 6, point["y"] - 6, point["x"] + 6, point["y"] + 6),
                        fill="navy",
                    )
                stimulus["plot"] = {"points": points, "radius": 6}
                stimulus["media"] = _save(folder, _png(image))
            elif layout == "grid":
                composite = Image.new(
                    "RGB", (300, 200), tuple(int(v) for v in rng.integers(0, 255, 3))
                )
                stimulus["media"] = _save(folder, _png(composite))
            stimuli.append(stimulus)
    manifest = {
        "set_id": SET_ID,
        "glyphlab_version": "0.1.0",
        "config": {"name": "site-test-fixture", "seed": 7},
        "generator": None,
        "datasets": datasets,
        "stimuli": stimuli,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))
    (folder / "truth.json").write_text(json.dumps({"set_id": SET_ID, "datasets": truth}))
    return folder
