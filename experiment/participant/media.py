"""Opaque media URLs: ``/m/<trial public id>-<part>-<mac>``.

``part`` is a display position (or ``c`` for a composite image) and ``mac`` an HMAC of
participant, stimulus, trial and part keyed with the site's secret, so a URL names
neither the set's media file nor an item, cannot be guessed, and differs between
participants showing the same face. Files are sent as bare bytes: no file name, ETag or
Last-Modified.
"""

from __future__ import annotations

import hmac
import re

import sqlalchemy as sa
from flask import Blueprint, Response, url_for

from experiment import site
from experiment.db import read_only_session
from experiment.errors import NotFound
from experiment.models import Participant, Study, Trial
from experiment.security import keyed_hash
from experiment.services.trials import media_file

bp = Blueprint("media", __name__)
TOKEN = re.compile(r"^([0-9a-f]{24})-(c|\d{1,4})-([0-9a-f]{24})$")
MIMETYPES = {".png": "image/png", ".webp": "image/webp", ".mp4": "video/mp4", ".jpg": "image/jpeg"}


def _mac(trial: Trial, part: str) -> str:
    secret = site().config.secret_key
    return keyed_hash(
        secret, "media", trial.participant_id, trial.stimulus_id, trial.public_id, part
    )[:24]


def media_url(trial: Trial, part: str) -> str:
    return url_for("media.media", token=f"{trial.public_id}-{part}-{_mac(trial, part)}")


@bp.get("/m/<token>")
def media(token: str) -> Response:
    match = TOKEN.match(token)
    session = read_only_session()
    trial = None
    if match:
        public_id, part, mac = match.groups()
        trial = session.scalars(sa.select(Trial).where(Trial.public_id == public_id)).first()
    if trial is None or not hmac.compare_digest(_mac(trial, part), mac):
        raise NotFound("No such media.")
    if part != "c" and int(part) >= trial.n_items:
        raise NotFound("No such media.")
    participant = session.get(Participant, trial.participant_id)
    study = session.get(Study, participant.study_id)
    stimulus_set = site().stimulus_sets.get(study.stimulus_set.folder)
    path = media_file(trial, part, stimulus_set)
    # Bytes only: send_file would add the file's name (Content-Disposition) and mtime.
    response = Response(path.read_bytes(), mimetype=MIMETYPES.get(path.suffix, "image/png"))
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
