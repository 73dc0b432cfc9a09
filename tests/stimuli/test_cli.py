"""``glyphlab stimuli generate`` / ``preview`` through the root command line."""

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
