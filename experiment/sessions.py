"""The signed session cookie, opened only for requests that use it.

Flask verifies and parses the session cookie (an HMAC and a JSON document) on every
request, and a participant's browser sends it with every runner call and media request.
Those answer to the tab token (``X-Glyphlab-Token``) and the media URL's MAC alone and
never read or write the cookie, so for them the session is Flask's empty, read-only
``NullSession``: nothing is verified, nothing is sent back, and an accidental write
there fails loudly instead of quietly depending on the cookie.
"""

from __future__ import annotations

import re

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

#: the runner API (participant/api.py) and media URLs (participant/media.py)
TOKEN_ONLY_PATHS = re.compile(r"^/(s/[^/]+/api/|m/)")


class PageSessions(SecureCookieSessionInterface):
    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if TOKEN_ONLY_PATHS.match(request.path):
            return self.null_session_class()
        return super().open_session(app, request)
