"""Neural faces: bare generator faces/s, our pipeline to files as a share of it, FLOPs.

    .venv/bin/python benchmarks/bench_faces.py [--faces 32] [--batch 8] [--threads 2]
        [--size 256] [--format webp|png] [--backend mobilestylegan|dcgan64]
        [--torch] [--check 100] [--device cpu|cuda] [--repeats 2]

*bare*: the generator alone on ready latents (``generate_batched``, 1024 px left in
memory). *pipeline*: synthetic rows -> standardised -> ``gan_face`` latents ->
generator -> shrink to ``--size`` -> PIL -> image files on disk through the set writer's
``MediaStore``; *serial* waits for each batch's files (``put_images``), *overlapped* is
what the set writer does (``put_images_later``: batch k is encoded and written on the
store's pool while batch k + 1 renders). The CPU seconds of each stage are printed too:
when encoding a face costs more CPU than generating it, no overlap reaches the goal on
a machine whose cores the bare generator already keeps busy.
Goal (issue 11): pipeline >= 90% of bare faces/s in the same run. ``--torch`` also times
the torch port; ``--check N`` compares torch and OpenVINO images on N latents (max abs,
goal < 1e-3); ``--device cuda`` runs the torch port on a GPU (batches 64 and 256 there).
FLOPs per face are counted on the torch port (``torch.utils.flop_counter``) and set
against a float32 matmul's measured FLOP/s on the same threads. Each figure is the best
of ``--repeats`` runs (the machine is shared).
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
from stimuli.generators import generate_batched, load_generator, sample_latents
from stimuli.media import IMAGE_ENCODERS, MediaStore


def best_times(repeats: int, stages: dict) -> tuple[dict[str, float], dict[str, float]]:
    """Best wall time and CPU time (this process, all threads) per stage; stages
    alternate within each round so load from other processes hits them alike."""
    best = dict.fromkeys(stages, float("inf"))
    cpu = dict.fromkeys(stages, float("inf"))
    for _ in range(repeats):
        for name, work in stages.items():
            start, cpu_start = time.perf_counter(), time.process_time()
            work()
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            best[name] = min(best[name], time.perf_counter() - start)
            cpu[name] = min(cpu[name], time.process_time() - cpu_start)
    return best, cpu


def flops_per_face(port) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    w = torch.as_tensor(port.mean_latent[None], dtype=torch.float32)
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        port.generate(w)
    return float(counter.get_total_flops())


def matmul_flops_per_s(n: int = 2048, repeats: int = 5) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best


def check_port(generator, port, n: int, batch: int) -> float:
    """Max abs difference between OpenVINO and torch images over ``n`` latents."""
    worst = 0.0
    latents = sample_latents(generator, n, rng=np.random.default_rng(5))
    for start in range(0, n, batch):
        w = latents[start : start + batch]
        expected = generate_batched(generator, w, batch_size=batch)
        with torch.inference_mode():
            actual = port.generate(torch.as_tensor(w, dtype=torch.float32)).cpu()
        worst = max(worst, float((actual - expected).abs().max()))
    return worst


def pipeline_stages(args, encoding, params, generator, latents, media) -> dict:
    data = make_regression(
        n_samples=args.faces, n_features=4, n_informative=2, rng=np.random.default_rng(0)
    )
    raw = np.column_stack([data.X, data.y])
    columns = ("x1", "x2", "x3", "x4", "y")

    def chunks():
        rows = Rows(standardise(raw), columns)
        base = encoding.draw(rows, params, rng=np.random.default_rng(2))
        for start in range(0, args.faces, args.batch):
            yield Rows(rows.values[start : start + args.batch], columns), base

    def bare() -> None:
        generate_batched(generator, latents, batch_size=args.batch)

    def serial() -> None:
        for rows, base in chunks():
            media.put_images(encoding.render(rows, params, base), args.format)

    def overlapped() -> None:
        pending = [
            media.put_images_later(encoding.render(rows, params, base), args.format)
            for rows, base in chunks()
        ]
        for names in pending:
            for name in names:
                name.result()

    return {"bare generator": bare, "pipeline, serial": serial, "pipeline, overlapped": overlapped}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=32)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--format", choices=sorted(IMAGE_ENCODERS), default="webp")
    parser.add_argument("--backend", default="mobilestylegan")
    parser.add_argument("--torch", action="store_true", help="also time the torch port")
    parser.add_argument("--check", type=int, default=0, help="latents to compare torch/OV on")
    parser.add_argument("--device", default="cpu", help="device of the torch port")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    encoding = GanFace()
    options = {"backend": args.backend, "size_px": args.size, "batch_size": args.batch}
    params = encoding.params({**options, "image_format": args.format, "base_seed": 0})
    generator = encoding.generator(params)
    encoding.directions(params)  # shipped or cached, before timing
    latents = sample_latents(generator, args.faces, rng=np.random.default_rng(1))
    generate_batched(generator, latents[: args.batch], batch_size=args.batch)  # warm up
    with tempfile.TemporaryDirectory() as folder, MediaStore(Path(folder)) as media:
        stages = pipeline_stages(args, encoding, params, generator, latents, media)
        port = add_torch_stages(args, generator, stages)
        timings, cpu = best_times(args.repeats, stages)
    report(args, timings, cpu, generator, port)


def add_torch_stages(args, generator, stages: dict):
    """The torch port's bare timing (GPU: batches 64 and 256), if asked for."""
    port = None
    if args.torch or args.check or args.device != "cpu":
        port = load_generator("mobilestylegan_torch", device=args.device)
        batches = (64, 256) if args.device != "cpu" else (args.batch,)
        for size in batches:
            many = sample_latents(generator, max(size, args.faces), rng=np.random.default_rng(3))

            def torch_bare(many=many, size=size) -> None:
                with torch.inference_mode():
                    for start in range(0, len(many), size):
                        port.generate(torch.as_tensor(many[start : start + size]))

            stages[f"torch port, batch {size}"] = torch_bare
    return port


def report(args, timings: dict, cpu: dict, generator, port) -> None:
    print(
        f"{args.backend}: {args.faces} faces, batch {args.batch}, {args.threads} threads, "
        f"{args.size} px {args.format}, torch port on {args.device}, best of {args.repeats}"
    )
    for name, seconds in timings.items():
        n = args.faces if not name.startswith("torch") else max(args.faces, int(name.split()[-1]))
        print(
            f"{name:24s} {seconds:8.2f} s  {n / seconds:8.3f} faces/s  "
            f"CPU {cpu[name] / n * 1e3:8.2f} ms a face"
        )
    for name in ("pipeline, serial", "pipeline, overlapped"):
        ratio = timings["bare generator"] / timings[name]
        print(f"{name} / bare = {ratio:.1%} (goal >= 90%)")
    if port is not None:
        flops = flops_per_face(port)
        peak = matmul_flops_per_s()
        bare_s = timings["bare generator"] / args.faces
        print(
            f"FLOPs per face {flops / 1e9:.1f} GFLOP; float32 matmul on {args.threads} threads "
            f"{peak / 1e9:.1f} GFLOP/s -> {flops / peak:.2f} s a face at matmul speed, "
            f"OpenVINO takes {bare_s:.2f} s ({flops / bare_s / peak:.0%} of matmul speed)"
        )
    if args.check:
        worst = check_port(generator, port, args.check, args.batch)
        print(f"torch port vs OpenVINO on {args.check} latents: max abs {worst:.2e} (goal < 1e-3)")


if __name__ == "__main__":
    main()
