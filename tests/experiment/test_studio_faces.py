"""The studio with neural faces: generator axes, direct projection, axes made by hand.

Needs the generators' weights (MobileStyleGAN is the studio's default, drawn as drafts;
the DCGAN makes the face sheet for axes by hand); skipped where they are missing.
"""

from __future__ import annotations

import io

import pytest
from click.testing import CliRunner
from PIL import Image

from glyphlab.cli import main
from stimuli.encodings import ENCODINGS
from tests.experiment.test_auth import csrf_token, log_in
from tests.experiment.test_studio import CSV, upload

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _generator_available():
    reason = ENCODINGS["gan_face"].unavailable_reason()
    if reason:
        pytest.skip(reason)


@pytest.fixture
def logged_in(client, researcher):
    assert log_in(client).status_code == 302
    return client


@pytest.fixture
def dataset(logged_in):
    return upload(logged_in, CSV.encode()).location


def png(response) -> Image.Image:
    assert response.status_code == 200, response.get_data(as_text=True)
    return Image.open(io.BytesIO(response.data))


def test_the_default_generator_offers_named_axes_and_previews_them_as_drafts(
    logged_in, dataset, monkeypatch
):
    from stimuli.generators.mobilestylegan import MobileStyleGAN

    page = logged_in.get(dataset, query_string={"encoding": "gan_face"}).get_data(as_text=True)
    assert "<option selected>mobilestylegan</option>" in page and "<option>dcgan64</option>" in page
    for axis in ("smile", "age", "gender", "eye_size", "hair_black", "hair_red"):
        assert f"<option>{axis}</option>" in page

    def full_network(*_args):
        raise AssertionError("a preview must not run the full network")

    monkeypatch.setattr(MobileStyleGAN, "generate", full_network)
    mapping = {"encoding": "gan_face", "axis_0": "age", "transforms_0": "log", "axis_2": "smile"}
    plain = png(logged_in.get(dataset + "/preview.png", query_string=mapping))
    assert plain.width >= 256 * 3
    stronger = {**mapping, "strength": "3"}
    assert png(logged_in.get(dataset + "/preview.png", query_string=stronger)).tobytes() != (
        plain.tobytes()
    )


def test_every_row_is_drawn_by_a_job_that_the_views_page_follows(
    app, logged_in, dataset, data_dir, monkeypatch
):
    from experiment.studio import render

    mapping = {"encoding": "gan_face", "axis_0": "age", "axis_2": "smile"}
    assert logged_in.get(dataset + "/grid.png", query_string=mapping).status_code == 409
    page = logged_in.get(dataset + "/views", query_string=mapping).get_data(as_text=True)
    assert "Drawing every row" in page and 'class="job"' in page and 'id="grid"' not in page
    again = logged_in.get(dataset + "/views", query_string=mapping).get_data(as_text=True)
    assert again.count("job-status") == 1
    jobs = app.extensions["glyphlab.site"].jobs
    assert jobs.run_pending() == 1, "one job, however often the page is opened"

    def no_generator(*_args, **_kwargs):
        raise AssertionError("the views are composed from the stored faces")

    monkeypatch.setattr(render.DraftRenderer, "render", no_generator)
    page = logged_in.get(dataset + "/views", query_string=mapping).get_data(as_text=True)
    assert 'id="grid"' in page and "Drawing every row" not in page
    grid = png(logged_in.get(dataset + "/grid.png", query_string={**mapping, "sort": "y"}))
    assert grid.width >= 3 * 256
    video = logged_in.get(dataset + "/sequence.mp4", query_string=mapping)
    assert video.status_code == 200 and video.data[4:8] == b"ftyp"
    stored = list((data_dir / "studio" / "faces").iterdir())
    assert len(stored) == 1 and len(list(stored[0].glob("*.png"))) == 6


