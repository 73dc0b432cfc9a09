"""Site settings: one frozen object, built once, read everywhere.

``SiteConfig.from_env()`` is the only place in glyphlab that reads ``os.environ``
(Indico's rule): the CLI, the WSGI entry point and the tests all build a ``SiteConfig``
and hand it to ``create_app``; nothing reads the environment at import time.

Environment variables (all optional):

``GLYPHLAB_DATA_DIR``
    Folder for the SQLite database, the secret key and stimulus sets.
    Default: ``./glyphlab-data``.
``GLYPHLAB_DATABASE_URL``
    SQLAlchemy URL. Default: ``sqlite:///<data dir>/glyphlab.sqlite3``. For PostgreSQL use
    ``postgresql+psycopg://user@host:5432/dbname``.
``GLYPHLAB_SECRET_KEY``
    Signs session cookies and CSRF tokens. Default: a random key created once and kept
    in ``<data dir>/secret_key`` so sessions survive a restart.
``GLYPHLAB_GRACE_MS``
    How long after a trial's deadline the server still accepts an answer as in time;
    it covers media preloading and the network. Default: 2000.
``GLYPHLAB_RT_TOLERANCE_MS``
    How far a trial's stated ``rt_ms`` may disagree with the server's own clock before
    the answer is stored with a ``timing_flag`` (and left out of the analysis): more
    than the time since the trial's media were sent, or less than the time since its
    onset (docs/participant-api.md, "Timing rules"). Default: 250.
``GLYPHLAB_MAX_BODY_BYTES``
    Largest request body the site reads; bigger ones get 413. Default: 65536.
``GLYPHLAB_INLINE_MEDIA_KB``
    A trial whose media files together are at most this many KiB gets them inside its
    JSON as ``data:`` URIs (one request instead of one per image); bigger trials get
    media URLs. 0 always sends URLs. Default: 256.
``GLYPHLAB_PROXY_COUNT``
    How many reverse proxies (nginx, Caddy) stand between the internet and the site.
    With 1, the client address and scheme are taken from the last ``X-Forwarded-For`` /
    ``X-Forwarded-Proto`` entry the proxy added; any earlier entries, which a client can
    write itself, are ignored. Default: 0 (the site is reached directly; the headers
    are ignored).
``GLYPHLAB_TRUSTED_PROXIES``
    Comma-separated addresses or networks of those proxies. A request that does not come
    from one of them has its forwarding headers removed, so a client that reaches the
    app server directly cannot claim another address. Default: ``127.0.0.1,::1``.
``GLYPHLAB_SECURE_COOKIES``
    ``1`` to mark cookies ``Secure`` (behind HTTPS), ``0`` not to. Default: on when
    ``GLYPHLAB_PROXY_COUNT`` is above 0, off otherwise (plain http on 127.0.0.1).
``GLYPHLAB_QUEUE_URL``
    Where background jobs (stimulus sets, directions, reports, exports) are queued for
    ``glyphlab worker``. Default: ``sqlite:///<data dir>/queue.sqlite3``, embedded, no
    server needed (the site and its workers share one machine). For workers on several
    machines use Redis: ``redis://127.0.0.1:6379/0``. ``memory://`` (tests only) keeps
    the queue inside one process.
``GLYPHLAB_JOB_HEARTBEAT_S``
    How often a running job tells the database it is alive; a job silent for three
    heartbeats is taken as lost (its worker was killed) and retried or failed.
    Default: 10.
``GLYPHLAB_LOCALE``
    The language of the site's own pages and of the participant texts' defaults (a
    study's own texts are whatever its researcher wrote). Default: ``en``.
``GLYPHLAB_TRANSLATIONS_DIR``
    A folder of extra catalogues (``<locale>/LC_MESSAGES/messages.mo``) searched before
    the shipped ones, so a deployment can add a language without changing the package.
``GLYPHLAB_CPU_ACCOUNTING_DIR``
    For benchmarks: each process adds up its CPU per request kind and writes it there
    at exit (``experiment/cpu_accounting.py``). Unset (the default): nothing is counted.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from babel import Locale, UnknownLocaleError

from glyphlab.errors import GlyphlabError

DEFAULT_DATA_DIR = "glyphlab-data"
SECRET_KEY_FILE = "secret_key"
DEFAULT_TRUSTED_PROXIES = ("127.0.0.1", "::1")
MAX_PROXY_COUNT = 5
ON_VALUES = {"1", "true", "yes", "on"}
OFF_VALUES = {"0", "false", "no", "off"}

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
#: queue backends ``experiment.jobs.queue`` knows (embedded, networked, in-process)
QUEUE_SCHEMES = ("sqlite:///", "redis://", "memory://")


class ConfigError(GlyphlabError):
    """A setting is missing or malformed."""


@dataclass(frozen=True)
class SiteConfig:
    """Everything the site needs to start; validated on creation."""

    data_dir: Path
    database_url: str
    secret_key: str
    grace_ms: int = 2000
    #: how far a stated rt_ms may disagree with the server's clock before it is flagged
    rt_tolerance_ms: int = 250
    max_body_bytes: int = 64 * 1024
    inline_media_bytes: int = 256 * 1024
    secure_cookies: bool = False
    proxy_count: int = 0
    trusted_proxies: tuple[IPNetwork, ...] = tuple(
        ipaddress.ip_network(address) for address in DEFAULT_TRUSTED_PROXIES
    )
    queue_url: str = "memory://"
    job_heartbeat_s: float = 10.0
    locale: str = "en"
    translations_dir: Path | None = None
    #: where each process writes its CPU per request kind at exit (benchmarks only)
    cpu_accounting_dir: Path | None = None

    def __post_init__(self) -> None:
        if not self.database_url or "://" not in self.database_url:
            raise ConfigError(
                f"GLYPHLAB_DATABASE_URL {self.database_url!r} is not a database URL; "
                "use e.g. sqlite:///glyphlab.sqlite3 or postgresql+psycopg://user@host/db"
            )
        if len(self.secret_key) < 16:
            raise ConfigError("GLYPHLAB_SECRET_KEY must be at least 16 characters long")
        if self.grace_ms < 0:
            raise ConfigError("GLYPHLAB_GRACE_MS must be 0 or more milliseconds")
        if not 0 <= self.rt_tolerance_ms <= 600_000:
            raise ConfigError("GLYPHLAB_RT_TOLERANCE_MS must be 0 to 600000 milliseconds")
        if self.max_body_bytes < 1024:
            raise ConfigError("GLYPHLAB_MAX_BODY_BYTES must be at least 1024")
        if self.inline_media_bytes < 0:
            raise ConfigError("GLYPHLAB_INLINE_MEDIA_KB must be 0 or more")
        if not 0 <= self.proxy_count <= MAX_PROXY_COUNT:
            raise ConfigError(
                f"GLYPHLAB_PROXY_COUNT must be between 0 and {MAX_PROXY_COUNT} "
                "(the number of reverse proxies in front of the site, usually 1)"
            )
        if self.proxy_count and not self.trusted_proxies:
            raise ConfigError("GLYPHLAB_TRUSTED_PROXIES must name at least one proxy address")
        if not self.queue_url.startswith(QUEUE_SCHEMES):
            raise ConfigError(
                f"GLYPHLAB_QUEUE_URL {self.queue_url!r} is not a queue URL; use "
                "sqlite:///path/queue.sqlite3 (embedded) or redis://host:6379/0"
            )
        if not 0.05 <= self.job_heartbeat_s <= 600:
            raise ConfigError("GLYPHLAB_JOB_HEARTBEAT_S must be 0.05..600 seconds")
        try:
            Locale.parse(self.locale)
        except (ValueError, UnknownLocaleError):
            raise ConfigError(
                f"GLYPHLAB_LOCALE {self.locale!r} is not a locale; use a tag like en or de_CH"
            ) from None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, existing_database: bool = False
    ) -> SiteConfig:
        """Build the settings from environment variables (see the module docstring).

        ``existing_database``: refuse, before anything is created, when the default SQLite
        database is not there (commands that only read a site's data, like ``export``,
        must not make an empty data folder somewhere else).
        """
        environ = os.environ if environ is None else environ
        data_dir = Path(environ.get("GLYPHLAB_DATA_DIR") or DEFAULT_DATA_DIR).resolve()
        database_url = environ.get("GLYPHLAB_DATABASE_URL") or default_database_url(data_dir)
        if existing_database and not environ.get("GLYPHLAB_DATABASE_URL"):
            database = data_dir / SQLITE_FILE
            if not database.is_file():
                raise ConfigError(
                    f"no glyphlab database at {database}; set GLYPHLAB_DATA_DIR to the data "
                    "folder of the site whose data you want (the demo prints its own), or "
                    "GLYPHLAB_DATABASE_URL for PostgreSQL"
                )
        secret_key = environ.get("GLYPHLAB_SECRET_KEY") or stored_secret_key(data_dir)
        proxy_count = _integer(environ, "GLYPHLAB_PROXY_COUNT", 0)
        return cls(
            data_dir=data_dir,
            database_url=database_url,
            secret_key=secret_key,
            grace_ms=_integer(environ, "GLYPHLAB_GRACE_MS", 2000),
            rt_tolerance_ms=_integer(environ, "GLYPHLAB_RT_TOLERANCE_MS", 250),
            max_body_bytes=_integer(environ, "GLYPHLAB_MAX_BODY_BYTES", 64 * 1024),
            inline_media_bytes=1024 * _integer(environ, "GLYPHLAB_INLINE_MEDIA_KB", 256),
            secure_cookies=_switch(environ, "GLYPHLAB_SECURE_COOKIES", proxy_count > 0),
            proxy_count=proxy_count,
            trusted_proxies=networks(
                environ.get("GLYPHLAB_TRUSTED_PROXIES") or ",".join(DEFAULT_TRUSTED_PROXIES)
            ),
            queue_url=environ.get("GLYPHLAB_QUEUE_URL") or default_queue_url(data_dir),
            job_heartbeat_s=_number(environ, "GLYPHLAB_JOB_HEARTBEAT_S", 10.0),
            locale=environ.get("GLYPHLAB_LOCALE") or "en",
            translations_dir=_path(environ, "GLYPHLAB_TRANSLATIONS_DIR"),
            cpu_accounting_dir=_path(environ, "GLYPHLAB_CPU_ACCOUNTING_DIR"),
        )


def _path(environ: Mapping[str, str], name: str) -> Path | None:
    text = environ.get(name)
    return Path(text).resolve() if text else None


def _integer(environ: Mapping[str, str], name: str, default: int) -> int:
    text = environ.get(name)
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {text!r}") from None


def _switch(environ: Mapping[str, str], name: str, default: bool) -> bool:
    text = (environ.get(name) or "").strip().lower()
    if not text:
        return default
    if text in ON_VALUES | OFF_VALUES:
        return text in ON_VALUES
    raise ConfigError(f"{name} must be 1 or 0, not {text!r}")


def networks(text: str) -> tuple[IPNetwork, ...]:
    """Addresses and networks (``10.0.0.0/8``) from comma-separated text."""
    found = []
    for part in filter(None, (item.strip() for item in text.split(","))):
        try:
            found.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ConfigError(
                f"GLYPHLAB_TRUSTED_PROXIES: {part!r} is not an IP address or network; "
                "use e.g. 127.0.0.1,::1 or 10.0.0.0/8"
            ) from None
    return tuple(found)


def _number(environ: Mapping[str, str], name: str, default: float) -> float:
    text = environ.get(name)
    if not text:
        return default
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {text!r}") from None


def default_queue_url(data_dir: Path) -> str:
    """The embedded default queue: one SQLite file beside the database."""
    return f"sqlite:///{data_dir / 'queue.sqlite3'}"


#: the embedded database's file name inside the data folder
SQLITE_FILE = "glyphlab.sqlite3"


def default_database_url(data_dir: Path) -> str:
    """The embedded default: one SQLite file inside the data folder."""
    return f"sqlite:///{data_dir / SQLITE_FILE}"


def stored_secret_key(data_dir: Path) -> str:
    """Read the site's secret key from the data folder, creating it on first use.

    The key is written to a temporary file and hard-linked into place, which fails if the
    file exists: several server workers starting at once therefore agree on one key and
    none can read a half-written one.
    """
    key_file = data_dir / SECRET_KEY_FILE
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        if not key_file.exists():
            candidate = data_dir / f".{SECRET_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
            candidate.write_text(secrets.token_hex(32), encoding="ascii")
            candidate.chmod(0o600)
            try:
                os.link(candidate, key_file)
            except FileExistsError:
                pass
            finally:
                candidate.unlink()
        return key_file.read_text(encoding="ascii").strip()
    except OSError as error:
        raise ConfigError(
            f"GLYPHLAB_DATA_DIR {data_dir} cannot be used ({error.strerror or error}); "
            "point it at a writable folder or set GLYPHLAB_SECRET_KEY"
        ) from None
