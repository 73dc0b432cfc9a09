"""What the dashboard does to the database, without the request (Indico's operations).

The study functions take the researcher's id and check ownership themselves, so a view
cannot forget to: another researcher's study is "not found", exactly like a missing one.
Stimulus sets are files on the server, shared by all of its researchers.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from experiment.jobs.kinds.stimulus_set import STIMULI_SUBDIR
from experiment.models import StimulusSet, Study
from experiment.services.studies import stimulus_set_row
from experiment.stimulus_sets import load as load_stimulus_set
from glyphlab.errors import GlyphlabError


class DashboardError(GlyphlabError):
    """A researcher asked for something the dashboard cannot do."""


def researcher_studies(session: Session, researcher_id: int) -> list[Study]:
    """The researcher's own studies, newest first."""
    return list(
        session.scalars(
            sa.select(Study)
            .where(Study.researcher_id == researcher_id)
            .order_by(Study.created_at.desc(), Study.id.desc())
        )
    )


def own_study(session: Session, researcher_id: int, study_id: int) -> Study | None:
    """The study if it exists and belongs to the researcher, else ``None``."""
    study = session.get(Study, study_id)
    return study if study is not None and study.researcher_id == researcher_id else None


def stimulus_sets(session: Session) -> list[StimulusSet]:
    """Every registered stimulus set (shared by all researchers of the site)."""
    return list(session.scalars(sa.select(StimulusSet).order_by(StimulusSet.created_at.desc())))


def resolve_set_folder(data_dir: Path, folder: str) -> Path:
    """``folder`` (relative to, or absolute inside, the data folder) as a checked path.

    Only folders inside the data folder are accepted: the site serves media from the
    folder, so registering ``/etc`` must not be possible.
    """
    root = data_dir.resolve()
    candidate = Path(folder.strip())
    path = (candidate if candidate.is_absolute() else root / candidate).resolve()
    if not path.is_relative_to(root):
        raise DashboardError(
            f"{folder!r} is outside the site's data folder {root}; copy the stimulus set "
            f"into it (e.g. {root / STIMULI_SUBDIR}) and register that path"
        )
    if not (path / "manifest.json").is_file():
        raise DashboardError(
            f"{path} holds no manifest.json; give the folder of one stimulus set "
            "(made by `glyphlab stimuli generate`)"
        )
    return path


def register_stimulus_set(session: Session, *, data_dir: Path, folder: str) -> StimulusSet:
    """Record the stimulus set in ``folder`` (checked by loading it); a set already
    registered (same ``set_id``) is returned as it is, so registering twice is harmless."""
    stimulus_set = stimulus_set_row(
        session, load_stimulus_set(resolve_set_folder(data_dir, folder))
    )
    session.flush()
    return stimulus_set


def start_demo_set(session: Session, queue, *, researcher_id: int):
    """Queue the small demo stimulus set as a job (torch runs in the worker, not here)."""
    import stimuli
    from experiment.jobs import submit

    config = stimuli.demo_config()
    return submit(
        session,
        queue,
        kind="stimulus_set",
        params={"config": config.to_dict()},
        researcher_id=researcher_id,
        dedupe_key=config.set_id,
    )
