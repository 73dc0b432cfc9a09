"""Calibration of the report's accuracy GLMM on studies simulated from a known GLMM.

    nice -n 10 python benchmarks/bench_calibration.py [--studies 500] [--workers 2]
        [--scenarios null_pxe,effect_pxe,null_no_variability] [--summary-only] [--timing]

Each scenario simulates ``--studies`` studies (20 participants x 4 encodings x 12
datasets, 24 trials per cell) with :mod:`analysis.logodds_simulation` and fits each with
:func:`analysis.models.study.fit_accuracy_glmm` exactly as the report does (structure by
its rule). Printed per scenario: coverage of the 95% Wald CIs and bias of each encoding
term against its true log-odds difference (the simulator's stated target), rejection
rate per term at 0.05 (type-I where the truth is 0), family-wise rate of the six pairwise
contrasts after Holm where all are null, the share of fits singular / not converged /
with slopes kept, and fit seconds. ``--timing`` times one fit on a 100,800-trial table.

Results go to ``benchmarks/results/calibration_<scenario>.csv``, one row per study as it
finishes (workers are processes; only the parent writes), so an interrupted run resumes
where it stopped and ``--summary-only`` prints what has run so far.
"""

from __future__ import annotations

import argparse
import os
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from analysis.contrasts import encoding_contrasts, holm
from analysis.logodds_simulation import LogOddsStudy, model_frame
from analysis.models.study import fit_accuracy_glmm, slopes_identified

RESULTS = Path(__file__).parent / "results"
NULL = {"table": 0.5, "chernoff": 0.5, "plot": 0.5, "gan_face": 0.5}
EFFECT = {"table": 0.3, "chernoff": 0.5, "plot": 0.6, "gan_face": 0.9}
SCENARIOS = {
    # The issue's null scenario: participant x encoding SD 0.3 (and dataset x encoding 0.2).
    "null_pxe": LogOddsStudy(logits=NULL),
    "effect_pxe": LogOddsStudy(logits=EFFECT),
    # No interaction variability at all: those SDs' ML estimates sit on the boundary.
    "null_no_variability": LogOddsStudy(
        logits=NULL, participant_encoding_sd=0.0, dataset_encoding_sd=0.0
    ),
}
REFERENCE = "table"
INTERCEPT_SDS = ("participant", "participant:encoding", "dataset_id", "dataset_id:encoding")


def one_study(job: tuple[str, int]) -> dict:
    """Simulate and fit study ``seed`` of ``scenario``; one flat result row."""
    scenario, seed = job
    study = SCENARIOS[scenario]
    index = list(SCENARIOS).index(scenario)
    frame = model_frame(study, rng=np.random.default_rng([index, seed]))
    start = time.perf_counter()
    glmm = fit_accuracy_glmm(frame, reference=REFERENCE)
    row: dict = {"seed": seed, "fit_s": time.perf_counter() - start}
    row.update(converged=glmm.converged, singular=glmm.singular)
    row["slopes"] = any(t.startswith("(1 + encoding") for t in glmm.random)
    # Fixed columns (the CSV's schema): the intercepts model's SDs, NaN where slopes won.
    sds = glmm.random_sd
    row.update({f"sd[{group}]": sds.get(group, np.nan) for group in INTERCEPT_SDS})
    table = glmm.to_frame()
    for name in study.encodings:
        if name == REFERENCE:
            continue
        term = table[table["term"].str.endswith(f"[T.{name}]")].iloc[0]
        for column in ("estimate", "se", "df", "ci_low", "ci_high", "p"):
            row[f"{name}_{column}"] = float(term[column]) if column in term else np.inf
    pairs = encoding_contrasts(glmm).table
    truth = [
        study.true_difference(a, b)
        for a, b in zip(pairs["encoding_a"], pairs["encoding_b"], strict=True)
    ]
    null = np.isclose(truth, 0.0)
    row["null_pairs"] = int(null.sum())
    row["holm_any_null_rejected"] = bool((pairs["p_holm"].to_numpy()[null] < 0.05).any())
    # The same contrasts against the normal (Wald z, lme4's p values) for comparison.
    p_z = holm(2 * stats.norm.sf(np.abs(pairs["estimate"] / pairs["se"]).to_numpy()))
    row["holm_any_null_rejected_z"] = bool((p_z[null] < 0.05).any())
    return row


