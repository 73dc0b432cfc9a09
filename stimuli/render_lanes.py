"""Where the set writer renders its stimuli: one per core at once where the encoding allows.

A small network wastes its cores when one batch at a time runs on all of them: the 64 px
DCGAN spends a sixth to a fifth of its CPU at its own threads' barriers (4.0-4.2 ms a
face on one torch thread, 4.8-5.4 ms on two, 2 cores), and the spinning crowds out the
encoding and writing of the faces already made. One stimulus per core, each rendered
with torch on a single thread, keeps every core on useful work: the set writer's DCGAN
grids went from 189-256 to 275-324 faces/s, 8.3 to 6.4 ms of CPU a face (2 cores,
``benchmarks/bench_faces.py``). Encodings that are not
thread-safe (``Encoding.renders_concurrently``) render one at a time, in order, on a
lane of their own.

Results keep the submission order and every stimulus has its own random stream, so the
files and the manifest are the same however the threads interleave and however many
cores there are.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


def usable_cores() -> int:
    """The cores this process may run on (its affinity, e.g. under ``taskset``)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class RenderLanes:
    """Run renders on a concurrent lane (``workers`` threads) or a one-at-a-time lane.

    While the concurrent lane exists torch runs on one thread (the process-wide setting,
    restored on exit), so create it only after the generators are loaded: a runtime that
    reads the thread count when it loads (OpenVINO) would otherwise keep one thread.
    Leaving with an error cancels the renders not yet started.
    """

    def __init__(self, *, concurrent: bool, workers: int | None = None) -> None:
        self._concurrent = (
            ThreadPoolExecutor(workers or usable_cores(), thread_name_prefix="render")
            if concurrent
            else None
        )
        self._serial = ThreadPoolExecutor(1, thread_name_prefix="render-serial")
        self._torch_threads: int | None = None

    def __enter__(self) -> RenderLanes:
        if self._concurrent is not None:
            import torch

            self._torch_threads = torch.get_num_threads()
            torch.set_num_threads(1)
        return self

    def __exit__(self, exc_type: object, *exc_info: object) -> None:
        failed = exc_type is not None
        for lane in (self._concurrent, self._serial):
            if lane is not None:
                lane.shutdown(cancel_futures=failed)
        if self._torch_threads is not None:
            import torch

            torch.set_num_threads(self._torch_threads)

    def submit(self, concurrent: bool, work: Callable[..., Any], *args: Any) -> Future[Any]:
        """Run ``work(*args)`` on the concurrent lane if ``concurrent`` (and it exists)."""
        lane = self._concurrent if concurrent and self._concurrent is not None else self._serial
        return lane.submit(work, *args)
