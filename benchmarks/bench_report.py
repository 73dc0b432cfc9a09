"""Benchmark: a 100k-trial simulated study -> the full report. Target: < 30 s on 2 cores.

    .venv/bin/python benchmarks/bench_report.py [--participants 1000] [--datasets 25]
        [--screenshot docs/report.png]

Prints the seconds of each report part (load/score, sample, measures + figures, statistics
with each statistic within them, write) and the total; simulation time is printed apart
(not part of the report), and the report's CPU seconds beside its wall-clock seconds (on a
shared machine the CPU figure is the closer one to an idle machine's). Default: 1000
participants x 25 datasets x 4 encodings = 100,000 trials. ``--screenshot`` saves a full-page
screenshot of the report (Debian's chromium through playwright, as the browser tests do):
docs/report.png is made so.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from analysis.report import ReportConfig, write_report
from analysis.simulate import ModelObserver, SimulationDesign, make_design, simulate_trials

ENCODINGS = {"gan_face": 2.0, "chernoff": 1.6, "plot": 1.3, "table": 1.1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=1000)
    parser.add_argument("--datasets", type=int, default=25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="keep the report here")
    parser.add_argument("--screenshot", type=Path, default=None, help="save a PNG of the page")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    design = make_design(
        SimulationDesign(n_participants=args.participants, n_datasets=args.datasets,
                         encodings=tuple(ENCODINGS)),
        rng=rng,
    )  # fmt: skip
    observer = ModelObserver.simple(
        ENCODINGS, criterion=0.6, sensitivity_sd=0.3, rt_participant_sd=0.2, lapse_rate=0.02
    )
    trials = simulate_trials(design, observer, rng=rng)
    print(f"simulated {len(trials):,} trials in {time.perf_counter() - start:.1f} s")
    with tempfile.TemporaryDirectory() as scratch:
        out = args.out or Path(scratch) / "report"
        load = os.getloadavg()[0]
        start, cpu = time.perf_counter(), time.process_time()
        result = write_report(trials, out, ReportConfig())
        total, cpu = time.perf_counter() - start, time.process_time() - cpu
        if args.screenshot:
            screenshot(out / "report.html", args.screenshot)
    for part, seconds in result.seconds.items():  # statistic:<name> rows are in "statistics"
        label = f"  {part.removeprefix('statistic:')}" if part.startswith("statistic:") else part
        print(f"  {label:<22} {seconds:7.2f} s  {100 * seconds / total:5.1f} %")
    print(
        f"report total {total:.1f} s wall, {cpu:.1f} s CPU (target < 30 s on 2 cores); load "
        f"average {load:.1f} before, {os.getloadavg()[0]:.1f} after"
    )


def screenshot(page_file: Path, png: Path) -> None:
    """A 1280-px-wide full-page screenshot of ``page_file``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(page_file.resolve().as_uri())
        page.screenshot(path=str(png), full_page=True)
        browser.close()


if __name__ == "__main__":
    main()
