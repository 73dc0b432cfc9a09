"""The trusted-browser cookie: proof that this browser logged in to this account before.

Set after a correct password, signed with the site's secret, bound to one account (a
keyed hash of its e-mail, not the e-mail) and to a random nonce that names the browser
in the login throttle. It proves nothing by itself (the password is still needed); it
only decides which throttle keys an attempt counts against (auth/throttle.py), so that
failures from strangers, or from everyone else behind one proxy, never lock out a
researcher who has logged in from this browser before.
"""

from __future__ import annotations

import secrets

from itsdangerous import BadSignature, URLSafeTimedSerializer

from experiment.hashing import keyed_hash

COOKIE_NAME = "glyphlab_browser"
MAX_AGE_S = 180 * 24 * 3600
SALT = "glyphlab-trusted-browser"


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=SALT)


def _account(secret_key: str, email: str) -> str:
    return keyed_hash(secret_key, "trusted-browser", email)[:32]


def trusted_browser(secret_key: str, cookie: str | None, email: str) -> str | None:
    """The browser's nonce if ``cookie`` is a valid trusted-browser cookie for ``email``."""
    if not cookie:
        return None
    try:
        value = _serializer(secret_key).loads(cookie, max_age=MAX_AGE_S)
    except BadSignature:
        return None
    if not isinstance(value, dict) or value.get("a") != _account(secret_key, email):
        return None
    nonce = value.get("n")
    return nonce if isinstance(nonce, str) else None


def new_cookie(secret_key: str, email: str, nonce: str | None = None) -> str:
    """A trusted-browser cookie value for ``email`` (a fresh nonce unless one is kept)."""
    nonce = nonce or secrets.token_urlsafe(16)
    return _serializer(secret_key).dumps({"a": _account(secret_key, email), "n": nonce})
