"""Slow down password guessing: a bounded count of failed logins per address and account.

A sliding window per key (the client address, and the e-mail tried) in process memory.
It is per server process, so with N workers an attacker gets at most N times the
allowance; that is still a few dozen guesses per window against scrypt hashes, which is
what the limiter is for. A successful login clears the account's record, not the
address's: logging in to one's own account must not reset a spraying client's allowance.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

#: Keys tracked at most; the oldest are dropped first so memory stays bounded under a
#: spray of random addresses or e-mails.
MAX_KEYS = 10_000


@dataclass
class LoginThrottle:
    """Allow ``max_failures`` failed logins per key within ``window_s`` seconds."""

    max_failures: int = 5
    window_s: float = 900.0
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, deque[float]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def retry_after(self, *keys: str) -> float:
        """Seconds until any of ``keys`` may try again; 0 when all may try now."""
        now = self.clock()
        wait = 0.0
        with self._lock:
            for key in keys:
                stamps = self._prune(key, now)
                if stamps is not None and len(stamps) >= self.max_failures:
                    wait = max(wait, stamps[0] + self.window_s - now)
        return wait

    def failed(self, *keys: str) -> None:
        """Record one failed attempt against each key."""
        now = self.clock()
        with self._lock:
            for key in keys:
                stamps = self._failures.pop(key, None) or deque()
                stamps.append(now)
                while len(stamps) > self.max_failures:
                    stamps.popleft()
                self._failures[key] = stamps  # re-inserted: dict order = least recent first
            while len(self._failures) > MAX_KEYS:
                del self._failures[next(iter(self._failures))]

    def succeeded(self, *keys: str) -> None:
        """Forget the failures of ``keys`` after a correct password."""
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)

    def _prune(self, key: str, now: float) -> deque[float] | None:
        stamps = self._failures.get(key)
        if stamps is None:
            return None
        while stamps and stamps[0] <= now - self.window_s:
            stamps.popleft()
        if not stamps:
            del self._failures[key]
            return None
        return stamps
