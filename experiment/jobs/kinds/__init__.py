"""Job kinds: name -> :class:`JobKind` (a title for pages and the function that runs).

A kind is one module with ``run(context, params) -> result`` plus one line here, like
every other variant in glyphlab. ``params`` and ``result`` are plain JSON values stored
on the job row; ``run`` reports progress through its :class:`~experiment.jobs.runner.JobContext`.
"""

from __future__ import annotations

from dataclasses import dataclass

from experiment.jobs.kinds import analysis_files, hand_axis, stimulus_set, studio_faces
from experiment.jobs.runner import JobFunction


@dataclass(frozen=True)
class JobKind:
    title: str
    run: JobFunction


JOB_KINDS: dict[str, JobKind] = {
    "stimulus_set": JobKind("Stimulus set", stimulus_set.run),
    "report": JobKind("Analysis report", analysis_files.report),
    "export": JobKind("Anonymised export", analysis_files.export),
    "hand_axis": JobKind("Axis made by hand", hand_axis.run),
    "studio_faces": JobKind("Faces for the studio's views", studio_faces.run),
}
