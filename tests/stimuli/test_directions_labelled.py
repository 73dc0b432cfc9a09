"""The labelled-directions pipeline (bank -> labels -> conditional directions -> table),
run on the small DCGAN with a stand-in labeller: fixed linear read-outs of the image.

The real labellers (mediapipe, dlib, LiteRT) are an optional extra that CI does not
install; their directions ship precomputed and are validated in docs/neural-faces/.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from stimuli.directions import Directions, DirectionsError
from stimuli.directions.facebank import bank_dir, chunk_path
from stimuli.directions.labellers import MEASURES, FaceLabeller
from stimuli.directions.named import (
    AXES,
    AXIS_NAMES,
    POSE_NAMES,
    named_directions,
    raw_directions,
)
from stimuli.directions.pipeline import compute_labelled, write_outputs
from stimuli.directions.validation import validate_named
from stimuli.generators import load_generator

#: measure ranges the axis rules expect (age in years, male log-odds, p in 0..1, ...)
RANGES = np.array(
    [
        *([5, 60], [-10, 10], [0, 1], [0.2, 0.4], [0, 0.2], [0, 255], [0, 50], [2, 20]),
        [40, 220],  # skin lightness
        *([-0.3, 0.3], [0, 0.3]),  # yaw, head turn
    ]
)


class LinearLabeller:
    """Measure k = a squashed fixed projection of the 8x8 image: smooth, deterministic.

    Centre and spread are fixed on the first batch it sees (the bank's first chunk).
    """

    def __init__(self, seed: int) -> None:
        self.weights = np.random.default_rng(seed).standard_normal((8 * 8 * 3, len(MEASURES)))
        self.centre = self.spread = None

    def __call__(self, images: np.ndarray) -> np.ndarray:
        n, side = len(images), images.shape[1]
        small = images.reshape(n, 8, side // 8, 8, side // 8, 3).mean(axis=(2, 4)) / 255.0
        score = small.reshape(n, -1) @ self.weights
        if self.centre is None:
            self.centre, self.spread = score.mean(axis=0), score.std(axis=0)
        unit = 1.0 / (1.0 + np.exp(-2.0 * (score - self.centre) / self.spread))
        return RANGES[:, 0] + unit * (RANGES[:, 1] - RANGES[:, 0])


@pytest.fixture(scope="module")
def generator():
    return load_generator("dcgan64")


def test_conditional_directions_are_orthogonal_to_their_nuisance_axes(rng):
    """Every measure shares latent 0, so raw directions are entangled; the conditional
    ones have no component along their nuisance axes' raw directions, nor along the
    head pose's."""
    latents = rng.standard_normal((400, 12))
    measures = np.column_stack([latents[:, k] + latents[:, 0] for k in range(len(MEASURES))])
    measures = (measures - measures.min(axis=0)) / np.ptp(measures, axis=0)
    measures = RANGES[:, 0] + measures * (RANGES[:, 1] - RANGES[:, 0])
    directions, cosines = named_directions(latents, measures)
    assert directions.names == AXIS_NAMES
    assert cosines["age~gender"] > 0.3
    raw = raw_directions(latents, measures)
    for axis in AXES:
        vector = directions.vectors[AXIS_NAMES.index(axis.name)]
        nuisance = (*axis.nuisance, *POSE_NAMES)
        assert np.allclose([vector @ raw[n] for n in nuisance], 0, atol=1e-10)
        assert vector @ raw[axis.name] > 0  # still points towards the attribute


def test_pipeline_fits_validates_and_writes_everything(generator, tmp_path):
    labeller = LinearLabeller(3)
    # 250 faces: the glasses rule takes the top 5%, and every group needs MIN_GROUP faces
    directions, run, measures = compute_labelled(
        generator, labeller, n_faces=250, seed=1, cache_dir=tmp_path / "cache", progress=False
    )
    assert run.n_labelled == 250 and measures.shape == (250, len(MEASURES))
    assert directions.names[: len(AXIS_NAMES)] == AXIS_NAMES and "pc01" in directions.names
    folder = bank_dir(tmp_path / "cache", generator, 1)
    stamp = chunk_path(folder, 0).stat().st_mtime_ns
    compute_labelled(
        generator, labeller, n_faces=250, seed=1, cache_dir=tmp_path / "cache", progress=False
    )
    assert chunk_path(folder, 0).stat().st_mtime_ns == stamp  # resumed, not remade

    results = validate_named(
        generator, directions, labeller, None, bank_measures=measures, n_faces=24,
        seed=1, progress=False,
    )  # fmt: skip
    assert [r.axis for r in results] == list(AXIS_NAMES)
    assert np.mean([r.right_way for r in results]) > 0.6  # well above chance (0.5)
    out = tmp_path / "out"
    written = write_outputs(
        generator, directions, run, results, out, n_validation=24, step_sd=2.0, seed=1
    )
    names = {path.name for path in written}
    assert {"directions.npz", "validation.json", "validation.md", "labelled.json"} <= names
    table = json.loads((out / "validation.json").read_text())
    assert table["n_faces"] == 24 and len(table["axes"]) == len(AXIS_NAMES)
    assert "| smile |" in (out / "validation.md").read_text()
    loaded = Directions.load(out / "directions.npz", generator={"backend": "dcgan64",
                             "weights_sha256": generator.weights_sha256})  # fmt: skip
    assert loaded.names == directions.names


def test_missing_labellers_say_how_to_install_and_write_nothing(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from glyphlab.cli import main

    monkeypatch.setitem(sys.modules, "mediapipe", None)
    with pytest.raises(DirectionsError, match=r"bootstrap\.sh --labellers"):
        FaceLabeller()
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        ["stimuli", "directions", "--backend", "dcgan64", "--method", "labelled",
         "--n-faces", "50", "--bank-dir", str(tmp_path / "bank"), "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code != 0 and "--labellers" in result.output
    assert "Traceback" not in result.output
    assert not out.exists() and not (tmp_path / "bank").exists()
