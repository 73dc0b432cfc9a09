"""Statistics-core benchmark: a simulated 100k-trial study through loading, measures, models.

    .venv/bin/python benchmarks/bench_analysis.py                       # 250 x 100 x 4
    .venv/bin/python benchmarks/bench_analysis.py --participants 100 --datasets 25

Prints wall-clock and CPU seconds per stage (trial-table validation and scoring, per-cell
measures, the crossed accuracy GLMM on binomial cell counts, its contrasts, bootstrap d'
differences, the log-RT LMM, the GEE) so the report's < 30 s budget on 2 cores can be
checked and the time located. Run it on an idle machine for figures you quote; say so if it was not.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from analysis.contrasts import dprime_differences, encoding_contrasts
from analysis.measures import compute_measures, encoding_summary
from analysis.models.study import (
    aggregate_cells,
    fit_accuracy_gee,
    fit_accuracy_glmm,
    fit_log_rt_lmm,
)
from analysis.simulate import ModelObserver, SimulationDesign, make_design, simulate_trials
from analysis.trials import load_trials


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=250)
    parser.add_argument("--datasets", type=int, default=100)
    parser.add_argument("--mode", default="mark_outliers")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--skip-gee", action="store_true", help="the slowest, optional check")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    design = SimulationDesign(
        n_participants=args.participants, n_datasets=args.datasets, response_mode=args.mode
    )
    observer = ModelObserver.simple(
        {"gan_face": 1.6, "chernoff": 1.3, "table": 1.0, "plot": 1.1}, sensitivity_sd=0.3
    )
    start = time.perf_counter()
    frame = simulate_trials(make_design(design, rng=rng), observer, rng=rng)
    print(f"simulated {len(frame):,} trials in {time.perf_counter() - start:.1f} s")
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    timings: dict[str, tuple[float, float]] = {}
    results: dict[str, object] = {}

    def stage(name: str, work):
        began, cpu = time.perf_counter(), time.process_time()
        results[name] = work()
        timings[name] = (time.perf_counter() - began, time.process_time() - cpu)

    stage("load + validate + score", lambda: load_trials(frame))
    table = results["load + validate + score"]
    stage("measures per cell", lambda: compute_measures(table))
    stage("encoding summary", lambda: encoding_summary(results["measures per cell"]))
    cells = aggregate_cells(table.trials)
    stage("accuracy GLMM (crossed)", lambda: fit_accuracy_glmm(table))
    stage("contrasts (Wald, Holm)", lambda: encoding_contrasts(results["accuracy GLMM (crossed)"]))
    stage(
        "d' differences (2000 boot)",
        lambda: dprime_differences(results["measures per cell"], rng=rng),
    )
    stage("log-RT LMM", lambda: fit_log_rt_lmm(table))
    if not args.skip_gee:
        stage("GEE (bias-reduced)", lambda: fit_accuracy_gee(table))
    glmm = results["accuracy GLMM (crossed)"]
    print(f"GLMM: {len(cells):,} binomial cells, random SDs {glmm.random_sd}, {glmm.message}")
    # CPU seconds of this process (all its threads): on a shared, loaded machine they are
    # closer to what an idle 2-core machine would take than the wall-clock seconds.
    print(f"  {'stage':<28} {'wall s':>8} {'cpu s':>8}")
    for name, (wall, cpu) in timings.items():
        print(f"  {name:<28} {wall:8.2f} {cpu:8.2f}")
    walls, cpus = zip(*timings.values(), strict=True)
    print(f"  {'total':<28} {sum(walls):8.2f} {sum(cpus):8.2f}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