def test_project_directly_through_an_orthonormal_basis(logged_in, dataset):
    mapping = {"encoding": "gan_face", "mode": "project", "axis_0": "project",
               "axis_1": "project", "axis_2": "project", "strength": "1"}  # fmt: skip
    weak = png(logged_in.get(dataset + "/preview.png", query_string=mapping))
    strong = png(logged_in.get(dataset + "/preview.png", query_string={**mapping, "strength": "4"}))
    assert weak.tobytes() != strong.tobytes(), "one strength setting moves every face"
    toml = logged_in.get(dataset + "/config.toml", query_string=mapping).get_data(as_text=True)
    assert 'directions = "projection"' in toml and "n_directions = 3" in toml
    assert "scale = 1.0" in toml


def test_an_axis_made_by_hand_is_offered_to_the_mapping(app, logged_in, dataset, data_dir):
    page = logged_in.get("/studio/axes?n=8&seed=3").get_data(as_text=True)
    assert page.count('name="ticked"') == 8
    face = png(logged_in.get("/studio/axes/face/dcgan64/3/8/5.png"))
    assert face.size == (128, 128)
    token = csrf_token(logged_in, "/studio/axes")
    form = {"csrf_token": token, "backend": "dcgan64", "n": "8", "seed": "3", "name": "Hat"}
    refused = logged_in.post("/studio/axes", data={**form, "ticked": ["1"]})
    assert refused.status_code == 400 and "tick at least 2 faces" in refused.get_data(as_text=True)
    response = logged_in.post("/studio/axes", data={**form, "ticked": ["0", "2", "5"]})
    assert app.extensions["glyphlab.site"].jobs.run_pending() == 1
    page = logged_in.get(response.location).get_data(as_text=True)
    assert "Axis <code>hat</code> is saved for dcgan64" in page
    with logged_in.get(response.location + "/files/strip") as served:
        strip = png(served)
        assert strip.width > 6 * strip.height
    mapping = {"encoding": "gan_face", "generator": "dcgan64", "axis_0": "hat", "axis_2": "pc01"}
    assert "<option>hat</option>" in logged_in.get(dataset, query_string=mapping).get_data(
        as_text=True
    )
    png(logged_in.get(dataset + "/preview.png", query_string=mapping))
    toml = logged_in.get(dataset + "/config.toml", query_string=mapping).get_data(as_text=True)
    assert 'features = ["hat", "pc01"]' in toml and 'directions = "file"' in toml


def test_the_cli_makes_an_axis_from_a_labels_csv(tmp_path, data_dir, monkeypatch):
    monkeypatch.setenv("GLYPHLAB_DATA_DIR", str(data_dir))
    labels = tmp_path / "labels.csv"
    labels.write_text("latent_id,glasses\n0,1\n1,0\n2,1\n3,0\n4,0\n5,1\n")
    result = CliRunner().invoke(main, ["axis", str(labels), "--seed", "3"])
    assert result.exit_code == 0, result.output
    saved = data_dir / "studio" / "axes" / "dcgan64" / "glasses.npz"
    assert saved.is_file() and saved.with_suffix(".png").is_file()
    assert str(saved) in result.output


def test_the_face_sheet_shows_the_default_generators_own_faces(logged_in):
    """The bank draws from the generator's prior: truncated w for MobileStyleGAN (z ~ N(0, I)
    would be no face of it), the same z as ever for the DCGAN."""
    import numpy as np

    from experiment.studio import manual_axes
    from stimuli.directions.means import latent_bank
    from stimuli.generators import sample_latents

    page = logged_in.get("/studio/axes?n=4&seed=1").get_data(as_text=True)
    assert "<option selected>mobilestylegan</option>" in page
    assert png(logged_in.get("/studio/axes/face/mobilestylegan/1/4/0.png")).size == (128, 128)
    network = manual_axes.generator("mobilestylegan")
    expected = sample_latents(network, 4, rng=np.random.default_rng(1))
    assert np.allclose(latent_bank(4, 512, seed=1, generator=network), expected)
    dcgan = manual_axes.generator("dcgan64")
    assert np.array_equal(
        latent_bank(3, dcgan.latent_dim, seed=2, generator=dcgan),
        np.random.default_rng(2).standard_normal((3, dcgan.latent_dim)),
    )
