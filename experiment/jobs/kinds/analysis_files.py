"""Jobs: a study's analysis report and its anonymised (Psych-DS) export, from the study page.

Both read the study's trial table from the database the site wrote and build their
files in a temporary folder inside the job's own folder (``<data dir>/jobs/<job id>/``),
renamed into place when complete; the export is also zipped for download. The study
page links to what the job made (``result["files"]``), so an analyst needs no shell.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from experiment.jobs.runner import JobContext
from glyphlab.errors import GlyphlabError

JOBS_SUBDIR = "jobs"
#: k of the export's k-anonymity check (analysis.export's default)
EXPORT_K = 5


def job_dir(data_dir: Path, job_id: int) -> Path:
    """Where job ``job_id`` keeps its files (served by the job's download route)."""
    return data_dir / JOBS_SUBDIR / str(job_id)


def _study_table(context: JobContext, study_id: int):
    from experiment.models import Study
    from experiment.services.trial_table import trial_table

    with context.session() as session:
        study = session.get(Study, study_id)
        if study is None:
            raise GlyphlabError(f"study {study_id} no longer exists")
        table = trial_table(session, study.id)
        title, folder = study.title, study.stimulus_set.folder
    if table.empty:
        raise GlyphlabError(f"study “{title}” has no answered trials yet; nothing to analyse")
    context.log(f"{len(table)} trials of {table['participant'].nunique()} participants")
    return table, title, Path(folder)


def _build(context: JobContext, name: str, make) -> Path:
    """Run ``make(folder)`` in a temporary folder, then rename it to ``<job dir>/<name>``."""
    home = job_dir(context.config.data_dir, context.job_id)
    home.mkdir(parents=True, exist_ok=True)
    final = home / name
    shutil.rmtree(final, ignore_errors=True)  # an earlier attempt's finished copy
    work = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=home))
    try:
        make(work)
        work.rename(final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return final


def report(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """``params``: ``{"study_id"}``; result: the report's HTML file."""
    from analysis.report import ReportConfig, write_report

    table, title, set_folder = _study_table(context, int(params["study_id"]))
    context.progress(0.1, "analysing the trials", force=True)
    config = ReportConfig(
        title=f"glyphlab: {title}", stimulus_set=set_folder if set_folder.is_dir() else None
    )
    folder = _build(context, "report", lambda out: write_report(table, out, config))
    return {"files": {"report": str((folder / "report.html").relative_to(folder.parent))}}


def export(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """``params``: ``{"study_id"}``; result: a zip of the anonymised Psych-DS folder."""
    from analysis.export import ExportConfig, export_psychds

    table, title, _ = _study_table(context, int(params["study_id"]))
    context.progress(0.1, "anonymising the trials", force=True)

    def make(out: Path) -> None:
        written = export_psychds(table, out / "psychds", ExportConfig(k=EXPORT_K, name=title))
        shutil.make_archive(str(out / "export"), "zip", root_dir=written)

    folder = _build(context, "export", make)
    return {"files": {"export": str((folder / "export.zip").relative_to(folder.parent))}}
