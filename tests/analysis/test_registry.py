"""Every registered statistic runs on a small study and returns a frame and a summary."""

import subprocess
import sys

import pandas as pd
import pytest

from analysis.errors import AnalysisError
from analysis.registry import STATISTICS, get_statistic, run_statistic
from analysis.trials import load_trials
from tests.analysis.factories import simulated_trials


@pytest.fixture(scope="module")
def small_study():
    import numpy as np

    return load_trials(simulated_trials(np.random.default_rng(5), n_participants=8, n_datasets=4))


@pytest.mark.parametrize("name", list(STATISTICS))
def test_registered_statistic_contract(name, small_study, rng):
    result = run_statistic(name, small_study, rng=rng)
    frame = result.to_frame()
    assert isinstance(frame, pd.DataFrame) and not frame.empty
    assert isinstance(result.summary(), str) and result.summary()
    # Documented NaN: criterion c is not defined for m-AFC (this study's mode).
    numbers = frame.select_dtypes("number").drop(columns=["criterion"], errors="ignore")
    assert not numbers.isna().any().any()


def test_unknown_and_missing_rng(small_study):
    with pytest.raises(AnalysisError, match="unknown statistic"):
        get_statistic("anova")
    with pytest.raises(AnalysisError, match="pass rng"):
        run_statistic("dprime_differences", small_study)


def test_registry_import_is_light():
    code = (
        "import analysis.registry, sys; print('statsmodels' in sys.modules, 'scipy' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]
