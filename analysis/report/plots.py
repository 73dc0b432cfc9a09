"""The report's figures (matplotlib, Agg), each returned as PNG bytes.

Figures are built with :class:`matplotlib.figure.Figure` directly (no pyplot), which
renders with Agg and keeps no global state, so nothing depends on the backend setting.
Why PNG bytes: the report is one self-contained HTML file, so every figure is inlined as
base64; the same bytes are also written beside it. Colours are fixed per encoding
(colour-blind-safe Okabe-Ito) so a reader can follow an encoding from plot to plot.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

PLAIN = FuncFormatter(lambda value, _: f"{value:g}")

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442"]
LABELS = {
    "accuracy": "Accuracy (trials fully correct)",
    "dprime": "d′ (sensitivity)",
    "median_log_rt": "Median log RT (ln ms)",
}


def colours(encodings) -> dict[str, str]:
    return {name: OKABE_ITO[i % len(OKABE_ITO)] for i, name in enumerate(sorted(encodings))}


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)  # constrained layout sets the margins
    return buffer.getvalue()


def _log_x(axis) -> None:
    """Log axis with plain tick labels (2, 3, 5 s rather than 2x10^0)."""
    axis.set_xscale("log")
    axis.xaxis.set_major_formatter(PLAIN)
    axis.xaxis.set_minor_formatter(PLAIN)
    axis.tick_params(axis="x", which="minor", labelsize=8)


def _style(axis) -> None:
    axis.spines[["top", "right"]].set_visible(False)
    axis.grid(axis="y", color="#dddddd", linewidth=0.8)
    axis.set_axisbelow(True)


def _panels(modes: list[str], width: float = 5.2, height: float = 3.6):
    figure = Figure(figsize=(width * len(modes), height), layout="constrained")
    return figure, figure.subplots(1, len(modes), squeeze=False)[0]


def means_with_ci(summary: pd.DataFrame, measure: str, palette: dict[str, str]) -> bytes:
    """Mean over participants per encoding with its CI; one panel per response mode."""
    rows = summary[summary["measure"] == measure]
    modes = sorted(rows["response_mode"].unique())
    figure, axes = _panels(modes)
    for axis, mode in zip(axes, modes, strict=True):
        block = rows[rows["response_mode"] == mode].sort_values("encoding")
        x = np.arange(len(block))
        if block["mean"].isna().all():  # e.g. d' where no cell has both kinds of trial
            axis.text(
                0.5, 0.5, f"no {LABELS.get(measure, measure)} in this mode\n(see the notes above)",
                transform=axis.transAxes, ha="center", va="center", fontsize=10, color="0.35",
            )  # fmt: skip
            axis.set_yticks([])
        for position, (_, row) in zip(x, block.iterrows(), strict=True):
            low, high = row["ci_low"], row["ci_high"]
            error = None if pd.isna(low) else [[row["mean"] - low], [high - row["mean"]]]
            axis.errorbar(
                position, row["mean"], yerr=error, fmt="o", color=palette[row["encoding"]],
                capsize=5, markersize=8, linewidth=2,
            )  # fmt: skip
        axis.set_xticks(x, block["encoding"])
        axis.set_xlim(-0.6, len(block) - 0.4)
        axis.set_title(mode.replace("_", " "), fontsize=10)
        axis.set_ylabel(LABELS.get(measure, measure))
        _style(axis)
    figure.suptitle(f"{LABELS.get(measure, measure)} by encoding", fontsize=11)
    return _png(figure)


def speed_accuracy(cells: pd.DataFrame, palette: dict[str, str]) -> bytes:
    """Each participant x encoding cell: median RT against accuracy; big dots are means."""
    figure = Figure(figsize=(6.4, 4.2), layout="constrained")
    axis = figure.subplots()
    for encoding, block in cells.groupby("encoding", sort=True):
        colour = palette[encoding]
        axis.scatter(block["median_rt_ms"] / 1000, block["accuracy"], s=14, alpha=0.35,
                     color=colour, linewidths=0)  # fmt: skip
        axis.scatter(block["median_rt_ms"].median() / 1000, block["accuracy"].mean(), s=120,
                     color=colour, edgecolor="black", label=encoding, zorder=3)  # fmt: skip
    _log_x(axis)
    axis.set_xlabel("Median RT per participant (s, log scale)")
    axis.set_ylabel("Accuracy")
    axis.set_title("Speed-accuracy: one dot per participant x encoding", fontsize=11)
    axis.legend(frameon=False, fontsize=9)
    _style(axis)
    return _png(figure)


def rt_distributions(trials: pd.DataFrame, palette: dict[str, str]) -> bytes:
    """Histograms of answered trials' RT per encoding on a log axis (timeouts excluded)."""
    answered = trials.loc[trials["log_rt"].notna(), ["encoding", "rt_ms"]]
    figure = Figure(figsize=(6.4, 4.0), layout="constrained")
    axis = figure.subplots()
    if answered.empty:
        axis.text(0.5, 0.5, "every trial timed out", ha="center", transform=axis.transAxes)
    else:
        edges = np.geomspace(answered["rt_ms"].min(), answered["rt_ms"].max() * 1.001, 40)
        for encoding, block in answered.groupby("encoding", sort=True):
            axis.hist(block["rt_ms"] / 1000, bins=edges / 1000, density=True, histtype="step",
                      linewidth=2, color=palette[encoding], label=encoding)  # fmt: skip
        _log_x(axis)
        axis.legend(frameon=False, fontsize=9)
    axis.set_xlabel("RT (s, log scale)")
    axis.set_ylabel("Density")
    axis.set_title("RT distributions of answered trials", fontsize=11)
    _style(axis)
    return _png(figure)


def participant_lines(cells: pd.DataFrame, measure: str, palette: dict[str, str]) -> bytes:
    """One grey line per participant across encodings; coloured dots are encoding means."""
    modes = sorted(cells["response_mode"].unique())
    figure, axes = _panels(modes)
    for axis, mode in zip(axes, modes, strict=True):
        block = cells[cells["response_mode"] == mode]
        order = sorted(block["encoding"].unique())
        wide = block.pivot_table(index="participant", columns="encoding", values=measure)
        wide = wide.reindex(columns=order)
        x = np.arange(len(order))
        alpha = float(np.clip(8 / max(len(wide), 1), 0.05, 0.5))
        axis.plot(x, wide.to_numpy().T, color="#777777", alpha=alpha, linewidth=1)
        for position, encoding in enumerate(order):
            axis.scatter(position, wide[encoding].mean(), s=90, color=palette[encoding],
                         edgecolor="black", zorder=3)  # fmt: skip
        axis.set_xticks(x, order)
        axis.set_xlim(-0.4, len(order) - 0.6)
        axis.set_title(mode.replace("_", " "), fontsize=10)
        axis.set_ylabel(LABELS.get(measure, measure))
        _style(axis)
    figure.suptitle(f"{LABELS.get(measure, measure)} per participant", fontsize=11)
    return _png(figure)
