"""The statistic registry: name -> "module:function", imported only when run.

Every entry takes the analysed trials (a :class:`analysis.trials.TrialTable`) and returns
a frozen result with ``.to_frame()`` and ``.summary()``; entries that draw random numbers
also take ``rng``. The report iterates over this dict, so a new statistic is one module
and one line here. Lazy strings keep ``import analysis`` free of scipy and statsmodels.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from analysis.errors import AnalysisError

STATISTICS: dict[str, str] = {
    "measures": "analysis.measures:compute_measures",
    "accuracy_glmm": "analysis.models.study:fit_accuracy_glmm",
    "accuracy_contrasts": "analysis.contrasts:accuracy_contrasts",
    "dprime_differences": "analysis.contrasts:participant_dprime_differences",
    "log_rt_lmm": "analysis.models.study:fit_log_rt_lmm",
    "accuracy_gee": "analysis.models.study:fit_accuracy_gee",
}


def get_statistic(name: str):
    """The function registered under ``name``."""
    if name not in STATISTICS:
        raise AnalysisError(f"unknown statistic {name!r}; known: {', '.join(STATISTICS)}")
    module, attribute = STATISTICS[name].split(":")
    return getattr(importlib.import_module(module), attribute)


def run_statistic(name: str, trials: Any, *, rng: Any = None) -> Any:
    """Run one registered statistic; ``rng`` is passed to those that take one."""
    function = get_statistic(name)
    if "rng" in inspect.signature(function).parameters:
        if rng is None:
            raise AnalysisError(f"statistic {name!r} draws random numbers: pass rng=")
        return function(trials, rng=rng)
    return function(trials)
