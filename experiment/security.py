"""Response headers and the participant API's origin check.

The participant API is called by ``runner.js`` with ``fetch``; it is exempt from the
form CSRF token (it takes JSON, not forms) and instead requires the tab's session token
in the ``X-Glyphlab-Token`` header, which a cross-site page can neither read nor set,
plus a same-origin ``Origin``/``Sec-Fetch-Site`` where the browser sends them.
"""

from __future__ import annotations

from flask import Flask, request
from werkzeug.wrappers import Response

from experiment.errors import Forbidden

TOKEN_HEADER = "X-Glyphlab-Token"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)


def check_same_origin() -> None:
    """Refuse API calls that a browser marks as coming from another site.

    The ``Origin`` a browser sends is the page's scheme and host as the ``Host`` header
    spells it (ASCII: an international domain in its ``xn--`` form), so it is compared
    with those two as they came. Werkzeug's ``host_url`` would not do: it is an IRI,
    with such a domain decoded to Unicode, which no ``Origin`` ever matches (and building
    it cost about a tenth of a bare API request's CPU).
    """
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site not in {"same-origin", "none"}:
        raise Forbidden("The study API only answers pages of this site.")
    origin = request.headers.get("Origin")
    if origin is not None and origin.rstrip("/") != f"{request.scheme}://{request.host}":
        raise Forbidden("The study API only answers pages of this site.")


def register(app: Flask) -> None:
    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers["X-Content-Type-Options"] = "nosniff"
        # same-origin: the site's own pages send a Referer to the site (Flask-WTF's CSRF
        # check demands one over HTTPS), and no other site ever gets one (trial ids and
        # study slugs stay here).
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers.setdefault("Cache-Control", "no-store")
        return response
