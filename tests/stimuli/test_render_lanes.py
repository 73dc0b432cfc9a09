"""Stimuli rendered one per core: the same files on any number of cores, and lanes that
keep order, run thread-unsafe encodings one at a time and clean up after an error."""

import threading
import time

import pytest
import torch
from PIL import Image

import stimuli.render_lanes as render_lanes
from stimuli import generate_stimulus_set
from stimuli.encodings.gan_face import GanFace
from stimuli.media import MediaStore
from stimuli.render_lanes import RenderLanes

from .helpers import small_config
from .test_generate import snapshot


def mixed_config(seed: int):
    """DCGAN faces (concurrent) beside Chernoff faces and a plot (one at a time)."""
    return small_config(
        seed,
        conditions=[
            {"encoding": "gan_face", "layout": "grid"},
            {"encoding": "chernoff", "layout": "grid"},
            {"encoding": "plot", "layout": "grid"},
            {"encoding": "gan_face", "layout": "sequence", "roles": ["main"]},
        ],
        encoding_params={
            "gan_face": {"backend": "dcgan64", "size_px": 96, "n_directions": 4},
            "chernoff": {"size_px": 64},
            "plot": {"width_px": 320, "height_px": 240},
        },
    )


def test_a_set_is_byte_identical_on_one_core_and_on_four(tmp_path, monkeypatch):
    threads_before = torch.get_num_threads()
    config = mixed_config(20261202)
    monkeypatch.setattr(render_lanes, "usable_cores", lambda: 1)
    one = generate_stimulus_set(config, tmp_path / "one", progress=False)
    monkeypatch.setattr(render_lanes, "usable_cores", lambda: 4)
    four = generate_stimulus_set(config, tmp_path / "four", progress=False)
    files = snapshot(one)
    assert files == snapshot(four)
    assert sum(name.startswith("media/") for name in files) > 20
    assert torch.get_num_threads() == threads_before


def test_dcgan_faces_render_concurrently_and_mobilestylegan_does_not():
    encoding = GanFace()
    assert encoding.renders_concurrently(encoding.params({"backend": "dcgan64"}))
    assert not encoding.renders_concurrently(encoding.params({"backend": "mobilestylegan"}))


class Overlap:
    """Counts how many calls run at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = self.most = 0

    def __call__(self, value: int, pause: float = 0.02) -> int:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(pause)
        with self.lock:
            self.now -= 1
        return value


def test_concurrent_renders_overlap_and_the_rest_run_one_at_a_time_in_order():
    concurrent, serial = Overlap(), Overlap()
    with RenderLanes(concurrent=True, workers=3) as lanes:
        assert torch.get_num_threads() == 1
        futures = [
            lanes.submit(k % 2 == 0, concurrent if k % 2 == 0 else serial, k) for k in range(12)
        ]
        assert [future.result() for future in futures] == list(range(12))
    assert concurrent.most == 3
    assert serial.most == 1


def test_without_a_concurrent_encoding_everything_is_one_at_a_time():
    serial = Overlap()
    threads_before = torch.get_num_threads()
    with RenderLanes(concurrent=False) as lanes:
        assert torch.get_num_threads() == threads_before
        futures = [lanes.submit(True, serial, k) for k in range(4)]
        assert [future.result() for future in futures] == list(range(4))
    assert serial.most == 1


def test_an_error_cancels_the_renders_not_started_and_restores_torch_threads():
    threads_before = torch.get_num_threads()
    started = []

    def render(k: int) -> int:
        started.append(k)
        if k == 0:
            raise RuntimeError("weights vanished")
        time.sleep(0.05)
        return k

    with (
        pytest.raises(RuntimeError, match="weights vanished"),
        RenderLanes(concurrent=True, workers=2) as lanes,
    ):
        futures = [lanes.submit(True, render, k) for k in range(50)]
        futures[0].result()
    assert len(started) < 10
    assert torch.get_num_threads() == threads_before


def test_many_threads_store_at_once_under_a_small_pending_bound(tmp_path):
    images = {k: [Image.new("RGB", (8, 8), (k, j, 0)) for j in range(20)] for k in range(4)}
    with MediaStore(tmp_path, workers=2, max_pending=8) as store:
        results: dict[int, list[str]] = {}

        def producer(k: int) -> None:
            results[k] = [
                name.result()
                for batch in range(0, 20, 4)
                for name in store.put_images_later(images[k][batch : batch + 4], "png")
            ]

        threads = [threading.Thread(target=producer, args=(k,)) for k in images]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        expected = {k: store.put_images(images[k], "png") for k in images}
    assert results == expected
    assert len({name for names in results.values() for name in names}) == 80
    assert all((tmp_path / name).is_file() for names in results.values() for name in names)
