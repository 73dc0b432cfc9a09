"""Behind an HTTPS reverse proxy: forwarding headers, CSRF, same-origin, Secure cookies.

Each test sends what nginx sends (``X-Forwarded-For``, ``X-Forwarded-Proto: https``, the
client's ``Host``) from the proxy's address, and what Chromium sends over HTTPS: an
``Origin`` of ``https://...`` and, under ``Referrer-Policy: same-origin``, a Referer on
same-origin form posts. Before the fix every one of these answered 400 or 403.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re

import pytest
from flask import request

from experiment.config import ConfigError, SiteConfig
from tests.experiment.participant_client import CSRF, TOKEN

SITE = "https://study.example.org"
PROXIED = {
    "Host": "study.example.org",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-For": "198.51.100.7",
}


@pytest.fixture
def site_config(migrated_url, data_dir) -> SiteConfig:
    from tests.experiment.conftest import TEST_SECRET_KEY

    return SiteConfig(
        data_dir=data_dir,
        database_url=migrated_url,
        secret_key=TEST_SECRET_KEY,
        proxy_count=1,
        secure_cookies=True,
    )


def test_a_participant_gets_through_consent_and_the_api_over_https(client, study):
    entry = client.get("/s/site-test/", headers=PROXIED)
    assert entry.status_code == 200
    assert entry.headers["Referrer-Policy"] == "same-origin"
    cookie = entry.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    csrf = CSRF.search(entry.data).group(1).decode()

    consent = client.post(
        "/s/site-test/consent",
        data={"csrf_token": csrf, "consent": "yes"},
        headers={**PROXIED, "Referer": f"{SITE}/s/site-test/", "Origin": SITE},
    )
    assert consent.status_code == 302, consent.data[:300]

    page = client.get("/s/site-test/run", headers=PROXIED)
    token = TOKEN.search(page.data).group(1).decode()
    api = {**PROXIED, "X-Glyphlab-Token": token, "Origin": SITE, "Sec-Fetch-Site": "same-origin"}
    trial = client.get("/s/site-test/api/next", headers=api).json["trial"]
    start = client.post(f"/s/site-test/api/trials/{trial['id']}/start", headers=api, json={})
    assert start.status_code == 200, start.json


def test_a_form_post_without_a_same_origin_referer_is_still_refused(client, study):
    entry = client.get("/s/site-test/", headers=PROXIED)
    csrf = CSRF.search(entry.data).group(1).decode()
    for referer in ({}, {"Referer": "https://evil.example.net/s/site-test/"}):
        response = client.post(
            "/s/site-test/consent",
            data={"csrf_token": csrf, "consent": "yes"},
            headers={**PROXIED, **referer},
        )
        assert response.status_code == 400
        assert b"referrer" in response.data.lower()


def test_an_api_call_from_another_origin_is_refused_over_https(client, study):
    response = client.get(
        "/s/site-test/api/next", headers={**PROXIED, "Origin": "https://evil.example.net"}
    )
    assert response.status_code == 403


def _peer(app, headers: dict[str, str], remote_addr: str) -> tuple[str, str]:
    seen = {}

    @app.get("/_peer")
    def peer():
        seen.update(addr=request.remote_addr, scheme=request.scheme)
        return ""

    app.test_client().get("/_peer", headers=headers, environ_base={"REMOTE_ADDR": remote_addr})
    return seen["addr"], seen["scheme"]


def test_only_the_last_forwarded_entry_of_a_trusted_proxy_counts(app):
    spoofed = {"X-Forwarded-For": "10.9.9.9, 198.51.100.7", "X-Forwarded-Proto": "https"}
    assert _peer(app, spoofed, "127.0.0.1") == ("198.51.100.7", "https")


def test_forwarding_headers_from_an_untrusted_peer_are_ignored(app):
    assert _peer(app, PROXIED, "203.0.113.5") == ("203.0.113.5", "http")


def test_without_a_proxy_count_forwarding_headers_are_ignored(app, site_config):
    from experiment import create_app

    direct = create_app(dataclasses.replace(site_config, proxy_count=0))
    assert _peer(direct, PROXIED, "127.0.0.1") == ("127.0.0.1", "http")


def test_proxy_settings_from_the_environment(tmp_path):
    base = {"GLYPHLAB_DATA_DIR": str(tmp_path)}
    config = SiteConfig.from_env(
        {**base, "GLYPHLAB_PROXY_COUNT": "1", "GLYPHLAB_TRUSTED_PROXIES": "10.0.0.0/8, ::1"}
    )
    assert config.proxy_count == 1 and config.secure_cookies  # Secure follows the proxy
    assert config.trusted_proxies == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("::1"),
    )
    plain = SiteConfig.from_env(
        {**base, "GLYPHLAB_PROXY_COUNT": "1", "GLYPHLAB_SECURE_COOKIES": "0"}
    )
    assert not plain.secure_cookies
    assert not SiteConfig.from_env(base).secure_cookies
    with pytest.raises(ConfigError, match="not an IP address"):
        SiteConfig.from_env({**base, "GLYPHLAB_TRUSTED_PROXIES": "nginx.local"})
    with pytest.raises(ConfigError, match="between 0 and 5"):
        SiteConfig.from_env({**base, "GLYPHLAB_PROXY_COUNT": "9"})
    with pytest.raises(ConfigError, match="1 or 0"):
        SiteConfig.from_env({**base, "GLYPHLAB_SECURE_COOKIES": "maybe"})


def test_the_login_throttle_counts_the_client_behind_the_proxy(app, researcher, monkeypatch):
    """Spraying from one client address behind the proxy locks out new browsers at that
    address only; another client of the same proxy still logs in."""
    from werkzeug.security import generate_password_hash

    from experiment.auth.throttle import ADDRESS
    from tests.experiment.test_auth import PASSWORD

    cheap = generate_password_hash("dummy", "pbkdf2:sha256:1000")
    monkeypatch.setattr("experiment.auth.operations._dummy_hash", lambda: cheap)

    def log_in(client_address: str, email: str, password: str) -> int:
        client = app.test_client()
        headers = {**PROXIED, "X-Forwarded-For": client_address}
        page = client.get("/login", headers=headers, base_url=SITE).get_data(as_text=True)
        csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        form = {"csrf_token": csrf, "email": email, "password": password}
        headers["Referer"] = f"{SITE}/login"
        return client.post("/login", data=form, headers=headers, base_url=SITE).status_code

    for number in range(ADDRESS.max_failures):
        assert log_in("198.51.100.7", f"guess{number}@example.org", "wrong password!") == 401
    assert log_in("198.51.100.7", "researcher@example.org", PASSWORD) == 429
    assert log_in("198.51.100.8", "researcher@example.org", PASSWORD) == 302
