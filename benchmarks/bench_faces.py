"""Neural faces: bare generator faces/s, our pipeline to files as a share of it, FLOPs.

    .venv/bin/python benchmarks/bench_faces.py [--faces 32] [--batch 8] [--threads 2]
        [--size 256] [--format jpeg|webp|png] [--backend mobilestylegan|dcgan64]
        [--rounds 3] [--workers N] [--torch] [--check 100] [--device cpu|cuda]

*bare*: the generator alone on ready latents (``generate_batched``, its own size left in
memory). *pipeline*: synthetic rows -> standardised -> ``gan_face`` latents -> generator
-> shrink/enlarge to ``--size`` -> uint8 -> PIL -> image files on disk through the set
writer's ``MediaStore``; *serial* renders one batch at a time and waits for its files
(``put_images``), *overlapped* is what the set writer does for a grid's items: batches
render on its ``RenderLanes`` (one per core, torch on one thread each, where the
generator allows it; else one at a time) while earlier ones are encoded and written on
the store's pool (``put_images_later``). *set writer*
is ``generate_stimulus_set`` itself: ``faces / batch`` datasets of ``batch`` faces as
``gan_face`` grids, so it also writes each grid's composite sheet, the data CSVs and the
manifest.

Stages run in rounds, in the same process, alternating order (ABBA...), so load from
other processes falls on them alike; each figure is the median over ``--rounds``, the
shares are medians of each round's own ratio, and the load average is printed with
them, and beside each share the bare stage's CPU per face over the stage's (what the
share would be on cores that both kept busy; steadier than wall time on a loaded
machine, though a bare generator whose threads spin while they wait is charged for the
spinning). A profile then gives the CPU seconds per face of each step of the pipeline on
one thread (generation: the bare stage on ``--threads``, and on one torch thread as the
lanes run it): on cores that every step keeps busy the pipeline cannot run faster than
bare generation's CPU over the lane's generation plus the steps after it, however the
work overlaps; spare cores (``--threads`` below the core count) are what overlap can use.
Where the generator renders concurrently (the DCGAN) *bare, on lanes* is the generator
alone run the way the set writer runs it (one batch per core, one torch thread each),
and the shares are printed against it too: the generator's own best, not only its
usual call. Goal (issue 16): pipeline >= 90% of bare faces/s in the same run.
``--torch`` also times the torch port; ``--check N`` compares torch and OpenVINO images
on N latents (max abs, goal < 1e-3); ``--device cuda`` runs the torch port on a GPU
(batches 64 and 256 there).
FLOPs per face are counted on the torch port (``torch.utils.flop_counter``) and set
against a float32 matmul's measured FLOP/s on the same threads.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from stimuli import StimulusSetConfig, generate_stimulus_set
from stimuli.data.synthetic import make_regression
from stimuli.datasets import standardise
from stimuli.encodings import Rows
from stimuli.encodings.gan_face import GanFace
from stimuli.generate import composite_format
from stimuli.generators import generate_batched, load_generator, sample_latents, to_display
from stimuli.generators.base import resize_images, torch_threads
from stimuli.layouts.grid import tile
from stimuli.media import STILL_FORMATS, MediaStore
from stimuli.render_lanes import RenderLanes


def rounds(n_rounds: int, stages: dict) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall and CPU seconds (this process, all threads) of every stage in every round;
    the order alternates each round (ABBA) so a drift in the machine's load hits all
    stages alike."""
    wall: dict[str, list[float]] = {name: [] for name in stages}
    cpu: dict[str, list[float]] = {name: [] for name in stages}
    names = list(stages)
    for r in range(n_rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            start, cpu_start = time.perf_counter(), time.process_time()
            stages[name]()
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - cpu_start)
        print(f"  round {r + 1}/{n_rounds} done, load average {os.getloadavg()[0]:.1f}")
    return wall, cpu


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


