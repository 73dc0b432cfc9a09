"""gunicorn: worker processes x threads (gthread), for PostgreSQL deployments.

Each worker builds its own app and engine after the fork. Several instances on one
machine (the two app servers of deploy/, each its own systemd unit) each get their own
control socket, named after the port, instead of sharing gunicorn's per-user default:
otherwise the second instance takes the first one's socket and ``gunicornc`` talks to the
wrong server. gunicorn's own ``X-Forwarded-Proto`` handling is switched off so there is
one rule (experiment/proxy.py). Outside the CLI: ``gunicorn 'experiment:create_app()'``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from experiment.config import SiteConfig
from experiment.servers.base import ServeOptions


def gunicorn_settings(
    host: str, port: int, workers: int, threads: int, control_socket: Path
) -> dict[str, object]:
    """The gunicorn settings ``serve`` runs with (a function, so tests can read them)."""
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "accesslog": None,
        "graceful_timeout": 5,
        # A participant's connection idles for one think time between trials;
        # gthread parks idle connections without a thread, so keeping them for
        # a few trials is cheap and saves a reconnect (and a race) per trial.
        "keepalive": 15,
        "control_socket": str(control_socket),
        "forwarded_allow_ips": "",
    }


def run_gunicorn(config: SiteConfig, settings: dict[str, object]) -> None:
    from gunicorn.app.base import BaseApplication

    from experiment import create_app

    class Site(BaseApplication):
        def load_config(self) -> None:
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self):
            return create_app(config)

    Site().run()


@dataclass(frozen=True)
class Gunicorn:
    name: str = "gunicorn"
    help: str = "worker processes x threads (gthread; not on Windows)"

    def serve(self, config: SiteConfig, options: ServeOptions) -> None:
        socket = options.control_socket or config.data_dir / f"gunicorn-{options.port}.ctl"
        socket.parent.mkdir(parents=True, exist_ok=True)
        settings = gunicorn_settings(
            options.host, options.port, options.workers, options.threads, socket
        )
        run_gunicorn(config, settings)


SERVER = Gunicorn()
