"""``glyphlab stimuli generate`` / ``preview`` through the root command line."""

import json
from pathlib import Path

from click.testing import CliRunner
from PIL import Image

from glyphlab.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "stimuli" / "examples" / "demo.toml"


def test_generate_writes_a_set_and_prints_its_folder(tmp_path):
    config = tmp_path / "small.toml"
    config.write_text(
        'seed = 3\nconditions = [{encoding = "table"}]\n[[datasets]]\nn_items = 5\nn_outliers = 1\n'
    )
    result = CliRunner().invoke(main, ["stimuli", "generate", str(config), "--out",
                                       str(tmp_path / "out"), "--quiet"])  # fmt: skip
    assert result.exit_code == 0, result.output
    folder = Path(result.output.strip())
    assert folder.parent == tmp_path / "out" and (folder / "manifest.json").is_file()


def test_bad_config_is_one_line_error(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text('conditions = [{encoding = "hologram"}]\n[[datasets]]\n')
    result = CliRunner().invoke(main, ["stimuli", "generate", str(config), "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.startswith("Error: unknown encoding 'hologram'; registered encodings")
    assert "Traceback" not in result.output


def test_preview_writes_contact_sheets(tmp_path):
    config = tmp_path / "preview.toml"
    config.write_text(
        'conditions = [{encoding = "chernoff"}, {encoding = "plot"}]\n'
        "[[datasets]]\nn_items = 6\nn_outliers = 1\n"
        "[encoding_params.chernoff]\nsize_px = 48\n"
    )
    result = CliRunner().invoke(main, ["stimuli", "preview", str(config), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    names = sorted(Path(line).name for line in result.output.split())
    assert names == ["chernoff-features.png", "chernoff.png", "plot.png"]
    for name in names:
        with Image.open(tmp_path / name) as image:
            assert image.width >= 150 and image.height >= 150


def test_preview_makes_a_video_of_each_sequence(tmp_path):
    config = tmp_path / "preview.toml"
    config.write_text(
        'frame_ms = 200\nconditions = [{encoding = "chernoff", layout = "sequence"}]\n'
        "[[datasets]]\nn_items = 5\nn_outliers = 1\n[encoding_params.chernoff]\nsize_px = 48\n"
    )
    result = CliRunner().invoke(main, ["stimuli", "preview", str(config), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    video = tmp_path / "chernoff-sequence-random.mp4"
    assert str(video) in result.output.split()
    assert video.read_bytes()[4:8] == b"ftyp"


CSV = "income,age,y\n1000,30,1.0\n2500,41,2.0\n900,25,0.5\n40000,60,4.0\n3000,35,2.5\n"


def test_one_set_holds_sorted_and_unsorted_sequences_with_readable_video_names(tmp_path):
    (tmp_path / "data.csv").write_text(CSV)
    config = tmp_path / "mine.toml"
    config.write_text(
        "frame_ms = 200\n"
        'conditions = [{encoding = "chernoff", layout = "sequence", order = "sorted_y"},\n'
        '              {encoding = "chernoff", layout = "sequence", order = "random"}]\n'
        '[[datasets]]\ncsv = "data.csv"\ntransforms = {income = ["log", "scale(2)"]}\n'
        "[encoding_params.chernoff]\nsize_px = 48\n"
    )
    result = CliRunner().invoke(
        main, ["stimuli", "generate", str(config), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    assert "data.csv column income: log → z-score → ×2" in result.output
    assert "data.csv column age: z-score" in result.output
    folder = Path(result.stdout.strip())
    manifest = json.loads((folder / "manifest.json").read_text())
    orders = {s["order"]: s for s in manifest["stimuli"]}
    assert sorted(orders) == ["random", "sorted_y"]
    sorted_items = [entry["item"] for entry in orders["sorted_y"]["items"]]
    assert sorted_items == [2, 0, 1, 4, 3], "ascending y"
    for stimulus in manifest["stimuli"]:
        video = stimulus["downloads"]["video"]
        assert video == f"downloads/{stimulus['stimulus_id']}-d00-chernoff-{stimulus['order']}.mp4"
        assert (folder / video).read_bytes() == (folder / stimulus["video"]).read_bytes()


def test_a_transform_that_fails_names_column_and_row(tmp_path):
    (tmp_path / "data.csv").write_text("x,y\n1,1\n2,2\n-3,3\n")
    config = tmp_path / "bad.toml"
    config.write_text(
        'conditions = [{encoding = "table"}]\n'
        '[[datasets]]\ncsv = "data.csv"\ntransforms = {x = ["log"]}\n'
    )
    result = CliRunner().invoke(main, ["stimuli", "generate", str(config), "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "column 'x', row 3 (CSV line 4): log needs values above 0, got -3" in result.output
    assert not list(tmp_path.glob("*/manifest.json"))
