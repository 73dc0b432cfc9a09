"""The HTTP servers ``glyphlab serve --server NAME`` can run the site with.

One module per server, each a :class:`~experiment.servers.base.Server` (a name, a help
line, ``serve(config, options)``); ``SERVERS`` is the registry the CLI's choice and the
load benchmark's ``--server`` are built from. Adding a server is its module plus one line
here. Every server leaves forwarding headers to the site (experiment/proxy.py) and keeps
a request body to ``config.max_body_bytes`` (the app refuses a longer one with 413).
"""

from __future__ import annotations

from experiment.servers import granian, gunicorn, waitress
from experiment.servers.base import ServeOptions, Server

SERVERS: dict[str, Server] = {
    server.name: server for server in (waitress.SERVER, gunicorn.SERVER, granian.SERVER)
}

__all__ = ["SERVERS", "ServeOptions", "Server"]
