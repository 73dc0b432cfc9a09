"""A study's life cycle after creation: edit and delete drafts, duplicate, previews.

Only a draft can be edited or deleted: once a study has been open, participants' plans
were made from its settings, so changing them would mix two designs in one data set
(duplicate it instead). Preview participants are the researcher trying the study; they
may be deleted at any time, and editing a draft deletes them (their planned trials
belong to the old settings).
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from experiment.models import Participant, Researcher, Study, StudyStatus
from experiment.services.studies import (
    StudyError,
    StudyParams,
    checked_design,
    create_study,
    params_of,
    require_free_slug,
    stimulus_set_row,
    write_settings,
)


def _require_draft(study: Study, action: str) -> None:
    if study.status != StudyStatus.draft:
        raise StudyError(
            f"study {study.slug} is {study.status.value}: only a draft can be {action}; "
            "duplicate it to make a new draft"
        )


def update_draft(
    session: Session, study: Study, *, stimulus_set_folder: str | Path, params: StudyParams
) -> int:
    """Replace every setting of a draft (slug included); returns the previews deleted."""
    _require_draft(study, "edited")
    loaded, conditions = checked_design(stimulus_set_folder, params)
    slug = params.slug or study.slug
    require_free_slug(session, slug, own_id=study.id)
    removed = delete_previews(session, study)
    study.conditions = []
    session.flush()  # old conditions go before new ones (same unique keys) come in
    study.stimulus_set = stimulus_set_row(session, loaded)
    write_settings(study, params, conditions, slug=slug)
    session.flush()
    return removed


def duplicate(session: Session, study: Study, *, researcher: Researcher) -> Study:
    """A new draft with the same settings, titled as a copy, at a new address."""
    return create_study(
        session,
        researcher=researcher,
        stimulus_set_folder=study.stimulus_set.folder,
        params=params_of(study, title=f"{study.title} (copy)"[:200], slug=None),
    )


def delete_draft(session: Session, study: Study) -> None:
    """Remove a draft and its preview participants."""
    _require_draft(study, "deleted")
    delete_previews(session, study)
    session.delete(study)
    session.flush()


def delete_previews(session: Session, study: Study) -> int:
    """Delete the study's preview participants (their trials, answers and events go with
    them by the foreign keys' ON DELETE CASCADE); returns how many."""
    result = session.execute(
        sa.delete(Participant).where(
            Participant.study_id == study.id, Participant.is_preview.is_(True)
        )
    )
    session.expire(study, ["participants"])
    return result.rowcount
