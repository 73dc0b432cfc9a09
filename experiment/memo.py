"""A per-process memo that cannot grow without bound: when full, it starts again.

What a process keeps about tabs and trials (plans, the trials it served) is only ever a
shortcut past a query, so losing it all at once costs a few reads, never a wrong answer;
a bounded memo that simply starts over needs no eviction order and no lock on reads.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

Key = TypeVar("Key")
Value = TypeVar("Value")


class BoundedMemo(Generic[Key, Value]):
    """At most ``size`` entries; adding one to a full memo empties it first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: dict[Key, Value] = {}
        self._lock = threading.Lock()

    def get(self, key: Key) -> Value | None:
        return self._items.get(key)

    def put(self, key: Key, value: Value) -> None:
        with self._lock:
            if len(self._items) >= self.size:
                self._items.clear()
            self._items[key] = value

    def pop(self, key: Key) -> None:
        self._items.pop(key, None)

    def __len__(self) -> int:
        return len(self._items)
