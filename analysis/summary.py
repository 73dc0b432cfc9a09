"""What a statistic's result hands the report: named tables and notes (statsmodels' ``Summary``).

A result may define ``to_summary() -> Summary`` to choose exactly what is shown. Results
without one are read through :func:`summary_of`, from the capabilities every result of
this package has: ``to_frame()`` (the main table), ``random_frame()`` (random effects),
fit statistics (``loglik``, ``aic``, ``bic``, ``nobs``), ``note`` / ``notes``. The report
lays a :class:`Summary` out one way for every statistic (:mod:`analysis.report.statistics`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

#: Fit statistics gathered into a one-row ``<name>_fit`` table when a result has them.
FIT_STATISTICS = ("loglik", "aic", "bic", "nobs")


@dataclass(frozen=True)
class SummaryTable:
    """One table: ``suffix`` names its file (``<statistic>_<suffix>.csv``; "" = the main
    table, ``<statistic>.csv``); ``title`` is shown above it when given."""

    suffix: str
    frame: pd.DataFrame
    title: str = ""


@dataclass(frozen=True)
class Summary:
    """Tables in page order and notes (plain text, shown after the tables)."""

    tables: tuple[SummaryTable, ...] = ()
    notes: tuple[str, ...] = ()


def summary_of(result: Any) -> Summary:
    """``result.to_summary()`` if it has one, else tables and notes read off the result."""
    if hasattr(result, "to_summary"):
        return result.to_summary()
    tables = [SummaryTable("", result.to_frame())]
    if hasattr(result, "random_frame"):
        tables.append(SummaryTable("random", result.random_frame(), "Random effects"))
    fit = {name: getattr(result, name) for name in FIT_STATISTICS if hasattr(result, name)}
    if fit:
        tables.append(SummaryTable("fit", pd.DataFrame([fit]), "Fit"))
    notes = [getattr(result, "note", ""), *getattr(result, "notes", ())]
    return Summary(tuple(tables), tuple(note for note in notes if note))
