"""Logging in and out: hashed passwords, throttling, safe redirects, cookies, CSRF."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from werkzeug.security import generate_password_hash

from experiment.auth.devices import COOKIE_NAME
from experiment.auth.throttle import ACCOUNT, ADDRESS, TRUSTED_BROWSER

PASSWORD = "correct horse battery staple"  # the conftest researcher's


def csrf_token(client, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def log_in(
    client,
    email: str = "researcher@example.org",
    password: str = PASSWORD,
    environ_base: dict | None = None,
    **extra,
):
    data = {"email": email, "password": password, "csrf_token": csrf_token(client), **extra}
    return client.post("/login", data=data, environ_base=environ_base or {})


@pytest.fixture
def researcher_routes(app: Flask) -> list[tuple[str, str]]:
    """Every (method, path) of the researcher blueprints, ids filled with 1."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("dashboard."):
            continue
        path = re.sub(r"<int[^>]*:study_id>", "1", rule.rule).replace(
            "<any(open, closed):status>", "open"
        )
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((method, path))
    assert len(routes) >= 10
    return routes


def test_every_researcher_route_needs_a_login(client, researcher_routes, researcher):
    token = csrf_token(client)
    for method, path in researcher_routes:
        response = client.open(path, method=method, data={"csrf_token": token})
        if path.endswith((".json", ".csv")):
            assert response.status_code == 401, path
        else:
            assert response.status_code == 302, (method, path)
            assert response.headers["Location"].startswith("/login?next=/dashboard"), path


def test_login_redirects_to_the_dashboard_with_a_safe_cookie(client, researcher):
    response = log_in(client)
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/dashboard/").status_code == 200
    assert "researcher@example.org" in client.get("/dashboard/").get_data(as_text=True)


def test_login_ignores_case_and_spaces_in_the_email(client, researcher):
    assert log_in(client, email="  Researcher@Example.org ").status_code == 302


@pytest.mark.parametrize(
    ("email", "password"),
    [("researcher@example.org", "wrong password!"), ("nobody@example.org", PASSWORD)],
)
def test_a_failed_login_says_the_same_thing_either_way(client, researcher, email, password):
    response = log_in(client, email=email, password=password)
    assert response.status_code == 401
    assert "do not match a researcher account" in response.get_data(as_text=True)
    assert client.get("/dashboard/").status_code == 302


def test_login_follows_a_local_next_and_refuses_another_site(client, researcher):
    assert log_in(client, next="/dashboard/stimulus-sets").headers["Location"] == (
        "/dashboard/stimulus-sets"
    )
    client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard/")})
    response = log_in(client, next="https://evil.example/")
    assert response.headers["Location"] == "/dashboard/"
    page = client.get("/login?next=//evil.example").get_data(as_text=True)
    assert "evil.example" not in page


def test_the_login_form_keeps_next_from_the_redirect(client, researcher):
    redirect = client.get("/dashboard/studies/new").headers["Location"]
    page = client.get(redirect).get_data(as_text=True)
    assert 'name="next" type="hidden" value="/dashboard/studies/new"' in page


def fail(client, times: int, email: str = "researcher@example.org", **environ) -> None:
    for _ in range(times):
        response = log_in(client, email=email, password="wrong password!", environ_base=environ)
        assert response.status_code == 401


def test_repeated_failures_are_throttled_even_with_the_right_password(app, client, researcher):
    fail(app.test_client(), ACCOUNT.max_failures, REMOTE_ADDR="192.0.2.66")
    blocked = log_in(client)  # another new browser, another address: the account waits
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1
    assert "Too many failed attempts" in blocked.get_data(as_text=True)


def test_a_browser_that_logged_in_before_is_never_locked_out(app, client, researcher, monkeypatch):
    """Strangers failing on the account and a spraying client behind the same address
    lock out untrusted attempts only; the researcher's own browser still gets in."""
    cheap = generate_password_hash("dummy", "pbkdf2:sha256:1000")  # unknown e-mails' hash
    monkeypatch.setattr("experiment.auth.operations._dummy_hash", lambda: cheap)
    assert log_in(client).status_code == 302
    cookie = client.get_cookie(COOKIE_NAME, path="/login")
    assert cookie is not None and cookie.http_only
    client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard/")})
    stranger = app.test_client()
    fail(stranger, ACCOUNT.max_failures)
    for number in range(ADDRESS.max_failures - ACCOUNT.max_failures):  # spraying accounts
        fail(stranger, 1, email=f"guess{number}@example.org")
    assert log_in(app.test_client()).status_code == 429  # a new browser at this address
    assert log_in(client).status_code == 302


def test_a_trusted_browser_is_throttled_on_its_own(app, client, researcher):
    assert log_in(client).status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard/")})
    fail(client, TRUSTED_BROWSER.max_failures)
    assert log_in(client).status_code == 429
    assert log_in(app.test_client(), environ_base={"REMOTE_ADDR": "192.0.2.8"}).status_code == 302


def test_correct_passwords_do_not_count_against_their_address(app, researcher):
    for _ in range(ADDRESS.max_failures + 2):
        assert log_in(app.test_client()).status_code == 302


def test_backoff_doubles_and_the_window_forgets(app, client, researcher, clock):
    fail(client, ACCOUNT.max_failures)
    assert log_in(client).headers["Retry-After"] == "3"  # 2 s, rounded up
    clock.advance(2_500)
    assert log_in(client, password="wrong password!").status_code == 401
    assert log_in(client).headers["Retry-After"] == "5"  # then 4 s
    clock.advance((ACCOUNT.window_s + ACCOUNT.max_backoff_s) * 1000)
    assert log_in(client).status_code == 302


def test_logout_needs_post_and_ends_the_session(client, researcher):
    log_in(client)
    assert client.get("/logout").status_code == 405
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard/")})
    assert response.status_code == 302
    assert client.get("/dashboard/").status_code == 302


def test_logout_revokes_a_copied_session_cookie(app, client, researcher):
    log_in(client)
    thief = app.test_client()
    thief.set_cookie("glyphlab_session", client.get_cookie("glyphlab_session").value)
    assert thief.get("/dashboard/").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard/")})
    assert thief.get("/dashboard/").status_code == 302
    assert log_in(client).status_code == 302  # logging in again works


def test_changing_the_password_ends_existing_sessions(client, researcher, db_session):
    log_in(client)
    researcher.password_hash = generate_password_hash("a brand new passphrase")
    db_session.commit()
    assert client.get("/dashboard/").status_code == 302


def test_posts_without_a_csrf_token_are_refused(client, researcher):
    response = client.post("/login", data={"email": "researcher@example.org", "password": PASSWORD})
    assert response.status_code == 400
    log_in(client)
    for path in ["/logout", "/dashboard/stimulus-sets", "/dashboard/studies/new"]:
        assert client.post(path, data={}).status_code == 400, path
    assert client.get("/dashboard/").status_code == 200  # still logged in


def test_a_logged_in_page_is_not_cached(client, researcher):
    log_in(client)
    assert "no-store" in client.get("/dashboard/").headers["Cache-Control"]
