"""Errors a participant or researcher can cause, each with the HTTP status it means.

Services and response modes raise these; they import no Flask, so the same code runs
from the CLI, the bots and the tests. The web layer maps them to responses in one
place (:mod:`experiment.error_pages`): a :class:`SiteError` becomes its ``status`` with
the message, any other :class:`GlyphlabError` a 503 without details.
"""

from __future__ import annotations

from glyphlab.errors import GlyphlabError


class SiteError(GlyphlabError):
    """A request the site refuses; ``status`` is the HTTP status it answers with."""

    status = 400


class BadRequest(SiteError):
    status = 400


class Forbidden(SiteError):
    status = 403


class NotFound(SiteError):
    status = 404


class Conflict(SiteError):
    status = 409


class Gone(SiteError):
    status = 410
