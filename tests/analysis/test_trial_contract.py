"""The trial-table contract is one definition that the reader, simulator and export use,
and a response mode extends it by declaring columns (the site's side: tests/experiment)."""

import json

import numpy as np
import pandas as pd
import pytest

from analysis import response_modes
from analysis.errors import AnalysisError
from analysis.export import anonymise
from analysis.export.psychds import ExportConfig, export_psychds
from analysis.response_modes.mark_outliers import MarkOutliers
from analysis.simulate import (
    TRIAL_COLUMNS,
    ModelObserver,
    SimulationDesign,
    make_design,
    simulate_trials,
)
from analysis.trial_contract import (
    CORE,
    DERIVED,
    Column,
    descriptions,
    dtypes,
    trial_columns,
    written_columns,
)
from analysis.trials import REQUIRED_COLUMNS, SCORE_COLUMNS, load_trials, read_trials

#: What a test-only response mode adds: a 1..7 rating, public, and a private free note.
RATING = Column("rating", "count", "How odd the display looked, 1-7", writer="mode")
NOTE = Column("note", "json", "Free text typed by the participant", "mode", required=False,
              nullable=True, public=False)  # fmt: skip


def simulated(rng, n_participants=6) -> pd.DataFrame:
    design = make_design(
        SimulationDesign(n_participants=n_participants, n_datasets=3, encodings=("a", "b")),
        rng=rng,
    )
    return simulate_trials(design, ModelObserver.simple({"a": 2.0, "b": 1.0}), rng=rng)


def test_every_side_takes_its_columns_from_the_one_definition(rng):
    names = [c.name for c in CORE]
    assert list(REQUIRED_COLUMNS) == [c.name for c in CORE if c.required]
    assert TRIAL_COLUMNS == REQUIRED_COLUMNS
    assert list(SCORE_COLUMNS) == [c.name for c in DERIVED]
    assert set(anonymise.KEPT_COLUMNS) == {c.name for c in CORE if c.public}
    assert set(descriptions()) == {*names, *SCORE_COLUMNS}
    table = simulated(rng)
    assert list(table.columns) == list(TRIAL_COLUMNS)
    # The simulator's table has the site's dtypes once cast (it writes JSON lists as text).
    required = {k: v for k, v in dtypes(written_columns()).items() if k in table.columns}
    assert table.astype(required).dtypes.map(str).to_dict() == required
    scored = load_trials(table).all_trials
    assert {c.name for c in trial_columns(derived=True)} - {"response"} <= set(scored.columns)


def test_a_mode_adds_columns_that_the_reader_checks_and_the_export_publishes(rng, tmp_path):
    table = simulated(rng)
    table["rating"] = rng.integers(1, 8, len(table)).astype(str)  # as a CSV would hold it
    table["note"] = '"odd"'
    typed = read_trials(table, extra=(RATING, NOTE))
    assert typed["rating"].dtype == np.int64
    bad = table.assign(rating="seven")
    with pytest.raises(AnalysisError, match="column 'rating': expected an integer"):
        read_trials(bad, extra=(RATING,))
    with pytest.raises(AnalysisError, match=r"lacks column.*rating"):
        read_trials(table.drop(columns="rating"), extra=(RATING,))
    absent = read_trials(table.drop(columns="note"), extra=(NOTE,))
    assert absent["note"].isna().all()  # optional: added empty

    config = ExportConfig(k=2, extra_columns=(RATING, NOTE))
    out = export_psychds(table, tmp_path / "export", config)
    data = pd.read_csv(out / "data" / "study-sim_data.csv")
    assert "rating" in data.columns and "note" not in data.columns
    codebook = json.loads((out / "dataset_description.json").read_text())["variableMeasured"]
    described = {v["name"]: v["description"] for v in codebook}
    assert described["rating"] == RATING.description
    assert described["participant"].startswith("Participant code, renumbered at export")
    assert "note" in (out / "README.md").read_text()  # reported as dropped


def test_declarations_that_clash_are_refused():
    assert trial_columns((RATING, RATING))[-1] == RATING  # the same declaration twice is fine
    other = Column("rating", "number", "Rating, continuous", writer="mode")
    with pytest.raises(AnalysisError, match="'rating' is declared twice, differently"):
        trial_columns((RATING, other))
    with pytest.raises(AnalysisError, match="declared twice"):
        trial_columns((Column("rt_ms", "count", "RT in whole ms"),))
    with pytest.raises(AnalysisError, match="kind must be one of"):
        Column("x", "decimal", "x")
    with pytest.raises(AnalysisError, match="writer must be one of"):
        Column("x", "text", "x", writer="browser")


class RatedMarks(MarkOutliers):
    """A test-only mode: marks outliers and rates the display (it declares ``rating``)."""

    name = "rated_marks"
    columns = (RATING,)


def test_a_registered_modes_columns_are_read_and_published_by_default(rng, tmp_path, monkeypatch):
    monkeypatch.setitem(response_modes.RESPONSE_MODES, RatedMarks.name, RatedMarks())
    table = simulated(rng)
    with pytest.raises(AnalysisError, match=r"lacks column\(s\) rating"):
        read_trials(table.assign(response_mode=RatedMarks.name))
    read_trials(table)  # no trial in that mode: its column is not needed
    table["response_mode"] = RatedMarks.name
    table["rating"] = rng.integers(1, 8, len(table)).astype(float)
    assert read_trials(table)["rating"].dtype == np.int64
    assert load_trials(table).trials["rating"].between(1, 7).all()
    out = export_psychds(table, tmp_path / "export", ExportConfig(k=2))
    assert "rating" in pd.read_csv(out / "data" / "study-sim_data.csv").columns
    codebook = json.loads((out / "dataset_description.json").read_text())["variableMeasured"]
    assert {"name": "rating", "description": RATING.description} == {
        k: v for k, v in next(v for v in codebook if v["name"] == "rating").items() if k != "@type"
    }
