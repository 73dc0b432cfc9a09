"""Researcher log in / log out (Flask-Login), with a login throttle and safe redirects.

The logged-in user is a small :class:`SignedInResearcher` value, not the ORM row, so it
never outlives its database session. Its id carries a fingerprint of the password hash:
changing a password ends every session made with the old one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from werkzeug.wrappers import Response

from experiment.auth.operations import authenticate, normalise_email
from experiment.auth.throttle import LoginThrottle
from experiment.db import get_session
from experiment.forms import LoginForm
from experiment.models import Researcher

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
THROTTLE_KEY = "glyphlab_login_throttle"


@dataclass(frozen=True)
class LoginThrottles:
    """Failed logins counted per (address, e-mail) pair and, more loosely, per address.

    Keying the tight limit on the pair, not the e-mail alone, means a stranger cannot
    lock a researcher out by failing on purpose from elsewhere; the per-address limit
    still stops one client spraying many accounts. Behind a reverse proxy, configure
    Werkzeug's ``ProxyFix`` so ``remote_addr`` is the client's, not the proxy's.
    """

    account: LoginThrottle = field(default_factory=lambda: LoginThrottle(max_failures=5))
    address: LoginThrottle = field(default_factory=lambda: LoginThrottle(max_failures=50))


@dataclass(frozen=True)
class SignedInResearcher(UserMixin):
    id: int
    email: str
    fingerprint: str

    def get_id(self) -> str:
        return f"{self.id}.{self.fingerprint}"


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def signed_in(researcher: Researcher) -> SignedInResearcher:
    return SignedInResearcher(
        researcher.id, researcher.email, _fingerprint(researcher.password_hash)
    )


@login_manager.user_loader
def _load_researcher(user_id: str) -> SignedInResearcher | None:
    number, _, fingerprint = user_id.partition(".")
    if not number.isdigit():
        return None
    researcher = get_session().get(Researcher, int(number))
    if researcher is None or _fingerprint(researcher.password_hash) != fingerprint:
        return None
    return signed_in(researcher)


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
    throttles: LoginThrottles = current_app.extensions[THROTTLE_KEY]
    address = request.remote_addr or "unknown"
    account = f"{address}|{normalise_email(form.email.data)}"
    wait_s = max(throttles.account.retry_after(account), throttles.address.retry_after(address))
    if wait_s > 0:
        minutes = max(1, round(wait_s / 60))
        error = f"Too many failed attempts. Try again in about {minutes} minute(s)."
        page = render_template("auth/login.html", form=form, error=error)
        return page, 429, {"Retry-After": str(int(wait_s) + 1)}
    researcher = authenticate(get_session(), email=form.email.data, password=form.password.data)
    if researcher is None:
        throttles.account.failed(account)
        throttles.address.failed(address)
        error = "That e-mail and password do not match a researcher account."
        return render_template("auth/login.html", form=form, error=error), 401
    throttles.account.succeeded(account)
    target = safe_next(form.next.data) or url_for("dashboard.index")
    session.clear()  # a fresh session (and CSRF token) for the signed-in researcher
    login_user(signed_in(researcher))
    return redirect(target)


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


def init_app(app: Flask) -> None:
    """Set up logins and the login throttle, and add the blueprint.

    Cookie flags (HttpOnly, SameSite=Lax) and the site-wide CSRF check are set by
    ``create_app``; the tests of this package check that they hold for researcher pages.
    """
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    app.extensions[THROTTLE_KEY] = LoginThrottles()
    app.register_blueprint(bp)
