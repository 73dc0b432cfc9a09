"""bench_faces runs end to end on the small DCGAN: every stage, including the set writer
itself, and the CPU-per-step profile it reports (speed figures are not checked here)."""

import runpy
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_faces.py"


@pytest.fixture(autouse=True)
def private_cache(monkeypatch, tmp_path):
    """Directions are cached in the user cache folder; keep the test's own."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def test_bench_faces_times_the_set_writer_and_profiles_each_step(monkeypatch, capsys):
    from stimuli.encodings.gan_face import GanFace

    if reason := GanFace.unavailable_reason({"backend": "dcgan64"}):
        pytest.skip(reason)
    argv = ["bench_faces.py", "--backend", "dcgan64", "--faces", "8", "--batch", "4"]
    monkeypatch.setattr(sys, "argv", [*argv, "--size", "64", "--rounds", "2"])
    runpy.run_path(str(BENCH), run_name="__main__")
    out = capsys.readouterr().out
    for stage in ("bare generator", "pipeline, serial", "pipeline, overlapped", "set writer"):
        assert f"{stage} " in out
    assert "bare, on lanes " in out and "set writer / bare, on lanes = " in out
    assert out.count("(goal >= 90%; rounds: ") == 6 and "CPU a face, bare / this" in out
    for step in ("generation", "generation, lanes (1 thr.)", "jpeg encode", "grid composite"):
        assert f"  {step} " in out
    assert "load average" in out and "median of 2 rounds" in out
