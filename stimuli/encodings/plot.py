"""Plot: a scatter of y against the main informative x, or a scatter-plot matrix.

Drawn with matplotlib's object API on an Agg canvas (no pyplot, no global state) and
handed on as pixels, so PNG encoding (and its metadata) is ours and byte-identical. Each
item's pixel centre is recorded (origin top-left, as in the browser) so a click on the
image maps to the nearest item; the sequence frames highlight one point at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from stimuli.encodings.base import Display, Encoding, Grid, Rows
from stimuli.errors import StimulusError

KINDS = ("scatter", "splom")
POINT = "#2b5d9c"
HIGHLIGHT = (214, 96, 28)


@dataclass(frozen=True)
class PlotParams:
    """``kind``: scatter (y vs ``x``) or splom (every pair of ``columns``, 2..6,
    panels in reading order, the diagonal naming the column);
    ``x``: the horizontal column (empty = the most informative, else the first);
    ``width_px``/``height_px``: image size; ``radius_px``: point radius."""

    kind: str = "scatter"
    x: str = ""
    columns: tuple[str, ...] = ()
    width_px: int = 640
    height_px: int = 480
    radius_px: int = 6

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", tuple(self.columns))
        if self.kind not in KINDS:
            raise StimulusError(f"plot kind must be one of {KINDS}, got {self.kind!r}")
        if not (160 <= self.width_px <= 4096 and 120 <= self.height_px <= 4096):
            raise StimulusError("plot width_px/height_px must be 160..4096 / 120..4096")
        if not 2 <= self.radius_px <= 30:
            raise StimulusError(f"plot radius_px must be 2..30, got {self.radius_px}")


@dataclass(frozen=True, eq=False)
class PlotImage:
    """The drawn plot, every item's pixel centre in the main panel, and all panels'."""

    image: Image.Image
    points: np.ndarray  # (n_items, 2) x, y pixels in the y-vs-x panel
    panels: tuple[np.ndarray, ...]  # one (n_items, 2) array per off-diagonal panel


class Plot(Encoding[PlotParams, None]):
    """Scatter plot / scatter-plot matrix with clickable item positions."""

    name = "plot"
    label = "Scatter plot"
    params_type = PlotParams
    display = Display.COMPOSITE
    bot_dprime = 2.5

    def draw(self, rows: Rows, params: PlotParams, *, rng: np.random.Generator) -> None:
        return None

    def render(self, rows: Rows, params: PlotParams, draws: None) -> list[Image.Image]:
        plot = draw_plot(rows, params)
        frames = []
        for centres in zip(*plot.panels, strict=True):
            frame = plot.image.copy()
            d = ImageDraw.Draw(frame)
            r = params.radius_px * 2 + 2  # a ring clear of the marker
            for x, y in centres:
                d.ellipse((x - r, y - r, x + r, y + r), outline=HIGHLIGHT, width=3)
            frames.append(frame)
        return frames

    def grid(
        self, rows: Rows, params: PlotParams, draws: None, order: Sequence[int], *, images=None
    ) -> Grid:
        plot = draw_plot(rows, params)

        def points(centres: np.ndarray) -> list[dict[str, float]]:
            return [
                {"x": round(float(centres[i, 0]), 1), "y": round(float(centres[i, 1]), 1)}
                for i in order
            ]

        fields = {"points": points(plot.points), "radius": params.radius_px}
        if params.kind == "splom":
            fields["panels"] = [points(p) for p in plot.panels]
        return Grid(plot.image, {self.name: fields})


def _x_column(rows: Rows, params: PlotParams) -> str:
    if params.x:
        if params.x not in rows.columns:
            raise StimulusError(f"plot x {params.x!r} is not among {list(rows.columns)}")
        return params.x
    if rows.informative:
        return rows.informative[0]
    candidates = [c for c in rows.columns if c != rows.target]
    if not candidates:
        raise StimulusError("a plot needs at least one column besides the target")
    return candidates[0]


def draw_plot(rows: Rows, params: PlotParams) -> PlotImage:
    """Draw the plot with matplotlib Agg; return pixels and item centres."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if rows.target is None:
        raise StimulusError("a plot needs a target column (y)")
    x_name = _x_column(rows, params)
    if params.kind == "scatter":
        pairs = [[(x_name, rows.target)]]
    else:
        names = list(params.columns or rows.columns)
        if not 2 <= len(names) <= 6 or any(c not in rows.columns for c in names):
            raise StimulusError(f"splom needs 2..6 columns of {list(rows.columns)}, got {names}")
        pairs = [[(cx, cy) for cx in names] for cy in names]
    dpi = 100
    fig = Figure(figsize=(params.width_px / dpi, params.height_px / dpi), dpi=dpi)
    canvas = FigureCanvasAgg(fig)
    k = len(pairs)
    axes = fig.subplots(k, k, squeeze=False)
    size = (params.radius_px * 72 / dpi * 2) ** 2  # marker area in points^2
    panels, main = [], None
    for i, line in enumerate(pairs):
        for j, (cx, cy) in enumerate(line):
            ax = axes[i][j]
            xs, ys = rows.column(cx), rows.column(cy)
            if cx == cy:  # the diagonal names its column instead of plotting x vs x
                ax.set_axis_off()
                ax.text(0.5, 0.5, cx, ha="center", va="center", fontsize=14, transform=ax.transAxes)
                continue
            ax.scatter(xs, ys, s=size if k == 1 else size / 3, c=POINT, linewidths=0)
            _limits(ax, xs, ys)
            if k == 1:
                ax.set_xlabel(cx)
                ax.set_ylabel(cy)
                ax.grid(True, color="#dddddd", linewidth=0.8)
                ax.set_axisbelow(True)
            else:
                ax.set_xticks([])
                ax.set_yticks([])
            for side in ("top", "right"):
                ax.spines[side].set_visible(k > 1)
    fig.tight_layout(pad=0.6 if k > 1 else 1.0)
    canvas.draw()
    height = canvas.get_width_height()[1]
    for i, line in enumerate(pairs):
        for j, (cx, cy) in enumerate(line):
            if cx == cy:
                continue
            xy = axes[i][j].transData.transform(np.column_stack([rows.column(cx), rows.column(cy)]))
            centres = np.column_stack([xy[:, 0], height - xy[:, 1]])
            panels.append(centres)
            if (cx, cy) == (x_name, rows.target):
                main = centres
    image = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba()).convert("RGB")
    return PlotImage(image, panels[0] if main is None else main, tuple(panels))


def _limits(ax, xs: np.ndarray, ys: np.ndarray) -> None:
    """Axis limits with a margin so no point touches the frame."""
    for values, setter in ((xs, ax.set_xlim), (ys, ax.set_ylim)):
        low, high = float(values.min()), float(values.max())
        margin = max(0.08 * (high - low), 0.5)
        setter(low - margin, high + margin)