def pipeline_stages(args, encoding, params, generator, latents, media, folder) -> dict:
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

    def bare_on_lanes() -> None:
        with RenderLanes(concurrent=True) as lanes:
            batches = [
                lanes.submit(True, generate_batched, generator, latents[start : start + args.batch])
                for start in range(0, args.faces, args.batch)
            ]
            for batch in batches:
                batch.result()

    def serial() -> None:
        for rows, base in chunks():
            media.put_images(encoding.render(rows, params, base), args.format)

    def rendered_later(rows, base):
        return media.put_images_later(encoding.render(rows, params, base), args.format)

    def overlapped() -> None:
        concurrent = encoding.renders_concurrently(params)
        with RenderLanes(concurrent=concurrent) as lanes:
            renders = [lanes.submit(concurrent, rendered_later, *chunk) for chunk in chunks()]
            for render in renders:
                for name in render.result():
                    name.result()

    config = set_config(args)
    runs = iter(range(1_000_000))

    def set_writer() -> None:
        generate_stimulus_set(config, folder / f"sets-{next(runs)}", progress=False)

    lanes = {"bare, on lanes": bare_on_lanes} if encoding.renders_concurrently(params) else {}
    return {
        "bare generator": bare,
        **lanes,
        "pipeline, serial": serial,
        "pipeline, overlapped": overlapped,
        "set writer": set_writer,
    }


