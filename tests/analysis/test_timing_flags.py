"""Timing-flagged trials (issue 15): excluded from analysis with a count, never fatal."""

import pandas as pd

from analysis.report.sections import sample_section
from analysis.trial_contract import written_columns
from analysis.trials import load_trials, read_trials
from tests.analysis.factories import trial_frame, trial_row


def table(flags: dict[int, dict]) -> pd.DataFrame:
    rows = []
    for p in range(4):
        for k in range(6):
            row = trial_row(
                participant=f"P{p:04d}",
                encoding=("chernoff", "table")[k % 2],
                selected=[3] if k % 3 else [],
                rt_ms=900.0 + 10 * k,
            )
            row.update(flags.get(6 * p + k, {}))
            rows.append(row)
    return trial_frame(rows)


def test_the_contract_has_the_timing_columns():
    names = [c.name for c in written_columns()]
    for name in ("served_at", "server_elapsed_ms", "timing_flag"):
        assert name in names
    optional = {c.name for c in written_columns() if not c.required}
    assert {"served_at", "server_elapsed_ms", "timing_flag"} <= optional


def test_flagged_trials_are_left_out_of_the_analysis_and_counted():
    frame = table(
        {
            1: {"timing_flag": "rt_exceeds_server_elapsed"},
            8: {"timing_flag": "rt_below_server_elapsed"},
        }
    )
    loaded = load_trials(frame)
    assert len(loaded.all_trials) == 24
    assert len(loaded.trials) == 22
    assert loaded.participants["n_timing_flagged"].sum() == 2
    assert loaded.timing_excluded.to_dict() == {"chernoff": 1, "table": 1}


def test_old_rows_without_an_rt_are_flagged_not_fatal():
    """Audit item 3: an answered trial with rt_ms missing or 0 stopped analyze/export."""
    frame = table({2: {"rt_ms": None}, 3: {"rt_ms": 0.0}})
    read = read_trials(frame)  # export reads the table this way
    assert read["timing_flag"].tolist()[2:4] == ["rt_missing", "rt_missing"]
    assert read["timing_flag"].isna().sum() == 22
    loaded = load_trials(frame)
    assert len(loaded.trials) == 22


def test_a_table_without_the_timing_columns_still_loads():
    frame = table({}).drop(columns=[c for c in ("timing_flag",) if c in table({}).columns])
    assert len(load_trials(frame).trials) == 24


def test_the_report_states_the_timing_exclusions_per_encoding():
    frame = table({1: {"timing_flag": "rt_exceeds_server_elapsed"}})
    section = sample_section(load_trials(frame))
    html = "".join(section.blocks)
    assert "timing-flagged" in html
    counts = section.tables["trial_counts"].set_index("encoding")
    assert counts.loc["table", "timing_excluded"] == 1
    assert counts.loc["chernoff", "timing_excluded"] == 0
