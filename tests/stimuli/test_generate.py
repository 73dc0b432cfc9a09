"""Stimulus sets on disk: contract layout, byte-identical reruns, atomicity, no leaks."""

import hashlib
import json
import re
from pathlib import Path

import pytest

from stimuli import generate_stimulus_set, load_stimulus_set
from stimuli.errors import StimulusError

from .helpers import small_config


def snapshot(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    config = small_config(20261123)
    folder = generate_stimulus_set(config, tmp_path_factory.mktemp("sets"), progress=False)
    return config, folder


def test_layout_follows_the_contract(generated):
    config, folder = generated
    assert folder.name == config.set_id and re.fullmatch(r"[0-9a-f]{12}", config.set_id)
    names = {p.name for p in folder.iterdir()}
    assert names == {"manifest.json", "truth.json", "data", "media", "downloads"}
    stimulus_set = load_stimulus_set(folder)
    manifest, truth = stimulus_set.manifest, stimulus_set.truth
    assert manifest["set_id"] == truth["set_id"] == config.set_id
    assert manifest["config"] == config.to_dict() and manifest["generator"] is None
    assert [d["dataset_id"] for d in manifest["datasets"]] == ["d00", "d01", "d02"]
    assert [d["role"] for d in manifest["datasets"]] == ["main", "main", "attention_check"]
    assert {d["n_items"] for d in manifest["datasets"]} == {6}
    assert sorted(p.name for p in (folder / "data").iterdir()) == [f"d0{i}.csv" for i in range(3)]
    assert (folder / "data" / "d00.csv").read_text().splitlines()[0] == "x1,x2,x3,y"
    # 3 datasets x 3 grids + 2 main datasets x 1 table sequence
    assert len(manifest["stimuli"]) == 11
    for stimulus in manifest["stimuli"]:
        assert re.fullmatch(r"s\d{4}", stimulus["stimulus_id"])
        assert sorted(i["item"] for i in stimulus["items"]) == list(range(6))
        for key in ("media", "video"):
            if key in stimulus:
                assert stimulus_set.media_path(stimulus[key]).is_file()
        assert stimulus["width"] > 0 and stimulus["height"] > 0
    attention = truth["datasets"]["d02"]
    assert len(attention["outliers"]) == 1 and attention["magnitude_sd"] >= 6


def test_per_encoding_fields(generated):
    _, folder = generated
    manifest = load_stimulus_set(folder).manifest
    by = {(s["encoding"], s["layout"], s["dataset_id"]): s for s in manifest["stimuli"]}
    faces = by["chernoff", "grid", "d00"]
    assert all(item["media"].endswith(".png") for item in faces["items"])
    table = by["table", "grid", "d00"]
    assert table["table"]["columns"] == ["x1", "x2", "x3", "y"] and len(table["table"]["rows"]) == 6
    assert "media" not in table["items"][0]
    plot = by["plot", "grid", "d00"]
    assert len(plot["plot"]["points"]) == 6 and (plot["width"], plot["height"]) == (320, 240)
    sequence = by["table", "sequence", "d01"]
    assert sequence["media"].endswith(".webp") and sequence["video"].endswith(".mp4")
    assert sequence["frame_ms"] == 300 and all("media" in i for i in sequence["items"])
    grid = by["table", "grid", "d01"]
    row_of = {i["item"]: r for i, r in zip(grid["items"], grid["table"]["rows"], strict=True)}
    assert sequence["table"]["rows"] == [row_of[i["item"]] for i in sequence["items"]]


def test_same_config_gives_byte_identical_files(generated, tmp_path):
    config, folder = generated
    again = generate_stimulus_set(config, tmp_path, progress=False)
    assert snapshot(again) == snapshot(folder)


def test_existing_set_is_returned_not_rewritten(generated):
    config, folder = generated
    before = (folder / "manifest.json").stat().st_mtime_ns
    assert generate_stimulus_set(config, folder.parent, progress=False) == folder
    assert (folder / "manifest.json").stat().st_mtime_ns == before


def test_no_leaks_media_names_are_hashes_and_truth_stays_private(generated):
    _, folder = generated
    manifest_text = (folder / "manifest.json").read_text()
    manifest = json.loads(manifest_text)
    for path in (folder / "media").iterdir():
        assert re.fullmatch(r"[0-9a-f]{16}\.(png|webp|mp4)", path.name)
        assert hashlib.sha256(path.read_bytes()).hexdigest()[:16] == path.stem
    assert "outlier" not in manifest_text.replace("outlier_fraction", "").replace(
        "n_outliers", ""
    ).replace("outlier_kind", "").replace("outlier_column", "")
    truth = json.loads((folder / "truth.json").read_text())
    for stimulus in manifest["stimuli"]:
        outliers = truth["datasets"][stimulus["dataset_id"]]["outliers"]
        assert set(stimulus) <= {
            "stimulus_id", "dataset_id", "encoding", "layout", "width", "height", "media",
            "video", "items", "table", "plot", "frame_ms", "order", "downloads",
        }  # fmt: skip
        assert set(stimulus.get("downloads", {})) <= {"animation", "video"}
        assert all(set(item) <= {"item", "media"} for item in stimulus["items"])
        assert outliers  # every dataset here has one, so the order check below means something
    orders = [[i["item"] for i in s["items"]] for s in manifest["stimuli"]]
    first_positions = {o.index(truth["datasets"][s["dataset_id"]]["outliers"][0])
                       for o, s in zip(orders, manifest["stimuli"], strict=True)}  # fmt: skip
    assert len(first_positions) > 1  # outliers are not always shown in the same slot


def test_display_order_does_not_depend_on_outlier_status(tmp_path):
    """Same seed, outliers planted differently: display orders stay the same."""
    base = small_config(7, conditions=[{"encoding": "table", "layout": "grid"}])
    data = base.to_dict()
    data["datasets"][0]["outlier_kind"] = "leverage"
    data["datasets"][0]["magnitude_sd"] = 9.0
    other = type(base).from_dict(data)
    a = load_stimulus_set(generate_stimulus_set(base, tmp_path / "a", progress=False))
    b = load_stimulus_set(generate_stimulus_set(other, tmp_path / "b", progress=False))
    assert a.set_id != b.set_id
    orders = [[[i["item"] for i in s["items"]] for s in x.manifest["stimuli"]] for x in (a, b)]
    assert orders[0] == orders[1]


def test_sorted_y_orders_items_by_y(tmp_path):
    config = small_config(3, order="sorted_y", conditions=[{"encoding": "table", "layout": "grid"}])
    folder = generate_stimulus_set(config, tmp_path, progress=False)
    manifest = load_stimulus_set(folder).manifest
    stimulus = manifest["stimuli"][0]
    y = [float(row[-1]) for row in stimulus["table"]["rows"]]
    assert y == sorted(y)


def test_failure_leaves_nothing_behind(tmp_path, monkeypatch):
    import stimuli.generate as generate

    def explode(*args, **kwargs):
        raise StimulusError("disk on fire")

    config = small_config(11)
    monkeypatch.setattr(generate, "_manifest", explode)
    with pytest.raises(StimulusError, match="disk on fire"):
        generate_stimulus_set(config, tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_half_written_destination_is_not_overwritten(tmp_path):
    config = small_config(12)
    (tmp_path / config.set_id).mkdir()
    with pytest.raises(StimulusError, match="not a complete stimulus set; remove it"):
        generate_stimulus_set(config, tmp_path, progress=False)


def test_load_refuses_non_sets_and_escaping_paths(generated, tmp_path):
    with pytest.raises(StimulusError, match="not a stimulus set"):
        load_stimulus_set(tmp_path)
    stimulus_set = load_stimulus_set(generated[1])
    with pytest.raises(StimulusError, match="no media file"):
        stimulus_set.media_path("../truth.json")
