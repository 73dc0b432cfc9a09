"""``glyphlab db`` and ``glyphlab serve`` (the server itself is replaced by a recorder)."""

from pathlib import Path

import pytest
import waitress
from click.testing import CliRunner

from glyphlab.cli import main


def test_serve_refuses_an_old_schema_until_upgraded(tmp_path, monkeypatch):
    monkeypatch.setenv("GLYPHLAB_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("GLYPHLAB_DATABASE_URL", raising=False)
    served = []
    monkeypatch.setattr(waitress, "serve", lambda app, **kw: served.append((app, kw)))
    runner = CliRunner()

    current = runner.invoke(main, ["db", "current"])
    assert current.exit_code == 0 and "migration none" in current.output

    refused = runner.invoke(main, ["serve"])
    assert refused.exit_code == 1
    assert "run `glyphlab db upgrade` first" in refused.output
    assert served == []

    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    assert "up to date" in runner.invoke(main, ["db", "current"]).output

    started = runner.invoke(main, ["serve", "--port", "5099", "--threads", "4"])
    assert started.exit_code == 0, started.output
    ((app, options),) = served
    assert options == {
        "host": "127.0.0.1",
        "port": 5099,
        "threads": 4,
        "ident": "glyphlab",
        "max_request_body_size": 64 * 1024,
        "connection_limit": 1000,
        "asyncore_use_poll": True,
    }
    assert app.name == "experiment"


@pytest.mark.parametrize(
    ("soft", "hard", "expected"),
    [(1024, 524288, 1100), (256, 512, 512), (4096, 4096, 4096)],
)
def test_the_open_file_limit_is_raised_as_far_as_allowed(monkeypatch, soft, hard, expected):
    import resource

    from experiment.servers.waitress import raise_open_file_limit

    limits = {"now": (soft, hard)}
    monkeypatch.setattr(resource, "getrlimit", lambda _kind: limits["now"])
    monkeypatch.setattr(resource, "setrlimit", lambda _kind, value: limits.update(now=value))
    assert raise_open_file_limit(1100) == expected
    assert limits["now"] == (max(soft, min(1100, hard)), hard)


def test_each_gunicorn_instance_gets_its_own_control_socket(tmp_path, monkeypatch):
    """Two app servers on one machine (deploy/) used to share ~/.gunicorn/gunicorn.ctl."""
    from experiment.servers import gunicorn

    monkeypatch.setenv("GLYPHLAB_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("GLYPHLAB_DATABASE_URL", raising=False)
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    started = []
    monkeypatch.setattr(
        gunicorn,
        "run_gunicorn",
        lambda _config, settings: started.append(Path(settings["control_socket"])),
    )
    for port in ("8001", "8002"):
        result = runner.invoke(main, ["serve", "--server", "gunicorn", "--port", port])
        assert result.exit_code == 0, result.output
    assert started == [tmp_path / "gunicorn-8001.ctl", tmp_path / "gunicorn-8002.ctl"]
    chosen = tmp_path / "run" / "site.ctl"
    runner.invoke(main, ["serve", "--server", "gunicorn", "--control-socket", str(chosen)])
    assert started[-1] == chosen and chosen.parent.is_dir()

    settings = gunicorn.gunicorn_settings("127.0.0.1", 8001, 2, 8, started[0])
    assert settings["control_socket"] == str(tmp_path / "gunicorn-8001.ctl")
    assert settings["forwarded_allow_ips"] == ""  # forwarding headers: the site's rule only
