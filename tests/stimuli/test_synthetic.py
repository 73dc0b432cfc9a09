"""Synthetic regression data: planted outliers are where, how many and how big we asked."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stimuli.data.synthetic import make_regression
from stimuli.errors import StimulusError

specs = st.fixed_dictionaries(
    {
        "n_samples": st.integers(6, 60),
        "n_features": st.integers(1, 6),
        "noise": st.floats(0.1, 5.0),
        "magnitude_sd": st.floats(2.0, 10.0),
        "outlier_kind": st.sampled_from(["vertical", "leverage", "both"]),
        "seed": st.integers(0, 2**32 - 1),
        "fraction": st.floats(0.0, 0.5),
    }
)


def build(spec, **overrides):
    args = {
        "n_samples": spec["n_samples"],
        "n_features": spec["n_features"],
        "n_informative": max(1, spec["n_features"] // 2),
        "noise": spec["noise"],
        "magnitude_sd": spec["magnitude_sd"],
        "outlier_kind": spec["outlier_kind"],
        "outlier_fraction": spec["fraction"],
    }
    args.update(overrides)
    return make_regression(**args, rng=np.random.default_rng(spec["seed"]))


@settings(max_examples=60, deadline=None)
@given(specs)
def test_outlier_count_indices_and_size(spec):
    data = build(spec)
    n = spec["n_samples"]
    assert len(data.outliers) == round(spec["fraction"] * n)
    assert list(data.outliers) == sorted(set(data.outliers))
    assert all(0 <= i < n for i in data.outliers)
    residuals = data.residuals()
    planted = np.abs(residuals[list(data.outliers)])
    if spec["outlier_kind"] == "leverage":
        informative = np.abs(data.X[:, list(data.informative)])
        for i in data.outliers:  # one informative x sits exactly at +-magnitude
            assert np.isclose(informative[i], spec["magnitude_sd"]).any()
    else:
        assert np.allclose(planted, spec["magnitude_sd"] * spec["noise"])
    assert np.count_nonzero(data.coef) == max(1, spec["n_features"] // 2)
    assert data.X.shape == (n, spec["n_features"]) and data.y.shape == (n,)


@settings(max_examples=25, deadline=None)
@given(specs)
def test_same_seed_same_data_other_seed_other_data(spec):
    first, again = build(spec), build(spec)
    assert np.array_equal(first.X, again.X) and np.array_equal(first.y, again.y)
    assert first.outliers == again.outliers
    other = build({**spec, "seed": spec["seed"] ^ 1})
    assert not np.array_equal(first.y, other.y)


def test_count_zero_allowed_and_count_form(rng):
    data = make_regression(n_samples=10, n_features=3, n_informative=2, n_outliers=0, rng=rng)
    assert data.outliers == ()
    data = make_regression(n_samples=10, n_features=3, n_informative=2, n_outliers=3, rng=rng)
    assert len(data.outliers) == 3


def test_outlier_positions_are_spread_over_rows():
    positions = [
        make_regression(
            n_samples=12, n_features=2, n_informative=1, n_outliers=1,
            rng=np.random.default_rng(seed),
        ).outliers[0]
        for seed in range(600)
    ]  # fmt: skip
    counts = np.bincount(positions, minlength=12)
    assert counts.min() > 20  # uniform would give 50 each; no position is avoided


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"n_outliers": 7}, "n_outliers must be 0..6"),
        ({"n_outliers": 1, "outlier_fraction": 0.1}, "not both"),
        ({"outlier_fraction": 0.9}, "outlier_fraction"),
        ({"n_informative": 5}, "n_informative"),
        ({"noise": 0.0}, "noise"),
        ({"outlier_kind": "sideways"}, "outlier_kind"),
        ({"magnitude_sd": -1.0}, "magnitude_sd"),
    ],
)
def test_bad_arguments_say_what_to_fix(rng, overrides, message):
    args = {"n_samples": 12, "n_features": 3, "n_informative": 2, **overrides}
    with pytest.raises(StimulusError, match=message):
        make_regression(**args, rng=rng)
