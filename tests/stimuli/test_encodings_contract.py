"""Every registered encoding keeps the protocol: sizes, determinism, data-driven change."""

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

from stimuli.encodings import ENCODINGS, Display, Rows
from stimuli.errors import StimulusError

from .helpers import small_rows

#: Small, fast options per encoding (others run with their defaults).
#: gan_face: the small DCGAN (MobileStyleGAN's own tests are in test_generators_mobilestylegan)
FAST = {
    "chernoff": {"size_px": 64},
    "plot": {"width_px": 320, "height_px": 240},
    "gan_face": {"backend": "dcgan64", "size_px": 64},
}


@pytest.fixture(params=sorted(ENCODINGS))
def encoding(request):
    cls = ENCODINGS[request.param]
    reason = cls.unavailable_reason()
    if reason:
        pytest.skip(f"{request.param} unavailable here: {reason}")
    return cls()


def render(encoding, rows, seed):
    params = encoding.params(FAST.get(encoding.name, {}))
    draws = encoding.draw(rows, params, rng=np.random.default_rng(seed))
    return params, draws, encoding.render(rows, params, draws)


def test_one_rgb_image_per_item_all_the_same_size(encoding, seed):
    rows = small_rows(seed)
    _, _, images = render(encoding, rows, seed)
    assert len(images) == rows.n_items
    assert {image.size for image in images} == {images[0].size}
    assert all(image.mode == "RGB" for image in images)
    assert images[0].width >= 32 and images[0].height >= 32


def test_same_draws_same_pixels(encoding, seed):
    rows = small_rows(seed)
    _, _, first = render(encoding, rows, seed)
    _, _, again = render(encoding, rows, seed)
    assert [a.tobytes() for a in first] == [b.tobytes() for b in again]


def test_moving_a_mapped_column_changes_that_item_only(encoding, seed):
    rows = small_rows(seed)
    params, draws, before = render(encoding, rows, seed)
    values = rows.values.copy()
    values[2, -1] += 1.5  # item 2, column y: every encoding must show y
    moved = dataclasses.replace(rows, values=values)
    after = encoding.render(moved, params, draws)
    assert before[2].tobytes() != after[2].tobytes()
    if encoding.name != "plot":  # a plot frame shows every point, so all frames move
        assert before[0].tobytes() == after[0].tobytes()


def test_grid_keeps_display_order(encoding, seed):
    rows = small_rows(seed)
    params, draws, _ = render(encoding, rows, seed)
    order = list(range(rows.n_items))
    forward = encoding.grid(rows, params, draws, order)
    backward = encoding.grid(rows, params, draws, order[::-1])
    assert forward.image.size == backward.image.size
    tiled = encoding.display is Display.IMAGES
    assert forward.image.tobytes() != backward.image.tobytes() or not tiled


def test_unknown_params_are_refused(encoding):
    with pytest.raises(StimulusError, match="unknown options"):
        encoding.params({"no_such_option": 1})


def test_importing_stimuli_loads_neither_torch_nor_matplotlib():
    code = "import sys, stimuli; print(sorted({'torch', 'matplotlib'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_rows_validate():
    with pytest.raises(StimulusError, match="NaN"):
        Rows(np.array([[np.nan, 1.0]]), ("a", "y"))
    with pytest.raises(StimulusError, match="one column per name"):
        Rows(np.zeros((3, 2)), ("a",))
    with pytest.raises(StimulusError, match="not among"):
        Rows(np.zeros((3, 2)), ("a", "b"), target="y")


def test_declares_what_the_site_needs(encoding, seed):
    """A label, a display kind, a bot's d'; non-image grids put their display data
    under the encoding's own name: rows for a table view, points for click mapping."""
    assert isinstance(encoding.label, str) and encoding.label.strip()
    assert isinstance(encoding.display, Display) and encoding.bot_dprime > 0
    rows = small_rows(seed)
    params, draws, images = render(encoding, rows, seed)
    order = list(range(rows.n_items))
    fields = encoding.grid(rows, params, draws, order, images=images).fields
    needed = {Display.IMAGES: set(), Display.ROWS: {"columns", "rows"}}
    needed[Display.COMPOSITE] = {"points"}
    if encoding.display is Display.IMAGES:
        assert encoding.name not in fields
    else:
        assert set(fields) == {encoding.name} and needed[encoding.display] <= set(
            fields[encoding.name]
        )
