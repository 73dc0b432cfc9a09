"""The site's front door: ``/`` says what the site is and links the researcher login.

Participants never need it (they come with a study link, ``/s/<slug>/``), so it names
no study: a list of open studies would let anyone take part in anything.
"""

from __future__ import annotations

from flask import Blueprint, Flask, render_template

bp = Blueprint("landing", __name__)


@bp.get("/")
def index() -> str:
    return render_template("landing.html")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
