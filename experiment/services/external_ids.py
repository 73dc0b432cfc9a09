"""External ids from the study link, and the hashes a participant is enrolled under.

Recruitment platforms append ids to the study link (Prolific's ``PROLIFIC_PID``,
``STUDY_ID`` and ``SESSION_ID``, or a generic ``?pid=``). They are kept only as
HMAC-SHA256 hashes keyed with the site's secret and the study id, in the database and
in the browser's cookie alike (the cookie is signed, not encrypted: anyone holding it
can read it). Ids are never cut short: a longer one is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from experiment.errors import BadRequest
from experiment.hashing import keyed_hash

#: Longer ids are refused, never cut: two ids that share their first N characters must
#: not become one participant.
MAX_EXTERNAL_ID_LENGTH = 256


@dataclass(frozen=True)
class ExternalIds:
    """Ids a recruitment platform appended to the entry URL (kept only as hashes).

    ``source`` is ``prolific``, ``pid``, or ``browser``: a random id the entry page gives
    a browser that came without one, so that its consent enrols it once.
    """

    source: str | None = None
    participant_id: str | None = None
    session_id: str | None = None

    @classmethod
    def from_query(cls, args: Mapping[str, str]) -> ExternalIds:
        """Prolific's PROLIFIC_PID (+ SESSION_ID), else a generic ``pid``."""
        prolific = (args.get("PROLIFIC_PID") or "").strip()
        generic = (args.get("pid") or "").strip()
        session_id = (args.get("SESSION_ID") or "").strip() or None
        for name, value in (
            ("PROLIFIC_PID", prolific),
            ("pid", generic),
            ("SESSION_ID", session_id),
        ):
            if value and len(value) > MAX_EXTERNAL_ID_LENGTH:
                raise BadRequest(
                    f"The {name} in the study link is longer than {MAX_EXTERNAL_ID_LENGTH} "
                    "characters; check the link you were given."
                )
        if prolific:
            return cls("prolific", prolific, session_id)
        if generic:
            return cls("pid", generic, None)
        return cls()

    def key(self, *, secret_key: str, study_id: int, browser_nonce: str) -> EnrolmentKey:
        """The hashes that enrol (and later recognise) this participant in one study.

        The session hash is of the platform's SESSION_ID where there is one, else of a
        random nonce the entry page keeps in this browser's cookie: so a participant is
        resumed from another browser only with the same SESSION_ID, never on the
        participant id alone (which other people may know).
        """
        assert self.source is not None and self.participant_id is not None
        session = (
            keyed_hash(secret_key, "external-session", study_id, self.session_id)
            if self.session_id is not None
            else keyed_hash(secret_key, "browser-session", study_id, browser_nonce)
        )
        return EnrolmentKey(
            source=self.source,
            id_hash=keyed_hash(
                secret_key, "external-id", study_id, self.source, self.participant_id
            ),
            session_hash=session,
        )


@dataclass(frozen=True)
class EnrolmentKey:
    """What the entry page keeps in the (signed, readable) cookie until consent: keyed
    hashes only, never the raw external ids."""

    source: str
    id_hash: str
    session_hash: str
