"""Psych-DS export: valid structure, and no personal data in any exported byte."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.errors import AnalysisError
from analysis.export import AnonymityError, ExportConfig, check_psychds, export_psychds
from analysis.export.anonymise import age_band, browser_family
from analysis.simulate import ModelObserver, SimulationDesign, make_design, simulate_trials

PROLIFIC_ID = "5f3c2a1b9d8e7f6a5b4c3d2e"
IP = "203.0.113.77"
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.71 Safari/537.36"
)
COMMENT = "canary-comment: my cat Whiskers lives at 12 Elm Street"
WALL_CLOCK = "2026-03-14T15:09:26"
EXACT_AGE = 37


@pytest.fixture
def trials(rng: np.random.Generator) -> pd.DataFrame:
    """A simulated study of 12 people with every kind of PII planted in extra columns."""
    design = make_design(
        SimulationDesign(n_participants=12, n_datasets=2, encodings=("gan_face", "table")),
        rng=rng,
    )
    table = simulate_trials(design, ModelObserver.simple({"gan_face": 2, "table": 1}), rng=rng)
    people = sorted(table["participant"].unique())
    ids = {p: PROLIFIC_ID[:-2] + f"{i:02x}" for i, p in enumerate(people)}
    table["prolific_pid"] = table["participant"].map(ids)
    table["participant"] = table["prolific_pid"]  # the site's worst case: external id as code
    table["ip_address"] = IP
    table["user_agent"] = USER_AGENT
    table["comment"] = COMMENT
    table["age"] = [EXACT_AGE if i % 2 else 22 for i in range(len(table))]
    table["gender"] = "female"
    table["presented_at"] = table["presented_at"].str.replace("2026-01-01T00:00", WALL_CLOCK[:-3])
    return table


def exported_text(folder: Path) -> str:
    return "\n".join(path.read_text() for path in sorted(folder.rglob("*")) if path.is_file())


def test_export_is_valid_psychds_with_every_column_described(trials, tmp_path):
    out = export_psychds(trials, tmp_path / "export", ExportConfig(k=5))
    assert check_psychds(out) == []
    meta = json.loads((out / "dataset_description.json").read_text())
    assert meta["@context"] == "https://schema.org/" and meta["@type"] == "Dataset"
    described = {variable["name"] for variable in meta["variableMeasured"]}
    data_files = sorted(path.name for path in (out / "data").iterdir())
    assert data_files == ["study-sim_data.csv", "study-sim_description-participants_data.csv"]
    for name in data_files:
        frame = pd.read_csv(out / "data" / name)
        assert set(frame.columns) <= described
    rows = pd.read_csv(out / "data" / "study-sim_data.csv")
    assert len(rows) == len(trials)
    assert sorted(rows["participant"].unique()) == [f"P{i:03d}" for i in range(1, 13)]
    assert rows.groupby("participant")["presented_ms"].min().eq(0).all()


def test_no_planted_pii_reaches_any_exported_file(trials, tmp_path):
    out = export_psychds(trials, tmp_path / "export", ExportConfig(k=5))
    text = exported_text(out)
    for canary in (PROLIFIC_ID[:-2], IP, "Mozilla", "AppleWebKit", "120.0", "Whiskers"):
        assert canary not in text
    assert WALL_CLOCK[:10] not in text and "2026-01-01" not in text
    participants = pd.read_csv(out / "data" / "study-sim_description-participants_data.csv")
    assert str(EXACT_AGE) not in participants.to_csv()
    assert set(participants["browser_family"]) == {"Chrome"}
    assert "dropped: comment, ip_address, prolific_pid" in (out / "README.md").read_text()


def test_small_groups_are_coarsened_or_refused(trials, tmp_path):
    ages = {p: 18 + 7 * i for i, p in enumerate(sorted(trials["participant"].unique()))}
    trials["age"] = trials["participant"].map(ages)
    out = export_psychds(trials, tmp_path / "coarse", ExportConfig(k=5))
    bands = pd.read_csv(out / "data" / "study-sim_description-participants_data.csv")
    assert bands.groupby(["age_band", "gender", "browser_family"]).size().min() >= 5
    with pytest.raises(AnonymityError, match=r"k=5.*--on-small-groups coarsen"):
        export_psychds(trials, tmp_path / "refused", ExportConfig(on_small_groups="refuse"))
    assert not (tmp_path / "refused").exists()
    with pytest.raises(AnonymityError, match=r"at least k=20.*--k of `glyphlab export`"):
        export_psychds(trials, tmp_path / "tiny", ExportConfig(k=20))


def test_export_refuses_when_a_kept_column_carries_an_id(trials, tmp_path):
    trials["study"] = PROLIFIC_ID
    with pytest.raises(AnalysisError, match="24-hex"):
        export_psychds(trials, tmp_path / "leak", ExportConfig(k=5))
    assert not (tmp_path / "leak").exists()
    assert [p.name for p in tmp_path.iterdir()] == []


def test_export_into_a_non_empty_folder_is_refused(trials, tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(AnalysisError, match="empty folder"):
        export_psychds(trials, tmp_path, ExportConfig(k=5))


def test_checker_reports_the_schema_errors(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "trials.csv").write_text("a,b\n1,2\n")
    (tmp_path / "data" / "study-x_data.csv").write_text("a,b\n1,2,3\n")
    (tmp_path / "dataset_description.json").write_text(
        json.dumps({"@context": "https://schema.org/", "@type": "Thing", "name": "x"})
    )
    problems = " ".join(check_psychds(tmp_path))
    for code in (
        "INCORRECT_DATASET_TYPE",
        "JSON_KEY_REQUIRED: description",
        "FILENAME_KEYWORD_FORMATTING_ERROR: trials.csv",
        "CSV_HEADER_LENGTH_MISMATCH",
        "CSV_COLUMN_MISSING_FROM_METADATA",
    ):
        assert code in problems


@pytest.mark.parametrize(
    ("agent", "family"),
    [
        (USER_AGENT, "Chrome"),
        ("Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/120 Safari/537 Edg/120", "Edge"),
        ("Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 Version/17.1 Safari/605.1.15", "Safari"),
        ("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "Firefox"),
        (None, "unknown"),
    ],
)
def test_browser_family(agent, family):
    assert browser_family(agent) == family


def test_age_bands():
    assert [age_band(a) for a in (17, 18, 24, 25, 64, 65, None)] == [
        "under 18", "18-24", "18-24", "25-34", "55-64", "65+", "unknown",
    ]  # fmt: skip
