"""Benchmark the stimulus pipeline; prints figures (speed targets live here, not in tests).

    .venv/bin/python benchmarks/bench_stimuli.py [--datasets 40] [--items 24] [--no-gan]

1. Chernoff faces per second (render only, 128 px, 2x supersampled), best of 3.
   Target: >= 1,000 faces/s.
2. Wall time to generate a set of N datasets x every runnable encoding (gan_face,
   chernoff, table, plot) x 24 items as grids, written to a temporary folder.
   Target: < 60 s for 40 datasets x 4 encodings on 2 cores.
Figures on a shared machine are taken under contention: the load average is printed.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np


def chernoff_faces_per_second(n: int = 2000) -> float:
    from stimuli.encodings import ENCODINGS, Rows

    encoding = ENCODINGS["chernoff"]()
    rng = np.random.default_rng(0)
    rows = Rows(rng.standard_normal((n, 5)), ("x1", "x2", "x3", "x4", "y"))
    params = encoding.params({})
    draws = encoding.draw(rows, params, rng=rng)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        encoding.render(rows, params, draws)
        best = min(best, time.perf_counter() - start)
    return n / best


def set_seconds(n_datasets: int, n_items: int, encodings: list[str]) -> tuple[float, int]:
    from stimuli import StimulusSetConfig, generate_stimulus_set, load_stimulus_set

    config = StimulusSetConfig.from_dict(
        {
            "seed": 1,
            "datasets": [{"count": n_datasets, "n_items": n_items, "n_outliers": 1}],
            "conditions": [{"encoding": name, "layout": "grid"} for name in encodings],
        }
    )
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        path = generate_stimulus_set(config, folder, progress=False)
        seconds = time.perf_counter() - start
        return seconds, len(load_stimulus_set(path).manifest["stimuli"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=40)
    parser.add_argument("--items", type=int, default=24)
    parser.add_argument("--no-gan", action="store_true", help="leave gan_face out")
    args = parser.parse_args()
    from stimuli.encodings import ENCODINGS

    print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores shared with the team)")
    rate = chernoff_faces_per_second()
    print(f"chernoff: {rate:,.0f} faces/s (target >= 1,000)")
    runnable = [n for n in ("gan_face", "chernoff", "table", "plot")
                if n in ENCODINGS and ENCODINGS[n].unavailable_reason() is None]  # fmt: skip
    if args.no_gan and "gan_face" in runnable:
        runnable.remove("gan_face")
    if "gan_face" not in runnable:
        print("gan_face: not included (unavailable here or --no-gan)")
    seconds, n_stimuli = set_seconds(args.datasets, args.items, runnable)
    print(
        f"set: {args.datasets} datasets x {len(runnable)} encodings ({', '.join(runnable)}) x "
        f"{args.items} items = {n_stimuli} stimuli in {seconds:.1f} s (target < 60 s)"
    )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
