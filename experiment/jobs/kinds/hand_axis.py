"""Job: a named axis from the faces a researcher ticked (the truth-table method).

``params``: the generator ``backend``, the face bank's ``seed`` and size ``n``, the axis
``name`` and the ``ticked`` face numbers. The labels are written as the CSV the CLI
reads (``glyphlab axis``), so both go through ``manual_axes.make_axis``; the result
links the axis's strip (-3..+3 SD).
"""

from __future__ import annotations

import shutil
from typing import Any

from experiment.jobs.kinds.analysis_files import job_dir
from experiment.jobs.runner import JobContext


def run(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    from experiment.studio import manual_axes

    backend, name = params["backend"], manual_axes.check_name(params["name"], params["backend"])
    labels = manual_axes.labels_frame(name, int(params["n"]), set(params["ticked"]))
    home = job_dir(context.config.data_dir, context.job_id)
    home.mkdir(parents=True, exist_ok=True)
    labels.to_csv(home / "labels.csv", index=False)
    context.progress(0.2, "difference of means and calibration", force=True)
    (axis,) = manual_axes.make_axis(
        context.config.data_dir, backend, home / "labels.csv", seed=int(params["seed"])
    )
    shutil.copyfile(axis.with_suffix(".png"), home / "strip.png")
    context.log(f"axis {name!r} saved for {backend}: {axis}")
    return {"axis": name, "backend": backend, "files": {"strip": "strip.png"}}