def _rate(hits: pd.Series) -> str:
    """A rate with its Monte-Carlo SE."""
    p = float(hits.mean())
    return f"{p:.1%} ± {np.sqrt(p * (1 - p) / len(hits)):.1%}"


def summarise(scenario: str, rows: pd.DataFrame) -> str:
    """The scenario's table: per term bias, coverage, rejections (t with Satterthwaite df,
    and z for comparison, each with its Monte-Carlo SE), median df and the SE ratio
    mean(SE^2) / Var(estimate) (1: the SEs are right on average); then family-wise
    rates, fit status and the mean random SDs against the truth."""
    study = SCENARIOS[scenario]
    lines = [
        f"== {scenario}: {len(rows)} studies; true log-odds {dict(study.logits)}; SDs "
        f"participant {study.participant_sd}, participant x encoding "
        f"{study.participant_encoding_sd}, dataset {study.dataset_sd}, dataset x encoding "
        f"{study.dataset_encoding_sd}",
        f"{'term':<20}{'truth':>6}{'bias':>9}{'rel.bias':>9}{'coverage':>10}"
        f"{'reject (t) ± MC SE':>20}{'reject (z)':>12}{'df':>6}{'SE ratio':>10}",
    ]
    for name in study.encodings:
        if name == REFERENCE:
            continue
        truth = study.true_difference(name, REFERENCE)
        estimate, se = rows[f"{name}_estimate"], rows[f"{name}_se"]
        covered = (rows[f"{name}_ci_low"] <= truth) & (truth <= rows[f"{name}_ci_high"])
        relative = f"{(estimate.mean() - truth) / truth:+.1%}" if truth else "-"
        z_reject = (np.abs(estimate / se) > stats.norm.ppf(0.975)).mean()
        ratio = float((se**2).mean() / estimate.var())
        lines.append(
            f"{name + ' vs ' + REFERENCE:<20}{truth:>6.2f}{estimate.mean() - truth:>+9.4f}"
            f"{relative:>9}{covered.mean():>10.1%}{_rate(rows[f'{name}_p'] < 0.05):>20}"
            f"{z_reject:>12.1%}{rows[f'{name}_df'].median():>6.3g}{ratio:>10.3f}"
        )
    if rows["null_pairs"].iloc[0] == 6:
        lines.append(
            "family-wise (any of 6 pairwise contrasts, Holm): t "
            f"{_rate(rows['holm_any_null_rejected'])}, z "
            f"{rows['holm_any_null_rejected_z'].mean():.1%}"
        )
        for kept, part in rows.groupby("slopes"):
            rejected = np.mean([(part[f"{n}_p"] < 0.05).mean() for n in study.encodings
                                if n != REFERENCE])  # fmt: skip
            lines.append(
                f"  {'slopes' if kept else 'intercepts'} model kept in {len(part)}: type-I per "
                f"term (mean of 3) {rejected:.1%}, family-wise "
                f"{part['holm_any_null_rejected'].mean():.1%}"
            )
    hidden = ~rows["converged"]
    lines.append(
        f"fits: singular {rows['singular'].mean():.1%}, not converged {hidden.mean():.1%} "
        f"(all reported, none hidden: shown with their status), slopes kept "
        f"{rows['slopes'].mean():.1%}; fit seconds median {rows['fit_s'].median():.2f}, "
        f"max {rows['fit_s'].max():.2f}"
    )
    truths = {
        "participant": study.participant_sd,
        "participant:encoding": study.participant_encoding_sd,
        "dataset_id": study.dataset_sd,
        "dataset_id:encoding": study.dataset_encoding_sd,
    }
    sds = ", ".join(
        f"{group} {rows[f'sd[{group}]'].mean():.3f} ({truth})"
        for group, truth in truths.items()
        if rows[f"sd[{group}]"].notna().any()
    )
    lines.append(f"mean ML SD (truth) where the intercepts model was kept: {sds}")
    return "\n".join(lines)


