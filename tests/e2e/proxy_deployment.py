"""The shipped deployment recipe, run for real: nginx (Debian's) terminating TLS with a
self-signed certificate, in front of two ``glyphlab serve --server granian`` processes on
one PostgreSQL database.

nginx runs as a child process of the test with its own configuration, pid file, logs and
temp folders under the test's tmp folder, on free loopback ports; no system service is
touched. Its site configuration is ``deploy/nginx/glyphlab.conf`` with the placeholders
filled in, exactly as docs/deploy.md tells an administrator to do.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from glyphlab.site_process import SiteProcess, free_port

RECIPE = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "glyphlab.conf"
SERVER_NAME = "localhost"


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx",) if Path(path).exists()), None
    )


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for localhost (and 127.0.0.1), valid two days, and its key."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def render_recipe(values: dict[str, str]) -> str:
    """``deploy/nginx/glyphlab.conf`` with every ``@PLACEHOLDER@`` filled in."""
    text = RECIPE.read_text(encoding="utf-8")
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert "@" not in body, "a placeholder of the recipe was left unfilled"
    return text


MAIN_CONFIG = """
worker_processes 1;
{user}
pid {run}/nginx.pid;
error_log {run}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    log_format upstream '$remote_addr "$request" $status upstream=$upstream_addr';
    access_log {run}/access.log upstream;
    client_body_temp_path {run}/client_body;
    proxy_temp_path {run}/proxy;
    fastcgi_temp_path {run}/fastcgi;
    uwsgi_temp_path {run}/uwsgi;
    scgi_temp_path {run}/scgi;
    include {run}/glyphlab.conf;
}}
"""


class NginxProcess:
    """nginx in the foreground as a child process, all its files under ``folder``."""

    def __init__(self, binary: str, folder: Path, site_config: str, https_port: int) -> None:
        self.binary, self.folder, self.https_port = binary, folder, https_port
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "glyphlab.conf").write_text(site_config, encoding="utf-8")
        # As root, nginx would hand its workers to "nobody", who cannot write the temp
        # folders inside a private tmp folder.
        user = "user root;" if os.geteuid() == 0 else ""
        (folder / "nginx.conf").write_text(MAIN_CONFIG.format(run=folder, user=user))
        self.process: subprocess.Popen | None = None

    def command(self, *extra: str) -> list[str]:
        config = self.folder / "nginx.conf"
        log = self.folder / "error.log"
        return [self.binary, "-p", str(self.folder), "-c", str(config), "-e", str(log), *extra]

    def start(self, verify: ssl.SSLContext) -> NginxProcess:
        """Start nginx and wait until the site answers through it (stopped on failure)."""
        checked = subprocess.run(self.command("-t", "-q"), capture_output=True, text=True)
        assert checked.returncode == 0, f"nginx -t: {checked.stderr}"
        with (self.folder / "stderr.log").open("ab") as stderr:
            self.process = subprocess.Popen(
                self.command("-g", "daemon off;"), stdout=subprocess.DEVNULL, stderr=stderr
            )
        try:
            self._wait_until_ready(verify)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_ready(self, verify: ssl.SSLContext) -> None:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(httpx.TransportError):
                url = f"https://{SERVER_NAME}:{self.https_port}/login"
                if httpx.get(url, verify=verify, timeout=2.0).status_code == 200:
                    return
            assert self.process.poll() is None, self.log()
            assert time.monotonic() < deadline, f"nginx did not answer: {self.log()}"
            time.sleep(0.2)

    def log(self) -> str:
        return (self.folder / "error.log").read_text(errors="replace")[-3000:]

    def access_log(self) -> str:
        return (self.folder / "access.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful shutdown
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Deployment:
    url: str
    slug: str
    database_url: str
    email: str
    password: str
    certificate: Path
    app_servers: list[SiteProcess]
    nginx: NginxProcess

    def tls(self) -> ssl.SSLContext:
        """A TLS context that trusts the deployment's self-signed certificate."""
        return trusting(self.certificate)


def trusting(certificate: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate))


def start_app_servers(environment: dict[str, str], folder: Path) -> list[SiteProcess]:
    """Two granian instances (one worker, four threads each) on one database, as the
    recipe's systemd unit runs them."""
    servers = []
    for number in (1, 2):
        servers.append(
            SiteProcess(
                environment,
                serve_args=(
                    "--server",
                    "granian",
                    "--workers",
                    "1",
                    "--threads",
                    "4",
                    "--no-worker",
                ),
                log_path=folder / f"app-{number}.log",
            ).start()
        )
    return servers


def nginx_for(servers: list[SiteProcess], folder: Path, binary: str) -> tuple[NginxProcess, Path]:
    cert, key = self_signed_certificate(folder)
    https_port, http_port = free_port(), free_port()
    site_config = render_recipe(
        {
            "SERVER_NAME": SERVER_NAME,
            "HTTPS_PORT": f"127.0.0.1:{https_port}",
            "HTTP_PORT": f"127.0.0.1:{http_port}",
            "APP_PORT_1": str(servers[0].port),
            "APP_PORT_2": str(servers[1].port),
            "CERTIFICATE": str(cert),
            "CERTIFICATE_KEY": str(key),
        }
    )
    nginx = NginxProcess(binary, folder / "nginx", site_config, https_port)
    return nginx.start(verify=trusting(cert)), cert
