"""Creating, opening and closing studies (service layer: Session + plain values).

``StudyParams`` is the one validated description of a study; the dashboard form and the
demo both build it. ``create_study`` reads the stimulus set (manifest.json/truth.json),
checks the set can supply every condition, and stores the study in ``draft``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from analysis.response_modes import DEFAULT_MODE, RESPONSE_MODES
from analysis.response_modes.base import params_from_dict
from experiment import design
from experiment.models import Condition, Researcher, StimulusSet, Study, StudyStatus, utcnow
from experiment.stimulus_sets import LoadedStimulusSet
from experiment.stimulus_sets import load as load_stimulus_set
from experiment.texts import TextError, all_texts, check_overrides
from glyphlab.errors import GlyphlabError
from stimuli.encodings import ENCODINGS

LAYOUTS = ("grid", "sequence")
SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{2,63}$")

DEFAULT_CONSENT = (
    "You will see groups of faces, tables or plots and look for the odd one out. "
    "It takes about 10 minutes. Taking part is voluntary; you can stop at any time by "
    "closing the page. We store your answers and response times, never your name."
)
DEFAULT_DEBRIEF = (
    "Thank you! The study compares how quickly people spot unusual rows of data when "
    "they are drawn as faces, as a table or as a plot."
)


class StudyError(GlyphlabError):
    """The study settings are invalid; the message names the field."""


@dataclass(frozen=True)
class StudyParams:
    """Everything a researcher chooses for a study, validated on creation.

    ``trials_per_participant`` counts main trials only; practice trials and attention
    checks come on top. ``response_mode_params`` maps a mode name to its Params values.
    ``target_present_share`` is the share of target-present trials in modes that
    detect presence. An enrolment not finished ``abandon_after_minutes`` after consent
    (default: twice ``expected_minutes``) frees its Latin-square row.
    ``encodings=None`` (the default) means every encoding the chosen stimulus set has.
    """

    title: str
    slug: str | None = None
    encodings: tuple[str, ...] | None = None
    layouts: tuple[str, ...] = ("grid",)
    response_modes: tuple[str, ...] = (DEFAULT_MODE,)
    response_mode_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    trials_per_participant: int = 16
    practice_trials: int = 2
    attention_checks: int = 2
    deadline_ms: int = 15_000
    frame_ms: int = 500
    fixation_ms: int = 500
    target_present_share: float = 0.5
    expected_minutes: int = 10
    abandon_after_minutes: int | None = None
    consent_text: str = DEFAULT_CONSENT
    debrief_text: str = DEFAULT_DEBRIEF
    texts: Mapping[str, str] = field(default_factory=dict)
    min_viewport_width: int = 1000
    min_viewport_height: int = 600
    allow_phones: bool = False
    completion_code: str | None = None
    completion_url: str | None = None
    #: Main trials to answer in time for the completion code; None: half, rounded up.
    min_answered_trials: int | None = None

    def __post_init__(self) -> None:
        if self.encodings is not None:
            object.__setattr__(self, "encodings", tuple(self.encodings))
        object.__setattr__(self, "layouts", tuple(self.layouts))
        object.__setattr__(self, "response_modes", tuple(self.response_modes))
        if not self.title.strip():
            raise StudyError("give the study a title")
        if self.slug is not None and not SLUG_PATTERN.match(self.slug):
            raise StudyError(f"slug {self.slug!r}: use 3-64 lowercase letters, digits and dashes")
        if self.encodings is not None:
            _check_subset("encodings", self.encodings, tuple(ENCODINGS))
        _check_subset("layouts", self.layouts, LAYOUTS)
        _check_subset("response_modes", self.response_modes, tuple(RESPONSE_MODES))
        unknown = sorted(set(self.response_mode_params) - set(self.response_modes))
        if unknown:
            raise StudyError(f"response_mode_params names modes not in the study: {unknown}")
        for name in self.response_modes:
            try:
                params_from_dict(RESPONSE_MODES[name].Params, self.response_mode_params.get(name))
            except (GlyphlabError, TypeError) as error:
                raise StudyError(f"response mode {name}: {error}") from None
        _check_range("trials_per_participant", self.trials_per_participant, 1, 1000)
        _check_range("practice_trials", self.practice_trials, 0, 50)
        _check_range("attention_checks", self.attention_checks, 0, 50)
        _check_range("deadline_ms", self.deadline_ms, 200, 600_000)
        _check_range("frame_ms", self.frame_ms, 16, 10_000)
        _check_range("fixation_ms", self.fixation_ms, 0, 5000)
        _check_range("expected_minutes", self.expected_minutes, 1, 600)
        if self.abandon_after_minutes is not None:
            _check_range("abandon_after_minutes", self.abandon_after_minutes, 1, 10_000)
        share = self.target_present_share
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
            raise StudyError(
                f"target_present_share must be a fraction above 0 and at most 1, not {share!r}"
            )
        if self.min_answered_trials is not None:
            _check_range(
                "min_answered_trials", self.min_answered_trials, 0, self.trials_per_participant
            )
        _check_range("min_viewport_width", self.min_viewport_width, 200, 7680)
        _check_range("min_viewport_height", self.min_viewport_height, 200, 4320)
        try:
            object.__setattr__(self, "texts", check_overrides(self.texts, all_texts()))
        except TextError as error:
            raise StudyError(str(error)) from None
        if self.completion_url and not self.completion_url.startswith(("https://", "http://")):
            raise StudyError("completion_url must start with https:// (or http://)")

    @property
    def completion_minimum(self) -> int:
        """The main trials to answer in time for the completion code."""
        if self.min_answered_trials is not None:
            return self.min_answered_trials
        return -(-self.trials_per_participant // 2)

    @property
    def cutoff_minutes(self) -> int:
        """Minutes after consent at which an unfinished enrolment frees its row."""
        return self.abandon_after_minutes or 2 * self.expected_minutes

    def mode_params(self) -> dict[str, dict[str, Any]]:
        """Every mode's parameters with defaults filled in (stored with the study)."""
        return {
            name: asdict(
                params_from_dict(RESPONSE_MODES[name].Params, self.response_mode_params.get(name))
            )
            for name in self.response_modes
        }


