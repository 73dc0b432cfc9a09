"""``glyphlab stimuli directions`` and ``encode-photo`` through the real CLI root."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from glyphlab.cli import main


@pytest.fixture
def runner(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return CliRunner()


def test_directions_from_a_file_write_strips_and_npz(runner, tmp_path, rng):
    np.save(tmp_path / "mine.npy", rng.standard_normal((3, 100)))
    out = tmp_path / "out"
    source = ["--backend", "dcgan64", "--method", "file", "--path", str(tmp_path / "mine.npy")]
    options = ["--no-calibrate", "--orthogonalise", "--label-sheet", "4", "--out", str(out)]
    result = runner.invoke(main, ["stimuli", "directions", *source, *options])
    assert result.exit_code == 0, result.output
    assert "d01" in result.output and "scale 1.000" in result.output
    with Image.open(out / "strips_base0_0.png") as strips:
        assert strips.height > 3 * 96 and (out / "label_sheet.png").is_file()
    with np.load(out / "directions.npz") as saved:
        vectors = saved["vectors"]
    assert np.allclose(vectors @ vectors.T, np.eye(3), atol=1e-8)


def test_directions_errors_are_one_line(runner, tmp_path):
    result = runner.invoke(main, ["stimuli", "directions", "--method", "means"])
    assert result.exit_code != 0
    assert "needs path" in result.output and "Traceback" not in result.output


@pytest.mark.slow
def test_encode_photo_writes_latent_and_pair(runner, tmp_path):
    photo = tmp_path / "me.png"
    Image.new("RGB", (80, 100), (180, 140, 120)).save(photo)
    result = runner.invoke(
        main,
        [
            "stimuli",
            "encode-photo",
            str(photo),
            "--backend",
            "dcgan64",
            "--no-align",
            "--steps",
            "5",
            "--quiet",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert np.load(tmp_path / "me_latent.npy").shape == (100,)
    with Image.open(tmp_path / "me_before_after.png") as pair:
        assert pair.size == (512, 256 + 22)


def test_encode_photo_without_the_aligner_says_how_and_writes_nothing(
    runner, tmp_path, monkeypatch
):
    import sys

    monkeypatch.setitem(sys.modules, "mediapipe", None)
    photo = tmp_path / "me.png"
    Image.new("RGB", (80, 100), (180, 140, 120)).save(photo)
    out = tmp_path / "out"
    result = runner.invoke(
        main, ["stimuli", "encode-photo", str(photo), "--backend", "dcgan64", "--out", str(out)]
    )
    assert result.exit_code != 0 and "--no-align" in result.output
    assert "Traceback" not in result.output and not out.exists()


@pytest.mark.parametrize("align", ["--align", "--no-align"])
def test_encode_photo_of_an_unreadable_file_says_so_and_writes_nothing(runner, tmp_path, align):
    photo = tmp_path / "me.jpg"
    photo.write_bytes(b"\xff\xd8 not really a JPEG")
    out = tmp_path / "out"
    result = runner.invoke(
        main,
        ["stimuli", "encode-photo", str(photo), align, "--backend", "dcgan64", "--out", str(out)],
    )
    assert result.exit_code != 0 and "cannot read photo" in result.output
    assert "Traceback" not in result.output and not out.exists()
