"""How the site answers errors: the one mapping from exceptions to responses.

A :class:`GlyphlabError` that carries a 4xx ``status`` (the site's
:class:`~experiment.errors.SiteError` family, and errors of the pure libraries such as a
response mode's answer error, which cannot subclass the site's) becomes that status with
its message, as JSON for the participant API (``/api/`` in the path or a JSON request)
and as a plain page otherwise. Any other :class:`GlyphlabError` that reaches the handler
is the site's own problem (a missing stimulus set folder): it is logged and answered 503
without its details. Werkzeug's own 4xx (unknown URL, body too
large, CSRF failure) go through the same handler so nothing answers with HTML to the
trial runner or with a stack trace to anyone.
"""

from __future__ import annotations

from flask import Flask, current_app, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from experiment.errors import SiteError
from glyphlab.errors import GlyphlabError

UNAVAILABLE = (
    "This study cannot run right now because of a problem on the site, not with anything "
    "you did. Please try again later or tell the researcher."
)


def visitor_status(error: GlyphlabError) -> int | None:
    """The 4xx an error says the visitor caused, or None (then it is the site's problem)."""
    status = getattr(error, "status", None)
    if isinstance(error, SiteError) or (isinstance(status, int) and 400 <= status < 500):
        return status
    return None


def wants_json() -> bool:
    return "/api/" in request.path or request.is_json


def error_response(message: str, status: int, title: str | None = None):
    if wants_json():
        return jsonify(error=message, status=status), status
    return render_template("error.html", message=message, status=status, title=title), status


def register(app: Flask) -> None:
    @app.errorhandler(GlyphlabError)
    def site_error(error: GlyphlabError):
        status = visitor_status(error)
        if status is not None:
            return error_response(str(error), status)
        # Not the visitor's doing (a study's stimulus set folder moved or broken, a plan
        # that cannot be made): the message names server paths and commands meant for
        # the researcher, so it goes to the log and the visitor is told whom to ask.
        current_app.logger.error("%s %s: %s", request.method, request.path, error)
        return error_response(UNAVAILABLE, 503, title="Study unavailable")

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return error_response(
            f"The form expired or was not sent from this site ({error.description}). "
            "Go back, reload the page and try again.",
            400,
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        if status == 413:
            message = "The request body is too large; answers are small JSON objects."
        else:
            message = error.description or error.name
        return error_response(message, status, title=error.name)
