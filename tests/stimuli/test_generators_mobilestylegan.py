"""MobileStyleGAN on OpenVINO: pinned IR files, RGB faces in w, clear errors.

The real network costs ~0.3-1 s a face on 2 cores, so these tests make at most a few
faces each; speed figures live in benchmarks/bench_faces.py.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from glyphlab.errors import GlyphlabError
from stimuli.directions import Directions, DirectionsError, shipped_directions
from stimuli.generators import (
    DEFAULT_BACKEND,
    GENERATORS,
    generate_batched,
    load_generator,
    manifest_entry,
    mobilestylegan,
    sample_latents,
    unavailable_reason,
)
from stimuli.generators.base import FaceGenerator, GeneratorError, resize_images

INSTALL = "pip install --no-deps random-face==2021.7.21.1"


@pytest.fixture(scope="module")
def generator():
    return load_generator("mobilestylegan")


def test_it_is_the_registered_default(generator):
    assert DEFAULT_BACKEND == "mobilestylegan" and GENERATORS["mobilestylegan"] is mobilestylegan
    assert isinstance(generator, FaceGenerator)
    assert (generator.latent_dim, generator.image_size) == (512, 1024)
    assert unavailable_reason("mobilestylegan") is None
    assert manifest_entry(generator)["backend"] == "mobilestylegan"


def test_faces_are_rgb_deterministic_and_batch_independent(generator, rng):
    """The wheel's config says img_rgb2bgr, but that flag is for OpenCV's imwrite: the
    network's channels are RGB, so skin in the face centre is redder than it is blue."""
    latents = sample_latents(generator, 2, rng=rng)
    together = generate_batched(generator, latents, batch_size=2)
    apart = generate_batched(generator, latents, batch_size=1)
    assert together.shape == (2, 3, 1024, 1024)
    assert torch.allclose(together, apart, atol=1e-4)
    centre = together[:, :, 400:624, 400:624].mean(dim=(2, 3))
    assert torch.all(centre[:, 0] > centre[:, 2] + 0.05)
    assert float(together.std()) > 0.2 and float(together.abs().max()) < 2.5


def test_base_faces_are_truncated_w_around_the_mean(generator):
    a = sample_latents(generator, 64, rng=np.random.default_rng(1))
    b = sample_latents(generator, 64, rng=np.random.default_rng(1))
    assert np.array_equal(a, b)
    raw = generator.map(np.random.default_rng(1).standard_normal((64, 512)))
    mean = generator.mean_latent
    assert np.allclose(a - mean, generator.psi * (raw - mean))


def test_shrinking_is_a_box_filter_for_whole_factors():
    images = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8)
    small = resize_images(images, 2)
    assert small.shape == (2, 3, 2, 2)
    assert torch.allclose(small[0, 0, 0, 0], images[0, 0, :4, :4].mean())
    assert resize_images(images, 3).shape == (2, 3, 3, 3)
    assert resize_images(images, 16) is images


def test_missing_wheel_says_how_to_install(monkeypatch):
    monkeypatch.setattr(mobilestylegan, "WHEEL_PACKAGE", "no_such_weights_wheel")
    assert INSTALL in unavailable_reason("mobilestylegan")
    with pytest.raises(GlyphlabError, match=re.escape(INSTALL)):
        mobilestylegan.MobileStyleGAN()


@pytest.mark.parametrize("name", ["SynthesisNetwork.bin", "MappingNetwork.xml"])
def test_tampered_or_missing_files_are_refused(monkeypatch, tmp_path, name):
    folder = tmp_path / "data"
    shutil.copytree(mobilestylegan.ir_folder(), folder)
    monkeypatch.setattr(mobilestylegan, "ir_folder", lambda: folder)
    with (folder / name).open("r+b") as handle:
        handle.seek(100)
        handle.write(b"\x00tampered\x00")
    with pytest.raises(GeneratorError, match=rf"{name} has sha256 .*{re.escape(INSTALL)}"):
        mobilestylegan.MobileStyleGAN()
    (folder / name).unlink()
    with pytest.raises(GeneratorError, match=rf"{name} is missing; reinstall"):
        mobilestylegan.MobileStyleGAN()
    assert "lacks" in unavailable_reason("mobilestylegan")


def test_shipped_directions_belong_to_this_generator(generator, tmp_path):
    shipped = shipped_directions(generator)
    assert shipped.latent_dim == 512 and {"pc01", "pc02"} <= set(shipped.names)
    other = {"backend": "dcgan64", "weights_sha256": "0" * 64}
    path = shipped.save(tmp_path / "elsewhere.npz", generator=other)
    with pytest.raises(DirectionsError, match="made for the dcgan64 generator"):
        Directions.load(path, generator=manifest_entry(generator))


