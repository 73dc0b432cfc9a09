"""How a trial's media reach the browser: inline ``data:`` URIs, or opaque URLs.

A trial whose files together fit ``SiteConfig.inline_media_bytes`` gets them inside
its JSON (``media_sources``): one request per trial instead of one per image, which is
most of a small trial's requests. Bigger trials get opaque media URLs,
``/m/<trial public id>-<part>-<mac>``.

``part`` is a display position (or ``c`` for a composite image) and ``mac`` an HMAC of
participant, stimulus, trial and part keyed with the site's secret, so a URL names
neither the set's media file nor an item, cannot be guessed, and differs between
participants showing the same face. Files are sent as bare bytes: no file name, ETag or
Last-Modified. Inline or not, the browser learns the bytes of each image and nothing else.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Blueprint, Response, url_for

from experiment import site
from experiment.db import read_only_session
from experiment.errors import NotFound
from experiment.hashing import keyed_hash
from experiment.models import Participant, Study, Trial
from experiment.services.plans import PlannedTrial
from experiment.services.trials import media_name
from experiment.stimulus_sets import LoadedStimulusSet
from stimuli.media import media_type

bp = Blueprint("media", __name__)
TOKEN = re.compile(r"^([0-9a-f]{24})-(c|\d{1,4})-([0-9a-f]{24})$")


@dataclass(frozen=True)
class MediaTrial:
    """What serving a trial's media needs; immutable, so cached per process by public id
    (filled when ``next`` builds the URLs, from the database on a miss)."""

    public_id: str
    participant_id: int
    stimulus_id: str
    display_order: tuple[int, ...]
    folder: str

    @property
    def n_items(self) -> int:
        return len(self.display_order)


def _remember(trial: Trial | PlannedTrial, folder: str) -> MediaTrial:
    entry = MediaTrial(
        trial.public_id, trial.participant_id, trial.stimulus_id, tuple(trial.display_order), folder
    )
    site().media_trials.put(trial.public_id, entry)
    return entry


def _lookup(public_id: str) -> MediaTrial | None:
    entry = site().media_trials.get(public_id)
    if entry is not None:
        return entry
    session = read_only_session()
    trial = session.scalars(sa.select(Trial).where(Trial.public_id == public_id)).first()
    if trial is None:
        return None
    participant = session.get(Participant, trial.participant_id)
    study = session.get(Study, participant.study_id)
    return _remember(trial, study.stimulus_set.folder)


def _mac(trial: PlannedTrial | MediaTrial, part: str) -> str:
    secret = site().config.secret_key
    return keyed_hash(
        secret, "media", trial.participant_id, trial.stimulus_id, trial.public_id, part
    )[:24]


def media_url(trial: PlannedTrial, part: str, *, folder: str) -> str:
    _remember(trial, folder)
    return url_for("media.media", token=f"{trial.public_id}-{part}-{_mac(trial, part)}")


def media_sources(
    trial: PlannedTrial,
    parts: Sequence[str],
    *,
    folder: str,
    stimulus_set: LoadedStimulusSet,
    inline_limit: int,
) -> list[str]:
    """What the browser loads for each of ``parts``: all inline when the files together
    are at most ``inline_limit`` bytes, else all as media URLs."""
    names = [media_name(trial, part, stimulus_set) for part in parts]
    if inline_limit and sum(stimulus_set.media.size(n) for n in names) <= inline_limit:
        return [stimulus_set.media.data_uri(n, media_type(n)) for n in names]
    return [media_url(trial, part, folder=folder) for part in parts]


@bp.get("/m/<token>")
def media(token: str) -> Response:
    match = TOKEN.match(token)
    trial = None
    if match:
        public_id, part, mac = match.groups()
        trial = _lookup(public_id)
    if trial is None or not hmac.compare_digest(_mac(trial, part), mac):
        raise NotFound("No such media.")
    if part != "c" and int(part) >= trial.n_items:
        raise NotFound("No such media.")
    stimulus_set = site().stimulus_sets.get(trial.folder)
    name = media_name(trial, part, stimulus_set)
    # Bytes only: send_file would add the file's name (Content-Disposition) and mtime.
    response = Response(stimulus_set.media.read(name), mimetype=media_type(name))
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
