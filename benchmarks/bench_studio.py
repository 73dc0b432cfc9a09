"""Benchmark the studio's live preview; prints figures (the target lives here, not in tests).

    .venv/bin/python benchmarks/bench_studio.py [--backends dcgan64 mobilestylegan]

For each generator: the first preview of 8 faces (network loaded, directions ready),
a changed mapping (new faces), and the same mapping again (from the draft cache), best
of 3 where it repeats. Target: <= ~3 s for 8 faces on 2 cores with a draft generator.
Figures on a shared machine are taken under contention: the load average is printed.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["dcgan64"])
    args = parser.parse_args()
    from experiment.studio import build, render
    from experiment.studio import data as studio_data
    from experiment.studio.mapping import parse_mapping
    from experiment.studio.synthetic import SyntheticParams, synthetic_csv

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    data_dir = Path(tempfile.mkdtemp())
    stored = studio_data.store_csv(
        data_dir, 1, synthetic_csv(SyntheticParams(rows=40)), name="bench", source="synthetic"
    )
    for backend in args.backends:
        renderer = render.DraftRenderer()
        times = {}
        for label, strength in (("first", "1"), ("changed", "2"), ("cached", "2")):
            values = {"encoding": "gan_face", "generator": backend, "axis_0": "pc01",
                      "axis_3": "pc02", "strength": strength}  # fmt: skip
            mapping = parse_mapping(values, stored, data_dir)
            config = build.stimulus_set_config(mapping, stored, data_dir)
            start = time.perf_counter()
            images = renderer.images(config, limit=render.PREVIEW_ROWS)
            render.grid_png(images, range(len(images)))
            times[label] = time.perf_counter() - start
        print(
            f"{backend}: 8-face preview first {times['first']:.2f} s (includes loading), "
            f"changed mapping {times['changed']:.2f} s, cached {times['cached'] * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
