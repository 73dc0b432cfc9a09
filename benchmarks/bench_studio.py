"""Benchmark the studio's live preview; prints figures (the target lives here, not in tests).

    .venv/bin/python benchmarks/bench_studio.py [--backends mobilestylegan dcgan64]

For each generator: the first preview of 8 faces (network loaded, directions ready),
a changed mapping (new faces: the figure that counts), and the same mapping again (from
the draft cache). MobileStyleGAN's previews are drafts (``mobilestylegan_draft``); for
comparison the same 8 faces from its full network are timed too. Wall and CPU seconds
(all threads of this process) are printed with the load average: on a shared machine
wall time is inflated by the others, CPU time is not. Target: <= ~3 s wall for 8 faces
on 2 quiet cores.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

#: columns 0 and 3 of the synthetic data (x1 and y) -> these axes
AXES = {"mobilestylegan": ("age", "smile"), "dcgan64": ("pc01", "pc02")}


def timed(work) -> tuple[float, float, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["mobilestylegan", "dcgan64"])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from experiment.studio import data as studio_data
    from experiment.studio.synthetic import SyntheticParams, synthetic_csv

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    data_dir = Path(tempfile.mkdtemp())
    stored = studio_data.store_csv(
        data_dir, 1, synthetic_csv(SyntheticParams(rows=40)), name="bench", source="synthetic"
    )
    for backend in args.backends:
        _bench(backend, stored, data_dir, args.repeats)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


def _bench(backend: str, stored, data_dir: Path, repeats: int) -> None:
    from experiment.studio import build, render
    from experiment.studio.mapping import parse_mapping

    renderer = render.DraftRenderer()
    x_axis, y_axis = AXES.get(backend, ("pc01", "pc02"))

    def config(strength: float):
        values = {"encoding": "gan_face", "generator": backend, "axis_0": x_axis,
                  "axis_3": y_axis, "strength": str(strength)}  # fmt: skip
        mapping = parse_mapping(values, stored, data_dir)
        return build.stimulus_set_config(mapping, stored, data_dir)

    def preview(chosen):
        images = renderer.images(chosen, limit=render.PREVIEW_ROWS)
        return render.grid_png(images, range(len(images)))

    first = timed(lambda: preview(config(1.0)))
    changed = [timed(lambda k=k: preview(config(1.5 + k))) for k in range(repeats)]
    cached = timed(lambda: preview(config(1.5)))
    best = min(changed, key=lambda t: t[0])
    print(
        f"{backend}: 8-face preview, first {first[0]:.2f} s wall / {first[1]:.2f} s CPU "
        f"(loads the network); changed mapping best of {repeats} {best[0]:.2f} s wall "
        f"/ {best[1]:.2f} s CPU ({8 / best[0]:.1f} faces/s), all "
        f"{', '.join(f'{t[0]:.2f}' for t in changed)} s; cached {cached[0] * 1000:.0f} ms"
    )
    if backend == "mobilestylegan":
        _full_network(config(1.5))


def _full_network(config) -> None:
    """The same 8 faces from the full network (what a set renders), for comparison."""
    import numpy as np

    from stimuli.datasets import iter_datasets
    from stimuli.encodings import ENCODINGS, Rows

    encoding = ENCODINGS["gan_face"]()
    params = encoding.params(config.encoding_options("gan_face"))
    rows = next(iter_datasets(config)).rows
    rows = Rows(rows.values[:8], rows.columns, rows.target, rows.informative)
    draws = encoding.draw(rows, params, rng=np.random.default_rng([config.seed, 1, 0, 0]))
    encoding.render(rows, params, draws)  # loads
    wall, cpu, _ = timed(lambda: encoding.render(rows, params, draws))
    print(
        f"mobilestylegan full network, the same 8 faces: {wall:.2f} s wall / {cpu:.2f} s CPU "
        f"({8 / wall:.1f} faces/s)"
    )


if __name__ == "__main__":
    main()
