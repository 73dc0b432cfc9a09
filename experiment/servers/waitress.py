"""waitress: one process, threads, any platform (the default, for SQLite)."""

from __future__ import annotations

from dataclasses import dataclass

from experiment.config import SiteConfig
from experiment.servers.base import ServeOptions

#: Open connections waitress serves at once. Its default, 100, is about 20 browsers (each
#: keeps a few connections open): past it new participants wait at the door until an
#: idle connection times out, two minutes later.
WAITRESS_CONNECTIONS = 1000
#: Files (sockets) left to the rest of the process: database, stimulus files, logs.
SPARE_FILES = 100


def raise_open_file_limit(wanted: int) -> int:
    """Lift this process's soft limit on open files to ``wanted`` where the hard limit
    allows (a common soft limit is 1024); returns the limit in force afterwards (``wanted``
    where there is none)."""
    try:
        import resource
    except ImportError:  # Windows has no such limit
        return wanted
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return wanted if soft == resource.RLIM_INFINITY else soft
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


@dataclass(frozen=True)
class Waitress:
    name: str = "waitress"
    help: str = "one process, threads (any platform; the default)"

    def serve(self, config: SiteConfig, options: ServeOptions) -> None:
        import waitress

        from experiment import create_app

        open_files = raise_open_file_limit(WAITRESS_CONNECTIONS + SPARE_FILES)
        # waitress reads a whole body (up to 1 GiB by default, spooled to disk) before the
        # app sees its Content-Length; the site's own limit stops that at the socket.
        waitress.serve(
            create_app(config),
            host=options.host,
            port=options.port,
            threads=options.threads,
            ident="glyphlab",
            max_request_body_size=config.max_body_bytes,
            connection_limit=min(WAITRESS_CONNECTIONS, open_files - SPARE_FILES),
            asyncore_use_poll=True,  # select() cannot watch sockets numbered past 1023
        )


SERVER = Waitress()