def test_shipped_named_axes_were_fitted_on_5000_faces_and_met_every_goal(generator):
    """The shipped file's record (written by ``glyphlab stimuli directions --method
    labelled`` beside it and copied to docs/): >= 5,000 labelled faces, every named axis
    validated on >= 200 fresh faces and meeting its goal."""
    from stimuli.directions.named import AXIS_NAMES
    from stimuli.directions.validation import DEFAULT_GOAL, GOALS

    docs = Path(__file__).parents[2] / "docs" / "neural-faces"
    fitted = json.loads((docs / "mobilestylegan_labelled.json").read_text())
    validation = json.loads((docs / "mobilestylegan_validation.json").read_text())
    assert fitted["n_labelled"] >= 5000 and validation["n_faces"] >= 200
    assert set(AXIS_NAMES) <= set(shipped_directions(generator).names)
    rows = {row["axis"]: row for row in validation["axes"]}
    assert set(rows) == set(AXIS_NAMES)
    for name, row in rows.items():
        assert row["n"] >= 190 and row["right_way"] >= GOALS.get(name, DEFAULT_GOAL), row


def test_anti_face_mirrors_w_through_the_mean_face(generator):
    from stimuli.encodings.gan_face import GanFace

    encoding = GanFace()
    params = encoding.params({"base_seed": 2, "anti_face": True})
    face = sample_latents(generator, 1, rng=np.random.default_rng(2))[0]
    anti = encoding.draw(None, params, rng=None)
    assert np.allclose(anti, 2 * generator.mean_latent - face)


def test_torch_port_matches_openvino_and_keeps_the_ir_names(generator):
    """One latent here (each costs seconds on 2 cores); the benchmark checks 100."""
    from stimuli.generators import mobilestylegan_torch

    port = mobilestylegan_torch.load()
    assert "m.layers.6.to_img.conv.weight" in port.synthesis.constant_names()
    assert port.weights_sha256 == generator.weights_sha256
    assert np.abs(port.mean_latent - generator.mean_latent).max() < 1e-4
    w = torch.as_tensor(sample_latents(generator, 1, rng=np.random.default_rng(4)))
    expected = generate_batched(generator, w)
    with torch.inference_mode():
        actual = port.generate(w)
    assert float((actual - expected).abs().max()) < 1e-3


def test_a_stimulus_set_with_the_default_neural_faces(tmp_path):
    """Three 64 px faces through the whole set writer: sharp RGB faces, manifest entry."""
    from PIL import Image

    from stimuli import StimulusSetConfig, generate_stimulus_set, load_stimulus_set

    config = StimulusSetConfig.from_dict(
        {
            "seed": 1,
            "datasets": [{"n_items": 3, "n_features": 2, "n_outliers": 1}],
            "conditions": [{"encoding": "gan_face", "layout": "grid"}],
            "encoding_params": {"gan_face": {"size_px": 64, "features": ["pc01", "pc02", "pc03"]}},
        }
    )
    folder = generate_stimulus_set(config, tmp_path, progress=False)
    manifest = load_stimulus_set(folder).manifest
    assert manifest["generator"]["backend"] == "mobilestylegan"
    items = manifest["stimuli"][0]["items"]
    faces = [np.asarray(Image.open(folder / item["media"]).convert("RGB")) for item in items]
    assert all(face.shape == (64, 64, 3) for face in faces)
    assert not np.array_equal(faces[0], faces[1])


def test_the_seed_faithful_example_maps_y_to_smile_and_informative_x_to_age():
    from pathlib import Path

    from stimuli import StimulusSetConfig
    from stimuli.datasets import iter_datasets
    from stimuli.encodings.gan_face import GanFace

    example = Path(__file__).parents[2] / "stimuli" / "examples" / "neural_faces.toml"
    config = StimulusSetConfig.from_toml(example)
    encoding = GanFace()
    params = encoding.params(config.encoding_params["gan_face"])
    rows = next(iter_datasets(config)).rows
    mapped = dict(zip(rows.columns, encoding.mapped(rows, params).names, strict=True))
    assert mapped[rows.target] == "smile"
    assert [mapped[c] for c in rows.informative] == ["age"]
    others = [mapped[c] for c in rows.columns if c != rows.target and c not in rows.informative]
    assert others == ["gender", "eye_size", "hair_black", "hair_red"]


def test_drafts_are_the_same_faces_at_a_fraction_of_the_work(generator, tmp_path):
    """The studio's previews: the network stopped at 128 px, read out by the shipped head."""
    from stimuli.generators import mobilestylegan_draft as draft

    latents = torch.from_numpy(
        sample_latents(generator, 2, rng=np.random.default_rng(7)).astype(np.float32)
    )
    faces = generator.draft(latents)
    assert faces.shape == (2, 3, draft.DRAFT_SIZE, draft.DRAFT_SIZE)
    assert torch.equal(faces, generator.draft(latents)), "deterministic"
    full = resize_images(generator.generate(latents), draft.DRAFT_SIZE)
    scores = [draft.psnr(a, b) for a, b in zip(faces, full, strict=True)]
    assert min(scores) > 20, scores
    other = draft.psnr(faces[0], full[1])
    assert other < min(scores) - 5, "each draft is its own face, not an average one"
    with np.load(draft.HEAD_PATH) as head:
        assert str(head["generator_sha256"]) == generator.weights_sha256
        assert float(head["psnr_held_out"].mean()) > 24
        moved = {k: head[k] for k in head.files} | {"generator_sha256": np.array("0" * 64)}
    np.savez(tmp_path / "other.npz", **moved)
    with pytest.raises(GeneratorError, match="fitted on other MobileStyleGAN weights"):
        draft.load_head(tmp_path / "other.npz", generator.weights_sha256)
