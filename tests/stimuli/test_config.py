"""StimulusSetConfig: TOML/dict round trip, canonical id, validation messages."""

from pathlib import Path

import pytest

from stimuli import StimulusSetConfig, demo_config
from stimuli.errors import StimulusError

from .helpers import small_config

EXAMPLE = Path(__file__).resolve().parents[2] / "stimuli" / "examples" / "demo.toml"


def test_example_toml_loads_and_round_trips():
    config = StimulusSetConfig.from_toml(EXAMPLE)
    assert sum(d.count for d in config.datasets) == 15
    again = StimulusSetConfig.from_dict(config.to_dict())
    assert again == config and again.set_id == config.set_id


def test_set_id_is_stable_and_changes_with_the_config(seed):
    assert small_config(seed).set_id == small_config(seed).set_id
    assert small_config(seed).set_id != small_config(seed + 1).set_id
    assert small_config(seed).set_id != small_config(seed, frame_ms=500).set_id


@pytest.mark.parametrize(
    ("config", "absent", "present"),
    [(demo_config(), 2, 6), (StimulusSetConfig.from_toml(EXAMPLE), 4, 8)],
)
def test_demo_and_example_configs_have_target_absent_datasets(config, absent, present):
    used = {c.encoding for c in config.conditions}
    assert {"chernoff", "table", "plot"} <= used
    assert any(c.layout == "sequence" for c in config.conditions)
    main = [d for d in config.datasets if d.role == "main"]
    assert sum(d.count for d in main if d.n_outliers == 0) == absent  # yes/no, key press
    assert sum(d.count for d in main if d.n_outliers) == present
    roles = [d.role for d in config.datasets for _ in range(d.count)]
    assert roles.count("practice") == 2 and roles.count("attention_check") == 1


@pytest.mark.parametrize(
    "change, message",
    [
        ({"conditions": [{"encoding": "sparkline"}]}, "unknown encoding 'sparkline'; registered"),
        ({"order": "alphabetical"}, "order must be one of"),
        ({"frame_ms": 10}, "frame_ms"),
        ({"colour": "red"}, r"unknown keys \['colour'\]"),
        ({"encoding_params": {"chernoff": {"size_px": 1}}}, "size_px"),
        ({"encoding_params": {"table": {"font": "x"}}}, "encoding table: unknown options"),
        ({"datasets": [{"role": "warmup"}]}, "role must be one of"),
        ({"datasets": [{"n_outliers": 9, "n_items": 10}]}, "n_outliers must be 0..5"),
        ({"datasets": [{"role": "attention_check", "n_outliers": 2}]}, "exactly one outlier"),
        ({"datasets": [{"csv": "nowhere.csv"}]}, "does not exist"),
        ({"conditions": [{"encoding": "table", "layout": "carousel"}]}, "layout must be"),
        ({"datasets": []}, "at least one dataset"),
    ],
)
def test_bad_configs_say_what_to_fix(change, message):
    with pytest.raises(StimulusError, match=message):
        small_config(1, **change)


def test_bad_toml(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("seed = [unclosed\n")
    with pytest.raises(StimulusError, match="not valid TOML"):
        StimulusSetConfig.from_toml(path)
    with pytest.raises(StimulusError, match="does not exist"):
        StimulusSetConfig.from_toml(tmp_path / "missing.toml")


def test_csv_dataset_with_labelled_outliers(tmp_path):
    from stimuli import generate_stimulus_set, load_stimulus_set

    rows = "\n".join(
        f"{i},{i * i % 7},{2 * i + (9 if i == 4 else 0)},{int(i == 4)}" for i in range(8)
    )
    (tmp_path / "cars.csv").write_text("weight,power,mpg,odd\n" + rows + "\n")
    (tmp_path / "set.toml").write_text(
        'conditions = [{encoding = "table"}]\n[[datasets]]\ncsv = "cars.csv"\n'
        'target = "mpg"\noutlier_column = "odd"\ntransforms = {power = ["shift(1)", "log"]}\n'
    )
    config = StimulusSetConfig.from_toml(tmp_path / "set.toml")
    stimulus_set = load_stimulus_set(
        generate_stimulus_set(config, tmp_path / "out", progress=False)
    )
    assert stimulus_set.truth["datasets"]["d00"]["outliers"] == [4]
    stimulus = stimulus_set.manifest["stimuli"][0]
    assert stimulus["table"]["columns"] == ["weight", "power", "mpg"]
    assert "odd" not in (stimulus_set.folder / "manifest.json").read_text().replace(
        '"outlier_column": "odd"', ""
    )


def test_relative_csv_paths_start_from_the_base_and_do_not_name_the_set(tmp_path):
    """The same files give the same set id wherever their folder is; a missing file's
    message says where relative paths start."""
    import shutil

    spec = {
        "datasets": [{"csv": "data/rows.csv", "target": "y"}],
        "conditions": [{"encoding": "chernoff"}],
    }
    ids = []
    for where in ("a", "b"):
        (tmp_path / where / "data").mkdir(parents=True)
        (tmp_path / where / "data" / "rows.csv").write_text("x,y\n1,2\n3,5\n4,4\n")
        config = StimulusSetConfig.from_dict(spec, base_dir=tmp_path / where)
        assert config.datasets[0].csv == "data/rows.csv"
        assert config.resolve("data/rows.csv") == tmp_path / where / "data" / "rows.csv"
        ids.append(config.set_id)
    assert ids[0] == ids[1]
    shutil.rmtree(tmp_path / "b" / "data")
    with pytest.raises(StimulusError, match=r"relative paths start from .*--base-dir"):
        StimulusSetConfig.from_dict(spec, base_dir=tmp_path / "b")
