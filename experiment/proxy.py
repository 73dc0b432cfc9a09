"""Trust a reverse proxy's forwarding headers only when the request came through it.

Behind nginx the site sees every request from the proxy's address over plain http; the
proxy says who the client was and which scheme it used in ``X-Forwarded-For`` and
``X-Forwarded-Proto``. Werkzeug's ``ProxyFix`` reads the last ``proxy_count`` entries of
those headers (the ones the proxies wrote, not the ones a client sent along), so
``request.remote_addr`` is the client's (the login throttle counts per client) and
``request.host_url`` is ``https://...`` (the same-origin check, Flask-WTF's referrer check
and ``Secure`` cookies then agree with the browser).

``ProxyFix`` alone would believe anybody who reached the app server directly (a port
left open, a neighbour on the same network), so :class:`TrustedProxies` applies it only
when the connecting peer is in the allow-list and otherwise removes the headers.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from werkzeug.middleware.proxy_fix import ProxyFix

from experiment.config import IPNetwork

#: WSGI keys of the headers ProxyFix reads (and the ones it would read if extended).
FORWARDING_KEYS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_PREFIX",
    "HTTP_FORWARDED",
)


class TrustedProxies:
    """WSGI middleware: ``ProxyFix(x_for=n, x_proto=n)`` for requests from a trusted
    proxy; forwarding headers dropped for everyone else.

    The ``Host`` header is taken as the proxy passes it (the recipe's nginx sends the
    client's), so ``X-Forwarded-Host`` is never read.
    """

    def __init__(self, app: Any, *, proxy_count: int, trusted: Iterable[IPNetwork]) -> None:
        self.app = app
        self.trusted = tuple(trusted)
        self.fixed = ProxyFix(app, x_for=proxy_count, x_proto=proxy_count, x_host=0, x_port=0)

    def is_trusted(self, peer: str | None) -> bool:
        try:
            address = ipaddress.ip_address(peer or "")
        except ValueError:  # a Unix socket peer has no address
            return False
        return any(address in network for network in self.trusted)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self.is_trusted(environ.get("REMOTE_ADDR")):
            return self.fixed(environ, start_response)
        for key in FORWARDING_KEYS:
            environ.pop(key, None)
        return self.app(environ, start_response)