def _check_subset(name: str, values: tuple[str, ...], allowed: tuple[str, ...]) -> None:
    if not values:
        raise StudyError(f"choose at least one of {name}: {list(allowed)}")
    bad = sorted(set(values) - set(allowed))
    if bad or len(set(values)) != len(values):
        raise StudyError(f"{name} {list(values)}: each must be one of {list(allowed)}, once")


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise StudyError(f"{name} must be a whole number from {low} to {high}, not {value!r}")


def stimulus_set_row(session: Session, loaded: LoadedStimulusSet) -> StimulusSet:
    """The database reference to a set folder, created on first use."""
    row = session.scalars(sa.select(StimulusSet).where(StimulusSet.set_id == loaded.set_id)).first()
    if row is None:
        row = StimulusSet(set_id=loaded.set_id, folder=str(loaded.folder))
        session.add(row)
    elif row.folder != str(loaded.folder) and not Path(row.folder).exists():
        row.folder = str(loaded.folder)
    return row


def create_study(
    session: Session,
    *,
    researcher: Researcher,
    stimulus_set_folder: str | Path,
    params: StudyParams,
) -> Study:
    """Store a new draft study with its conditions; nothing is written on error."""
    loaded, conditions = checked_design(stimulus_set_folder, params)
    slug = params.slug or _slug_from(params.title)
    require_free_slug(session, slug)
    study = Study(
        status=StudyStatus.draft,
        researcher=researcher,
        stimulus_set=stimulus_set_row(session, loaded),
        enrolled_count=0,
    )
    write_settings(study, params, conditions, slug=slug)
    session.add(study)
    session.flush()
    return study


def checked_design(
    stimulus_set_folder: str | Path, params: StudyParams
) -> tuple[LoadedStimulusSet, list[design.ConditionSpec]]:
    """The set and the study's conditions, refused unless the set can supply the design."""
    loaded = load_stimulus_set(stimulus_set_folder)
    encodings = params.encodings or set_encodings(loaded, params.layouts)
    conditions = design.build_conditions(encodings, params.layouts, params.response_modes)
    design.build_design(
        loaded,
        conditions,
        main_trials=params.trials_per_participant,
        target_present_share=params.target_present_share,
    )
    design.check_extras(
        loaded,
        conditions,
        practice_trials=params.practice_trials,
        attention_checks=params.attention_checks,
    )
    return loaded, conditions


def require_free_slug(session: Session, slug: str, *, own_id: int | None = None) -> None:
    taken = session.scalars(sa.select(Study.id).where(Study.slug == slug)).first()
    if taken is not None and taken != own_id:
        raise StudyError(f"a study with the address /s/{slug} exists; choose another slug")


