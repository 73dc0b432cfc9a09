"""CSV loading: transforms, and one clear error naming line/column for each bad input."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stimuli.data import csv_source, transforms
from stimuli.data.csv_source import load_csv
from stimuli.errors import StimulusError


def write(tmp_path, text, name="data.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


GOOD = "a,b,y\n1,10,0.5\n2,100,1.5\n3,1000,2.0\n4,10000,4.0\n"


def test_default_is_zscore_and_columns_are_chosen(tmp_path):
    frame = load_csv(write(tmp_path, GOOD), columns=["b", "y"])
    assert list(frame.columns) == ["b", "y"]
    assert np.allclose(frame.mean(), 0) and np.allclose(frame.std(ddof=0), 1)


def z(values):
    values = np.asarray(values, dtype=float)
    return (values - values.mean()) / values.std()


@pytest.mark.parametrize(
    "steps, expected",
    [
        (["log"], z(np.log([1, 2, 3, 4]))),
        (["log1p"], z(np.log1p([1, 2, 3, 4]))),
        (["minmax"], [0, 1 / 3, 2 / 3, 1]),
        (["shift(-1)", "raw"], [0, 1, 2, 3]),
        (["clip(1.5, 3)", "raw"], [1.5, 2, 3, 3]),
        (["rank", "raw"], [1, 2, 3, 4]),
        (["shift(1)", "log"], z(np.log([2, 3, 4, 5]))),
        (["shift(100)", "log"], z(np.log([101, 102, 103, 104]))),
        (["log", "scale(2)"], 2 * z(np.log([1, 2, 3, 4]))),
        (["flip"], -z([1, 2, 3, 4])),
        (["scale(3)", "raw"], [3, 6, 9, 12]),
        (["raw"], [1, 2, 3, 4]),
        ([], z([1, 2, 3, 4])),
    ],
)
def test_transforms_keep_the_default_zscore_unless_replaced(tmp_path, steps, expected):
    frame = load_csv(write(tmp_path, GOOD), columns=["a"], transforms={"a": steps})
    assert np.allclose(frame["a"], expected)


@pytest.mark.parametrize(
    "steps, words",
    [
        ([], "z-score"),
        (["shift(100)", "log"], "+100 → log → z-score"),
        (["log", "scale(2)", "flip"], "log → z-score → ×2 → sign flip"),
        (["minmax"], "min-max to 0..1"),
        (["clip(-3, 3)", "zscore"], "clip to -3..3 → z-score"),
        (["raw"], "raw values (no transform)"),
    ],
)
def test_each_column_says_what_it_ends_up_as(steps, words):
    assert transforms.describe(steps) == words


@pytest.mark.parametrize(
    "text, kwargs, message",
    [
        (GOOD, {"columns": ["a", "z"]}, r"no column\(s\) \['z'\]"),
        ("a,y\n1,2\n3,oops\n", {}, "line 3, column 'y': 'oops' is not a number"),
        ("a,y\n1,2\n,4\n", {}, "line 3, column 'a': missing value"),
        ("a,y\n1,2\nNaN,4\n", {}, "line 3, column 'a': missing value"),
        ("", {}, "is empty"),
        ("  \n\n", {}, "is empty"),
        ("a,y\n", {}, "no data rows"),
        ("a,y\n1,1\n1,2\n", {}, "column 'a' is constant"),
        (
            "a,y\n1,2\n-4,3\n",
            {"transforms": {"a": ["log"]}},
            r"column 'a', row 2 \(CSV line 3\): log needs values above 0, got -4",
        ),
        (GOOD, {"transforms": {"a": ["scale(0)"]}}, "scale factor of 0"),
        (GOOD, {"transforms": {"a": ["sqrt"]}}, "unknown transform 'sqrt'"),
        (GOOD, {"transforms": {"a": ["clip(3)"]}}, "clip takes 2 numbers"),
        (GOOD, {"columns": ["a"], "transforms": {"b": ["rank"]}}, "not chosen"),
    ],
)
def test_bad_csv_names_the_problem(tmp_path, text, kwargs, message):
    with pytest.raises(StimulusError, match=message):
        load_csv(write(tmp_path, text), **kwargs)


def test_wrong_encoding_names_the_line(tmp_path):
    path = write(tmp_path, "name,y\nabc,1\nMünchen,2\n", encoding="latin-1")
    with pytest.raises(StimulusError, match=r"not UTF-8 .*line 3.*re-save it as UTF-8"):
        load_csv(path)


def test_utf8_with_bom_is_fine(tmp_path):
    path = write(tmp_path, "\ufeff" + GOOD)
    assert list(load_csv(path).columns) == ["a", "b", "y"]


def test_huge_file_is_refused(tmp_path):
    path = write(tmp_path, GOOD * 2)
    with pytest.raises(StimulusError, match=r"is 0\.0 MB, over the 0\.0 MB limit; keep only"):
        load_csv(path, max_bytes=10)
    assert csv_source.MAX_BYTES >= 10 * 1024 * 1024


def test_missing_file(tmp_path):
    with pytest.raises(StimulusError, match="does not exist"):
        load_csv(tmp_path / "nope.csv")


SHAPING = ["log1p", "shift(2)", "clip(-1, 50)", "rank", "flip", "scale(-3)", "scale(0.5)"]


@given(st.lists(st.sampled_from(SHAPING), max_size=4))
@settings(max_examples=60, deadline=None)
def test_without_a_standardising_step_the_column_ends_in_sd_units(steps):
    """Whatever shaping steps come first, the default z-score is applied before trailing
    scale/flip steps: the result is mean 0 with SD = the product of the trailing factors
    (or a refusal that names the column)."""
    values = pd.Series(np.arange(1.0, 9.0) ** 2, name="a")
    try:
        out = transforms.transform_column(values, steps)
    except StimulusError as error:  # e.g. log1p after a flip: a clear refusal, naming the column
        assert str(error).startswith("column 'a'")
        return
    effective = transforms.effective_steps(steps)
    factor = 1.0
    for step in effective[effective.index("zscore") + 1 :]:
        name, args = transforms.parse_step(step)
        factor *= -1.0 if name == "flip" else args[0]
    assert abs(out.mean()) < 1e-9 and np.isclose(out.std(ddof=0), abs(factor))
