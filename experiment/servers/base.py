"""What a server plugin is: a name, a help line and ``serve``, which blocks until stopped."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from experiment.config import SiteConfig


@dataclass(frozen=True)
class ServeOptions:
    """``glyphlab serve``'s options, as every server gets them (each reads what it uses)."""

    host: str
    port: int
    workers: int
    threads: int
    control_socket: Path | None = None


class Server(Protocol):
    name: str
    help: str

    def serve(self, config: SiteConfig, options: ServeOptions) -> None:
        """Run the site until SIGTERM or SIGINT, then stop gracefully."""