def write_settings(
    study: Study, params: StudyParams, conditions: list[design.ConditionSpec], *, slug: str
) -> None:
    """Copy validated settings onto a study row (new, or a draft being edited)."""
    study.slug = slug
    study.title = params.title.strip()
    study.encodings = list(dict.fromkeys(c.encoding for c in conditions))
    study.layouts = list(params.layouts)
    study.response_modes = list(params.response_modes)
    study.response_mode_params = params.mode_params()
    study.trials_per_participant = params.trials_per_participant
    study.practice_trials = params.practice_trials
    study.attention_checks = params.attention_checks
    study.deadline_ms = params.deadline_ms
    study.frame_ms = params.frame_ms
    study.fixation_ms = params.fixation_ms
    study.target_present_share = float(params.target_present_share)
    study.expected_minutes = params.expected_minutes
    study.abandon_after_minutes = params.cutoff_minutes
    study.consent_text = params.consent_text
    study.debrief_text = params.debrief_text
    study.texts = dict(params.texts)
    study.min_viewport_width = params.min_viewport_width
    study.min_viewport_height = params.min_viewport_height
    study.allow_phones = params.allow_phones
    study.completion_code = params.completion_code
    study.completion_url = params.completion_url
    study.min_answered_trials = params.completion_minimum
    study.conditions = [
        Condition(position=i, encoding=c.encoding, layout=c.layout, response_mode=c.response_mode)
        for i, c in enumerate(conditions)
    ]


def params_of(study: Study, **changes: Any) -> StudyParams:
    """The settings of a stored study as :class:`StudyParams` (to edit or duplicate it)."""
    values = {
        "title": study.title,
        "slug": study.slug,
        "encodings": tuple(study.encodings),
        "layouts": tuple(study.layouts),
        "response_modes": tuple(study.response_modes),
        "response_mode_params": study.response_mode_params,
        "trials_per_participant": study.trials_per_participant,
        "practice_trials": study.practice_trials,
        "attention_checks": study.attention_checks,
        "deadline_ms": study.deadline_ms,
        "frame_ms": study.frame_ms,
        "fixation_ms": study.fixation_ms,
        "target_present_share": study.target_present_share,
        "expected_minutes": study.expected_minutes,
        "abandon_after_minutes": study.abandon_after_minutes,
        "consent_text": study.consent_text,
        "debrief_text": study.debrief_text,
        "texts": dict(study.texts or {}),
        "min_viewport_width": study.min_viewport_width,
        "min_viewport_height": study.min_viewport_height,
        "allow_phones": study.allow_phones,
        "completion_code": study.completion_code,
        "completion_url": study.completion_url,
        "min_answered_trials": study.min_answered_trials,
    }
    return StudyParams(**{**values, **changes})


def study_design(
    study: Study, loaded: LoadedStimulusSet
) -> tuple[list[design.ConditionSpec], design.Design]:
    """A stored study's conditions and design (deterministic: the same on every call)."""
    conditions = [
        design.ConditionSpec(c.encoding, c.layout, c.response_mode)
        for c in sorted(study.conditions, key=lambda c: c.position)
    ]
    return conditions, design.build_design(
        loaded,
        conditions,
        main_trials=study.trials_per_participant,
        target_present_share=study.target_present_share,
    )


def set_encodings(loaded: LoadedStimulusSet, layouts: tuple[str, ...]) -> tuple[str, ...]:
    """The encodings a set has main stimuli for in any of ``layouts``, in registry order."""
    present = {
        s["encoding"]
        for s in loaded.stimuli.values()
        if loaded.role(s) == "main" and s["layout"] in layouts
    }
    return tuple(name for name in ENCODINGS if name in present)


def _slug_from(title: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40] or "study"
    return f"{base}-{secrets.token_hex(3)}"


def set_status(study: Study, status: StudyStatus, *, now: datetime | None = None) -> None:
    """Open, close or reopen a study. A study never goes back to draft: once it has
    been open its settings are fixed (participants' plans were made from them)."""
    now = now or utcnow()
    if status == StudyStatus.draft and study.status != StudyStatus.draft:
        raise StudyError(f"study {study.slug} has been open; duplicate it to change settings")
    if status == StudyStatus.open and study.opened_at is None:
        study.opened_at = now
    if status == StudyStatus.open:
        study.closed_at = None
    if status == StudyStatus.closed:
        study.closed_at = now
    study.status = status
