"""A lean HTTP/1.1 client for the load generator: one keep-alive connection per tab.

The generator shares the machine with the server it measures, so each request it sends
is CPU the server does not get. httpx costs about as much CPU per request as a tuned
server view (connection pools, header models, cookie jars, URL objects), which made the
benchmark measure the client as much as the site. Here a request is one formatted
bytes string written to an asyncio stream, and a reply is a status line, a header block
split once, and a body read by ``Content-Length`` (or chunks); cookies are kept as
``name=value`` pairs, which is all the site sets. ``https://`` URLs (the nginx
deployment test) verify the certificate with the default trust store, which honours
``SSL_CERT_FILE``. Loopback only (``LoadConfig`` checks).
"""

from __future__ import annotations

import asyncio
import functools
import json
import ssl
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

#: what counts as the network failing (the request is retried on a new connection)
TRANSPORT_ERRORS = (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError)


class TransportFailure(Exception):
    """The connection broke or timed out before a whole reply arrived."""


@dataclass
class Reply:
    """A whole HTTP reply: status, headers (lower-case names), body bytes."""

    status_code: int
    headers: dict[str, str]
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


@dataclass
class Browser:
    """What one participant's browser keeps: a connection to the site and its cookies."""

    base_url: str
    timeout_s: float = 30.0
    cookies: dict[str, str] = field(default_factory=dict)
    _streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def close(self) -> None:
        if self._streams is not None:
            writer = self._streams[1]
            self._streams = None
            writer.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        json_body: Any = None,
        form: dict[str, str] | None = None,
    ) -> Reply:
        """Send one request on the kept connection (opening one if needed); any failure
        to get a whole reply closes the connection and raises :class:`TransportFailure`."""
        body = b""
        lines = [f"{method} {path}{'?' + urlencode(params) if params else ''} HTTP/1.1"]
        lines.append(f"Host: {urlsplit(self.base_url).netloc}")
        if json_body is not None:
            body = json.dumps(json_body, separators=(",", ":")).encode()
            lines.append("Content-Type: application/json")
        elif form is not None:
            body = urlencode(form).encode()
            lines.append("Content-Type: application/x-www-form-urlencoded")
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        lines.extend(f"{name}: {value}" for name, value in (headers or {}).items())
        message = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        try:
            return await asyncio.wait_for(self._exchange(message), self.timeout_s)
        except (*TRANSPORT_ERRORS, TimeoutError) as error:
            await self.close()
            raise TransportFailure(type(error).__name__) from None

    async def _exchange(self, message: bytes) -> Reply:
        if self._streams is None:
            split = urlsplit(self.base_url)
            tls = _tls_context() if split.scheme == "https" else None
            port = split.port or (443 if tls else 80)
            self._streams = await asyncio.open_connection(split.hostname, port, ssl=tls)
        reader, writer = self._streams
        writer.write(message)
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in head[1:-2]:
            name, _, value = line.partition(":")
            name, value = name.lower(), value.strip()
            if name == "set-cookie":
                cookie, _, _attributes = value.partition(";")
                key, _, cookie_value = (part.strip() for part in cookie.partition("="))
                if cookie_value:
                    self.cookies[key] = cookie_value
                else:  # the site cleared it
                    self.cookies.pop(key, None)
            headers[name] = value
        if headers.get("transfer-encoding", "").lower() == "chunked":
            content = await _read_chunks(reader)
        else:
            content = await reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return Reply(status, headers, content)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()  # reads the trust store once, not per connection


async def _read_chunks(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
    await reader.readuntil(b"\r\n")  # the empty trailer
    return b"".join(parts)
