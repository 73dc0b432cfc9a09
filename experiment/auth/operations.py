"""Researcher accounts: create one, check a password. No request in here (Indico's rule).

Passwords are stored only as werkzeug hashes (scrypt by default). A login with an unknown
e-mail still runs one hash check against a dummy hash, so a failure takes the same time
whether or not the account exists and response timing does not reveal registered e-mails.
"""

from __future__ import annotations

import re
from functools import cache

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from experiment.models import Researcher
from glyphlab.errors import GlyphlabError

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
MAX_EMAIL_LENGTH = 254
#: Deliberately loose (one @, a dot in the domain, no spaces): the address is a login
#: name, never mailed to, so RFC-exact checking would only reject real addresses.
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ResearcherError(GlyphlabError):
    """A researcher account cannot be created as asked."""


def normalise_email(email: str) -> str:
    """The stored form of an e-mail: trimmed and lower-cased, so logins ignore case."""
    return email.strip().lower()


def validate_email(email: str) -> str:
    """Return the normalised e-mail or raise :class:`ResearcherError` saying what is wrong."""
    email = normalise_email(email)
    if len(email) > MAX_EMAIL_LENGTH or not EMAIL_PATTERN.match(email):
        raise ResearcherError(f"{email!r} is not an e-mail address; use e.g. ada@example.org")
    return email


def validate_password(password: str) -> str:
    """Return the password unchanged or raise :class:`ResearcherError`."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ResearcherError(
            f"the password is too short: use at least {MIN_PASSWORD_LENGTH} characters"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ResearcherError(f"the password is too long: use at most {MAX_PASSWORD_LENGTH}")
    if not password.strip():
        raise ResearcherError("the password is only whitespace; choose a real password")
    return password


def find_researcher(session: Session, email: str) -> Researcher | None:
    return session.scalar(sa.select(Researcher).where(Researcher.email == normalise_email(email)))


def create_researcher(session: Session, *, email: str, password: str) -> Researcher:
    """Add a researcher (flushed, not committed); raise if the input or e-mail is taken."""
    email = validate_email(email)
    validate_password(password)
    if find_researcher(session, email) is not None:
        raise ResearcherError(f"a researcher with e-mail {email} already exists")
    researcher = Researcher(email=email, password_hash=generate_password_hash(password))
    session.add(researcher)
    session.flush()
    return researcher


def set_password(session: Session, *, email: str, password: str) -> Researcher:
    """Replace a researcher's password; their existing logins end (see auth.blueprint)."""
    researcher = find_researcher(session, email)
    if researcher is None:
        raise ResearcherError(f"no researcher has the e-mail {normalise_email(email)}")
    researcher.password_hash = generate_password_hash(validate_password(password))
    session.flush()
    return researcher


@cache
def _dummy_hash() -> str:
    return generate_password_hash("glyphlab dummy password for constant-time failures")


def authenticate(session: Session, *, email: str, password: str) -> Researcher | None:
    """The researcher whose e-mail and password match, else ``None`` (same cost either way)."""
    researcher = find_researcher(session, email) if len(email) <= MAX_EMAIL_LENGTH else None
    if len(password) > MAX_PASSWORD_LENGTH:
        password = ""
    stored = researcher.password_hash if researcher is not None else _dummy_hash()
    if check_password_hash(stored, password) and researcher is not None:
        return researcher
    return None
