"""Neural faces: bare generator images/s vs our whole pipeline, in the same run.

    .venv/bin/python benchmarks/bench_faces.py [--faces 1024] [--batch 64] [--threads 2]
        [--size 256] [--format webp|png] [--device cpu|cuda] [--repeats 3]

*bare*: the generator network alone on ready latents (``generate_batched``), output left
in memory. *pipeline*: synthetic data rows -> standardised -> ``gan_face`` latents ->
generator -> batched bicubic upscale -> PIL -> image files on disk through the set
writer's ``MediaStore`` (thread pool; lossy WebP, gan_face's default, or PNG at zlib
level 1); *serial* renders then encodes each
batch, *overlapped* encodes batch k on the pool while torch renders batch k + 1. Each
stage is also timed alone so the print-out says where the time goes. Issue 6 target:
pipeline >= 90% of bare images/s on 2 CPU threads. Each figure is the best of
``--repeats`` runs (the machine is shared).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from stimuli.data.synthetic import make_regression
from stimuli.datasets import standardise
from stimuli.encodings import Rows
from stimuli.encodings.gan_face import GanFace
from stimuli.generators import generate_batched, to_display
from stimuli.media import IMAGE_ENCODERS, MediaStore


def best_times(repeats: int, stages: dict) -> dict[str, float]:
    """Best wall time per stage; stages alternate within each round so that load from
    other processes on a shared machine hits them alike rather than one stage's block."""
    best = dict.fromkeys(stages, float("inf"))
    for _ in range(repeats):
        for name, work in stages.items():
            start = time.perf_counter()
            work()
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=1024)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--format", choices=sorted(IMAGE_ENCODERS), default="webp")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    encoding = GanFace()
    options = {"size_px": args.size, "batch_size": args.batch, "base_seed": 0}
    params = encoding.params({**options, "image_format": args.format})
    encode = IMAGE_ENCODERS[args.format]
    generator = encoding.generator(params)
    if args.device != "cpu":
        generator.network.to(args.device)
        generator.device = args.device
    encoding.directions(params)  # computed (or read from the cache) before timing
    data = make_regression(
        n_samples=args.faces, n_features=4, n_informative=2, rng=np.random.default_rng(0)
    )
    raw = np.column_stack([data.X, data.y])
    columns = ("x1", "x2", "x3", "x4", "y")
    latents = np.random.default_rng(1).standard_normal((args.faces, generator.latent_dim))
    generate_batched(generator, latents[: args.batch], batch_size=args.batch)  # warm up

    def bare() -> None:
        generate_batched(generator, latents, batch_size=args.batch)

    images = generate_batched(generator, latents, batch_size=args.batch)
    pixels = to_display(images.cpu(), args.size)

    def upscale() -> None:
        for start in range(0, args.faces, args.batch):
            to_display(images[start : start + args.batch], args.size)

    with tempfile.TemporaryDirectory() as folder, MediaStore(Path(folder)) as media:
        from PIL import Image

        pil = [Image.fromarray(p) for p in pixels]

        def files() -> None:
            media.put_images(pil, args.format)

        def rows_and_base() -> tuple[Rows, np.ndarray]:
            rows = Rows(standardise(raw), columns)
            return rows, encoding.draw(rows, params, rng=np.random.default_rng(2))

        def chunks(rows: Rows):
            for start in range(0, args.faces, args.batch):
                yield Rows(rows.values[start : start + args.batch], columns)

        def pipeline_serial() -> None:
            """As the set writer does it today: render a batch, then encode it (blocking)."""
            rows, base = rows_and_base()
            for chunk in chunks(rows):
                media.put_images(encoding.render(chunk, params, base), args.format)

        def pipeline_overlapped() -> None:
            """Encoding of batch k on the pool while torch renders batch k + 1."""
            rows, base = rows_and_base()
            pending = [
                media.pool.map(encode, encoding.render(c, params, base)) for c in chunks(rows)
            ]
            for encoded in pending:
                for data in encoded:
                    media.put(data, args.format)

        stages = {
            "bare generator": bare,
            "  upscale alone": upscale,
            "  files to disk alone": files,
            "pipeline, serial": pipeline_serial,
            "pipeline, overlapped": pipeline_overlapped,
        }
        timings = best_times(args.repeats, stages)
        written = list((Path(folder) / "media").iterdir())
        megabytes, count = sum(p.stat().st_size for p in written) / 1e6, len(written)
    print(
        f"{args.faces} faces, batch {args.batch}, {args.threads} torch threads, "
        f"{args.size} px {args.format}, device {args.device}, best of {args.repeats}"
    )
    for name, seconds in timings.items():
        print(f"{name:22s} {seconds:7.2f} s  {args.faces / seconds:8.1f} faces/s")
    for name in ("pipeline, serial", "pipeline, overlapped"):
        ratio = timings["bare generator"] / timings[name]
        print(f"{name} / bare = {ratio:.1%} (target >= 90%)")
    print(f"{args.format} files written: {megabytes / count * 1e3:.1f} kB each")


if __name__ == "__main__":
    main()
