"""A test-only statistic that draws random numbers: accuracy per encoding, bootstrap CIs.

Registered from the tests with :data:`ENTRY` (and its scale :data:`SCALE`); nothing in
``analysis/`` names it. It hands the report a :class:`analysis.summary.Summary` itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.registry import Scale, Statistic
from analysis.summary import Summary, SummaryTable
from analysis.trials import TrialTable

NAME = "bootstrap_accuracy"
SCALE = ("proportion", Scale("proportion of trials correct"))
ENTRY = Statistic(
    f"{__name__}:bootstrap_accuracy",
    "Accuracy per encoding, percentile bootstrap over participants",
    section="contrasts",
    scale=SCALE[0],
    random=True,
)


@dataclass(frozen=True)
class BootstrapAccuracyResult:
    table: pd.DataFrame
    n_boot: int

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        return self.table.to_string(index=False)

    def to_summary(self) -> Summary:
        note = f"95% percentile intervals, {self.n_boot} resamples of participants."
        return Summary((SummaryTable("", self.table),), (note,))


def bootstrap_accuracy(
    trials: TrialTable, *, rng: np.random.Generator, n_boot: int = 200
) -> BootstrapAccuracyResult:
    """Mean of per-participant accuracy per encoding, with a resampled-participants CI."""
    wide = trials.trials.pivot_table(index="participant", columns="encoding", values="correct")
    rows = []
    for encoding in sorted(wide.columns):
        values = wide[encoding].dropna().to_numpy(dtype=float)
        boot = values[rng.integers(0, values.size, size=(n_boot, values.size))].mean(axis=1)
        low, high = np.percentile(boot, [2.5, 97.5])
        rows.append(
            {"encoding": encoding, "accuracy": values.mean(), "ci_low": low, "ci_high": high}
        )
    return BootstrapAccuracyResult(pd.DataFrame(rows), n_boot)
