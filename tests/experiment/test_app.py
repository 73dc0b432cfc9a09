"""The app factory: settings, error pages, security headers, the ensure_sync memo."""

import pytest

from experiment import create_app
from experiment.app import SiteFlask
from experiment.config import ConfigError, SiteConfig


def test_factory_uses_the_given_config(app, site_config):
    assert app.config["SECRET_KEY"] == site_config.secret_key
    assert app.config["MAX_CONTENT_LENGTH"] == site_config.max_body_bytes
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_unknown_page_is_a_plain_404_with_security_headers(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert b"<h1>" in response.data
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_unknown_api_url_answers_json(client):
    response = client.get("/s/nothing/api/next")
    assert response.status_code == 404
    assert response.is_json and response.json["status"] == 404


def test_factory_without_config_reads_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("GLYPHLAB_DATA_DIR", str(tmp_path))
    app = create_app()
    assert app.extensions["glyphlab.site"].config.data_dir == tmp_path


def test_site_settings_from_the_environment(tmp_path):
    config = SiteConfig.from_env(
        {
            "GLYPHLAB_DATA_DIR": str(tmp_path),
            "GLYPHLAB_GRACE_MS": "500",
            "GLYPHLAB_MAX_BODY_BYTES": "4096",
            "GLYPHLAB_SECURE_COOKIES": "1",
        }
    )
    assert (config.grace_ms, config.max_body_bytes, config.secure_cookies) == (500, 4096, True)
    with pytest.raises(ConfigError, match="whole number"):
        SiteConfig.from_env({"GLYPHLAB_DATA_DIR": str(tmp_path), "GLYPHLAB_GRACE_MS": "soon"})
    with pytest.raises(ConfigError, match="at least 1024"):
        SiteConfig.from_env({"GLYPHLAB_DATA_DIR": str(tmp_path), "GLYPHLAB_MAX_BODY_BYTES": "10"})


def test_ensure_sync_is_remembered_per_function_and_the_memo_stays_bounded(app):
    assert isinstance(app, SiteFlask)
    view = app.view_functions["participant_api.start"]
    assert app.ensure_sync(view) is app.ensure_sync(view) is view
    closures = [lambda n=n: n for n in range(SiteFlask.MEMO_LIMIT + 10)]
    assert [app.ensure_sync(c)() for c in closures] == list(range(len(closures)))
    assert len(app._sync) <= SiteFlask.MEMO_LIMIT
