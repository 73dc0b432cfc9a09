"""Chernoff, table and plot specifics: features, fixed-width text, clickable points."""

import numpy as np
import pytest
from PIL import Image

from stimuli.encodings import Rows
from stimuli.encodings.chernoff import FEATURES, Chernoff
from stimuli.encodings.plot import Plot
from stimuli.encodings.table import Table
from stimuli.errors import StimulusError

from .helpers import small_rows


def test_chernoff_has_ten_plus_features_each_visible():
    assert len(FEATURES) >= 10
    enc = Chernoff()
    rows = Rows(np.array([[-3.0], [0.0], [3.0]]), ("v",), target=None)
    for feature in FEATURES:
        params = enc.params({"size_px": 64, "features": [feature]})
        low, mid, high = (im.tobytes() for im in enc.render(rows, params, np.zeros((3, 11))))
        assert low != mid != high, feature


def test_chernoff_is_antialiased_and_sized():
    enc = Chernoff()
    rows = Rows(np.zeros((1, 1)), ("v",), target=None)

    def colours(options):
        image = enc.render(rows, enc.params(options), np.zeros((1, len(FEATURES))))[0]
        assert image.size == (100, 100)
        return len(image.getcolors(maxcolors=100_000))

    aliased = colours({"size_px": 100, "supersample": 1})
    assert aliased < 10  # just the inks
    assert colours({"size_px": 100}) > aliased + 5  # blended edge colours


def test_chernoff_mapping_errors():
    enc = Chernoff()
    rows = Rows(np.zeros((2, 2)), ("a", "b"), target=None)
    with pytest.raises(StimulusError, match="unknown features"):
        enc.render(rows, enc.params({"features": ["eye_size", "tail"]}), np.zeros((2, 11)))
    with pytest.raises(StimulusError, match="only 1 features"):
        enc.render(rows, enc.params({"features": ["eye_size"]}), np.zeros((2, 11)))
    with pytest.raises(StimulusError, match="size_px"):
        enc.params({"size_px": 5})


def test_chernoff_jitter_comes_from_rng_only():
    enc = Chernoff()
    rows = small_rows(1)
    params = enc.params({"jitter": 0.2, "size_px": 48})
    a = enc.draw(rows, params, rng=np.random.default_rng(5))
    b = enc.draw(rows, params, rng=np.random.default_rng(5))
    assert np.array_equal(a, b) and np.abs(a).max() > 0


def test_table_strings_are_fixed_width_and_in_display_order():
    rows = Rows(np.array([[1.0, -0.001], [-12.345, 2.5]]), ("x1", "y"))
    enc = Table()
    grid = enc.grid(rows, enc.params({}), None, [1, 0])
    table = grid.fields["table"]
    assert table["columns"] == ["x1", "y"]
    assert table["rows"] == [["-12.35", "2.50"], ["1.00", "0.00"]]  # no "-0.00"
    images = enc.render(rows, enc.params({}), None)
    assert images[0].size == images[1].size and grid.image.height > images[0].height


def test_plot_points_sit_on_the_drawn_markers(seed):
    rows = small_rows(seed)
    enc = Plot()
    params = enc.params({"width_px": 400, "height_px": 300})
    order = list(range(rows.n_items))[::-1]
    grid = enc.grid(rows, params, None, order)
    assert grid.image.size == (400, 300)
    points = grid.fields["plot"]["points"]
    assert len(points) == rows.n_items and grid.fields["plot"]["radius"] == 6
    pixels = np.asarray(grid.image).astype(int)
    for point in points:
        r, _, b = pixels[round(point["y"]), round(point["x"])]
        assert b > r + 60, point  # the marker's blue is under every recorded centre


def test_plot_splom_records_every_panel(seed):
    rows = small_rows(seed)
    enc = Plot()
    grid = enc.grid(rows, enc.params({"kind": "splom"}), None, list(range(rows.n_items)))
    k = len(rows.columns)
    assert len(grid.fields["plot"]["panels"]) == k * (k - 1)
    assert isinstance(grid.image, Image.Image)


def test_plot_bad_params():
    enc = Plot()
    with pytest.raises(StimulusError, match="kind"):
        enc.params({"kind": "pie"})
    with pytest.raises(StimulusError, match="not among"):
        enc.grid(small_rows(0), enc.params({"x": "x9"}), None, [0])
