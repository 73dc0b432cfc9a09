"""`glyphlab analyze`: report (also as the default), power and export from the shell."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from analysis.simulate import ModelObserver, SimulationDesign, make_design, simulate_trials
from glyphlab.cli import main


@pytest.fixture
def trials_csv(rng, tmp_path):
    design = make_design(
        SimulationDesign(n_participants=6, n_datasets=3, encodings=("gan_face", "table")), rng=rng
    )
    observer = ModelObserver.simple({"gan_face": 2.0, "table": 1.0}, criterion=0.5)
    path = tmp_path / "trials.csv"
    simulate_trials(design, observer, rng=rng).to_csv(path, index=False)
    return path


def test_analyze_trials_is_shorthand_for_the_report(trials_csv, tmp_path):
    result = CliRunner().invoke(main, ["analyze", str(trials_csv), "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "r" / "report.html").is_file()
    assert "measures" in json.loads((tmp_path / "r" / "report.json").read_text())["seconds"]


def test_power_prints_a_table_and_writes_csv(tmp_path):
    out = tmp_path / "power.csv"
    result = CliRunner().invoke(
        main,
        ["analyze", "power", "--participants", "4,8", "--simulations", "5", "--datasets", "2",
         "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "n_significant" in result.output and out.read_text().count("\n") == 3


def test_export_writes_a_psychds_folder(trials_csv, tmp_path):
    out = tmp_path / "psychds"
    result = CliRunner().invoke(main, ["analyze", "export", str(trials_csv), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "dataset_description.json").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["analyze", "missing.csv", "--out", "x"], "missing.csv not found"),
        (["analyze", "power", "--participants", "ten"], "whole numbers"),
        (["analyze", "power", "--encodings", "table,table"], "two different encodings"),
    ],
)
def test_user_errors_are_one_line_messages(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, args)
    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output