def set_config(args) -> StimulusSetConfig:
    """``faces / batch`` datasets of ``batch`` faces each, drawn as ``gan_face`` grids."""
    options = {
        "backend": args.backend,
        "size_px": args.size,
        "batch_size": args.batch,
        "image_format": args.format,
    }
    return StimulusSetConfig.from_dict(
        {
            "name": "bench_faces",
            "seed": 0,
            "datasets": [
                {"count": max(1, args.faces // args.batch), "n_items": args.batch, "n_features": 4}
            ],
            "conditions": [{"encoding": "gan_face", "layout": "grid"}],
            "encoding_params": {"gan_face": options},
        }
    )


def profile(args, encoding, params, latents, media, generation_cpu_s: float) -> dict[str, float]:
    """CPU seconds per face of each step after generation, one batch at a time on this
    thread; the grid composite in the format the set writer stores it in. Generation:
    the bare generator's median CPU per face, and the CPU per face as the set writer's
    lanes generate (on one torch thread where the generator renders concurrently)."""
    generator = encoding.generator(params)
    lane_threads = 1 if encoding.renders_concurrently(params) else torch.get_num_threads()
    sample = latents[: max(args.batch, min(len(latents), 256 if args.size <= 256 else 64))]
    steps = dict.fromkeys(
        (
            "resize to size (shrink)",
            "to uint8 (+ enlarge)",
            "PIL image",
            f"{args.format} encode",
            "hash + write",
            "grid composite",
        ),
        0.0,
    )
    still = STILL_FORMATS[args.format]

    def timed(step, work, *inputs):
        start = time.process_time()
        out = work(*inputs)
        steps[step] += time.process_time() - start
        return out

    def pil_images(display):
        return [Image.fromarray(face) for face in display]

    def encoded(images):
        return [still.encode(image) for image in images]

    def written(data):
        return [media.put(one, still.extension) for one in data]

    def composite(images):
        sheet = tile(images)
        return hashlib.sha256(
            STILL_FORMATS[composite_format(encoding, params, sheet)].encode(sheet)
        )

    lane_generation = 0.0
    for start in range(0, len(sample), args.batch):
        chunk = sample[start : start + args.batch]
        with torch_threads(lane_threads):
            cpu_start = time.process_time()
            native = generate_batched(generator, chunk, batch_size=args.batch)
            lane_generation += time.process_time() - cpu_start
        with torch.inference_mode():
            shrunk = timed("resize to size (shrink)", resize_images, native, args.size)
        display = timed("to uint8 (+ enlarge)", to_display, shrunk, args.size)
        images = timed("PIL image", pil_images, display)
        timed("hash + write", written, timed(f"{args.format} encode", encoded, images))
        timed("grid composite", composite, images)
    per_face = {
        "generation": generation_cpu_s,
        f"generation, lanes ({lane_threads} thr.)": lane_generation / len(sample),
    }
    per_face.update({step: seconds / len(sample) for step, seconds in steps.items()})
    return per_face


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=32)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--format", choices=sorted(STILL_FORMATS), default="jpeg")
    parser.add_argument("--backend", default="mobilestylegan")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every stage (median)")
    parser.add_argument("--workers", type=int, default=None, help="media pool (default: store's)")
    parser.add_argument("--torch", action="store_true", help="also time the torch port")
    parser.add_argument("--check", type=int, default=0, help="latents to compare torch/OV on")
    parser.add_argument("--device", default="cpu", help="device of the torch port")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    encoding = GanFace()
    options = {"backend": args.backend, "size_px": args.size, "batch_size": args.batch}
    params = encoding.params({**options, "image_format": args.format, "base_seed": 0})
    generator = encoding.generator(params)
    encoding.directions(params)  # shipped or cached, before timing
    set_config(args)  # the set writer's own encoding options are valid
    latents = sample_latents(generator, args.faces, rng=np.random.default_rng(1))
    generate_batched(generator, latents[: args.batch], batch_size=args.batch)  # warm up
    load_before = os.getloadavg()
    with (
        tempfile.TemporaryDirectory() as folder,
        MediaStore(Path(folder), workers=args.workers) as media,
    ):
        stages = pipeline_stages(args, encoding, params, generator, latents, media, Path(folder))
        port = add_torch_stages(args, generator, stages)
        wall, cpu = rounds(args.rounds, stages)
        load_after = os.getloadavg()
        generation_cpu_s = statistics.median(cpu["bare generator"]) / args.faces
        steps = profile(args, encoding, params, latents, media, generation_cpu_s)
    report(args, wall, cpu, steps, (load_before, load_after), generator, port, media)


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


def report(args, wall: dict, cpu: dict, steps: dict, loads, generator, port, media) -> None:
    before, after = loads
    print(
        f"{args.backend}: {args.faces} faces, batch {args.batch}, {args.threads} torch threads, "
        f"media pool {media.pool._max_workers} threads, {args.size} px {args.format}, torch "
        f"port on {args.device}; median of {args.rounds} rounds on {os.cpu_count()} cores, "
        f"load average {before[0]:.1f} before, {after[0]:.1f} after (1/5/15 min after: "
        f"{after[0]:.1f}/{after[1]:.1f}/{after[2]:.1f})"
    )
    for name, seconds in wall.items():
        n = args.faces if not name.startswith("torch") else max(args.faces, int(name.split()[-1]))
        if name == "set writer":
            n = max(1, args.faces // args.batch) * args.batch
        print(
            f"{name:24s} {statistics.median(seconds):8.2f} s  "
            f"{n / statistics.median(seconds):8.3f} faces/s  "
            f"CPU {statistics.median(cpu[name]) / n * 1e3:8.2f} ms a face  "
            f"(rounds: {', '.join(f'{n / s:.1f}' for s in seconds)} faces/s)"
        )
    for reference in ("bare generator", "bare, on lanes"):
        if reference not in wall:
            continue
        bare, label = wall[reference], "bare" if reference == "bare generator" else reference
        for name in ("pipeline, serial", "pipeline, overlapped", "set writer"):
            n = args.faces if name != "set writer" else (args.faces // args.batch or 1) * args.batch
            shares = [(n / s) / (args.faces / b) for s, b in zip(wall[name], bare, strict=True)]
            cpu_share = (statistics.median(cpu[reference]) / args.faces) / (
                statistics.median(cpu[name]) / n
            )
            print(
                f"{name} / {label} = {statistics.median(shares):.1%} (goal >= 90%; rounds: "
                f"{', '.join(f'{share:.0%}' for share in shares)}); CPU a face, {label} / "
                f"this: {cpu_share:.1%}"
            )
    print("CPU ms per face, by step (one thread; generation: the bare stage on all its threads)")
    for step, seconds in steps.items():
        print(f"  {step:28s} {seconds * 1e3:8.3f}")
    bare, lanes, *after = steps.values()
    items = sum(after) - steps["grid composite"]
    for label, extra in (("items only", items), ("with the grid composite", sum(after))):
        print(
            f"  best share when every step competes for the same cores ({label}): "
            f"bare generation / (lanes' generation + the rest) = {bare / (lanes + extra):.1%}"
        )
    if port is not None:
        flops = flops_per_face(port)
        peak = matmul_flops_per_s()
        bare_s = statistics.median(wall["bare generator"]) / args.faces
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