#: 100k-trial tables: the calibration design with 100 participants, and the shapes of
#: bench_analysis (250 x 100 datasets) and bench_report (1000 x 25), 1 trial per cell.
TIMING_SHAPES = ((100, 12, 21), (250, 100, 1), (1000, 25, 1))


def timing() -> str:
    """Wall and CPU seconds of one report fit (each structure, and the rule) on 100k trials."""
    lines = []
    for participants, datasets, per_cell in TIMING_SHAPES:
        study = LogOddsStudy(
            logits=EFFECT,
            n_participants=participants,
            n_datasets=datasets,
            trials_per_cell=per_cell,
        )
        frame = model_frame(study, rng=np.random.default_rng(99))
        parts = []
        for structure in ("intercepts", "slopes", "auto"):
            if structure == "slopes" and slopes_identified(frame):
                parts.append(f"slopes not fitted ({slopes_identified(frame)})")
                continue
            load = os.getloadavg()[0]
            start, cpu = time.perf_counter(), time.process_time()
            glmm = fit_accuracy_glmm(frame, reference=REFERENCE, structure=structure)
            parts.append(
                f"{structure} {time.perf_counter() - start:.2f} s wall, "
                f"{time.process_time() - cpu:.2f} s CPU (load {load:.1f}; {glmm.status})"
            )
        lines.append(
            f"100k timing, {participants} participants x {datasets} datasets x 4 encodings "
            f"x {per_cell}: {len(frame):,} trials, {glmm.nobs:,} cells, "
            f"{os.cpu_count()} cores:\n  " + "\n  ".join(parts)
        )
    return "\n".join(lines)


def run(scenarios: list[str], studies: int, workers: int) -> None:
    """Fit the missing studies of every scenario, interleaved (so that a run stopped early
    leaves every scenario with about as many studies), appending each to its CSV."""
    paths = {name: RESULTS / f"calibration_{name}.csv" for name in scenarios}
    todo = {}
    for name, path in paths.items():
        done = set(pd.read_csv(path)["seed"]) if path.exists() else set()
        todo[name] = [seed for seed in range(studies) if seed not in done]
    jobs = [
        (name, seeds[i])
        for i in range(max(map(len, todo.values()), default=0))
        for name, seeds in todo.items()
        if i < len(seeds)
    ]
    started = time.perf_counter()
    outputs = {name: path.open("a") for name, path in paths.items()}
    try:
        with Pool(workers) as pool:
            for count, (name, row) in enumerate(pool.imap_unordered(_job, jobs), 1):
                out = outputs[name]
                pd.DataFrame([row]).to_csv(out, header=out.tell() == 0, index=False)
                out.flush()
                if count % 50 == 0:
                    seconds = time.perf_counter() - started
                    print(f"{count}/{len(jobs)} studies in {seconds:.0f} s", flush=True)
    finally:
        for out in outputs.values():
            out.close()


def _job(job: tuple[str, int]) -> tuple[str, dict]:
    return job[0], one_study(job)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--summary-only", action="store_true")
    parser.add_argument("--timing", action="store_true")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    scenarios = args.scenarios.split(",")
    if not args.summary_only:
        run(scenarios, args.studies, args.workers)
    for scenario in scenarios:
        path = RESULTS / f"calibration_{scenario}.csv"
        rows = pd.read_csv(path).head(args.studies) if path.exists() else pd.DataFrame()
        if not rows.empty:
            print(summarise(scenario, rows))
    if args.timing:
        print(timing())


if __name__ == "__main__":
    main()
