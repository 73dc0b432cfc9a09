"""Researcher log in / log out (Flask-Login), with a login throttle and safe redirects.

The logged-in user is a small :class:`SignedInResearcher` value, not the ORM row, so it
never outlives its database session. Its id carries a fingerprint of the password hash
and the researcher's session version: changing a password, or logging out, ends every
session made before (a copied session cookie included), on every worker at once.

The throttle (auth/throttle.py) lives in the database; which keys an attempt counts
against depends on the trusted-browser cookie (auth/devices.py). The client address is
``request.remote_addr``, the client's own behind a configured proxy (experiment/proxy.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import (
    Blueprint,
    Flask,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from werkzeug.wrappers import Response

from experiment import site
from experiment.auth import devices, throttle
from experiment.auth.operations import authenticate, normalise_email
from experiment.db import get_session
from experiment.forms import LoginForm
from experiment.models import Researcher

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class SignedInResearcher(UserMixin):
    id: int
    email: str
    fingerprint: str
    session_version: int

    def get_id(self) -> str:
        return f"{self.id}.{self.fingerprint}.{self.session_version}"


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def signed_in(researcher: Researcher) -> SignedInResearcher:
    return SignedInResearcher(
        researcher.id,
        researcher.email,
        _fingerprint(researcher.password_hash),
        researcher.session_version,
    )


@login_manager.user_loader
def _load_researcher(user_id: str) -> SignedInResearcher | None:
    number = user_id.partition(".")[0]
    if not number.isdigit() or int(number) > MAX_ID:
        return None
    researcher = get_session().get(Researcher, int(number))
    if researcher is None:
        return None
    user = signed_in(researcher)
    return user if user.get_id() == user_id else None


@login_manager.unauthorized_handler
def _unauthorized() -> Response:
    """Pages redirect to the login form; data endpoints (JSON, CSV) answer 401."""
    if request.path.endswith((".json", ".csv")):
        return Response("Log in as a researcher first.", status=401, mimetype="text/plain")
    target = request.full_path if request.query_string else request.path
    return redirect(url_for("auth.login", next=target))


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else ``None`` (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(character) < 33 for character in target):
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int] | str:
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next")) or ""
        if current_user.is_authenticated:
            return redirect(form.next.data or url_for("dashboard.index"))
        return render_template("auth/login.html", form=form)
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), 400
    config, db_session, now = site().config, get_session(), site().clock()
    email = normalise_email(form.email.data)
    browser = devices.trusted_browser(
        config.secret_key, request.cookies.get(devices.COOKIE_NAME), email
    )
    keys = throttle.attempt_keys(
        email=email, address=request.remote_addr or "unknown", trusted_browser=browser
    )
    wait_s = throttle.reserve(db_session, keys, secret_key=config.secret_key, now=now)
    db_session.commit()  # counted before the password is checked: see auth/throttle.py
    if wait_s > 0:
        seconds = int(wait_s) + 1
        wait = f"{seconds} seconds" if seconds < 120 else f"{round(seconds / 60)} minutes"
        error = f"Too many failed attempts. Try again in about {wait}."
        page = render_template("auth/login.html", form=form, error=error)
        return page, 429, {"Retry-After": str(seconds)}
    researcher = authenticate(db_session, email=email, password=form.password.data)
    if researcher is None:
        error = "That e-mail and password do not match a researcher account."
        return render_template("auth/login.html", form=form, error=error), 401
    throttle.refund(db_session, keys, secret_key=config.secret_key, now=now)
    db_session.commit()
    target = safe_next(form.next.data) or url_for("dashboard.index")
    session.clear()  # a fresh session (and CSRF token) for the signed-in researcher
    login_user(signed_in(researcher))
    response = redirect(target)
    response.set_cookie(
        devices.COOKIE_NAME,
        devices.new_cookie(config.secret_key, email, browser),
        max_age=devices.MAX_AGE_S,
        path=url_for("auth.login"),
        secure=config.secure_cookies,
        httponly=True,
        samesite="Lax",
    )
    return response


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    """End this session and every other session of the researcher (server-side)."""
    if current_user.is_authenticated:
        db_session = get_session()
        db_session.execute(
            sa.update(Researcher)
            .where(Researcher.id == current_user.id)
            .values(session_version=Researcher.session_version + 1)
        )
        db_session.commit()
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


def init_app(app: Flask) -> None:
    """Set up logins and add the blueprint.

    Cookie flags (HttpOnly, SameSite=Lax) and the site-wide CSRF check are set by
    ``create_app``; the tests of this package check that they hold for researcher pages.
    """
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    app.register_blueprint(bp)
