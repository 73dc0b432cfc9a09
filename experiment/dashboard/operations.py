"""What the dashboard does to the database, without the request (Indico's operations).

The study functions take the researcher's id and check ownership themselves, so a view
cannot forget to: another researcher's study is "not found", exactly like a missing one.
Stimulus sets are files on the server, shared by all of its researchers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from experiment.design import Design
from experiment.jobs.kinds.stimulus_set import STIMULI_SUBDIR
from experiment.models import StimulusSet, Study
from experiment.services.studies import stimulus_set_row, study_design
from experiment.stimulus_sets import LoadedStimulusSet, StimulusSetCache
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


@dataclass(frozen=True)
class SetSummary:
    """A registered set as researchers know it: the name in its config and its counts."""

    row: StimulusSet
    name: str
    counts: str
    encodings: list[str]

    @property
    def label(self) -> str:
        return f"{self.name} ({self.row.set_id}) — {self.counts}"


def set_summary(cache: StimulusSetCache, row: StimulusSet) -> SetSummary:
    """Name and counts of a registered set (main datasets with and without an outlier,
    practice, attention checks), or a note when its folder is gone."""
    try:
        loaded = cache.get(row.folder)
    except (GlyphlabError, OSError):
        return SetSummary(row, row.set_id, "folder missing or unreadable", [])
    roles: dict[str, list[int]] = {}
    for dataset_id, info in loaded.datasets.items():
        roles.setdefault(info.get("role", "main"), []).append(len(loaded.true_outliers(dataset_id)))
    main = roles.get("main", [])
    absent = sum(1 for n in main if n == 0)
    counts = (
        f"{len(main)} main datasets ({absent} without an outlier), "
        f"{len(roles.get('practice', []))} practice, "
        f"{len(roles.get('attention_check', []))} attention check, "
        f"{len(loaded.stimuli)} stimuli"
    )
    name = str(loaded.manifest.get("config", {}).get("name") or loaded.set_id)
    encodings = sorted({s["encoding"] for s in loaded.stimuli.values()})
    return SetSummary(row, name, counts, encodings)


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


@dataclass(frozen=True)
class DesignRow:
    """One Latin-square row: the block order and each encoding's main datasets
    (dataset id, whether it has an outlier)."""

    row: int
    block_order: list[str]
    datasets: dict[str, list[tuple[str, bool]]]


@dataclass(frozen=True)
class DesignSummary:
    design: Design
    rows: list[DesignRow]

    @property
    def target_absent(self) -> int:
        return sum(slot.target_present is False for group in self.design.groups for slot in group)


def design_summary(study: Study, loaded: LoadedStimulusSet) -> DesignSummary:
    """What the study page shows of the design: every row of the square."""
    found = study_design(study, loaded)[1]
    rows = [
        DesignRow(
            row=row,
            block_order=found.block_order(row),
            datasets={
                encoding: [(s.dataset_id, s.target_present) for s in found.group_of(encoding, row)]
                for encoding in found.encodings
            },
        )
        for row in range(found.rows)
    ]
    return DesignSummary(found, rows)
