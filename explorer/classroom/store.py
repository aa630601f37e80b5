"""Where classes live: one small key-value interface, kept in this process or in Redis.

``Classroom`` (``explorer.classroom.classes``) is written once against ``Store``; the two
backends only keep bytes. ``MemoryStore`` is the default (one server process, nothing to
install); ``RedisStore`` (``explorer.classroom.redis_store``) is chosen by
``EXPLORER_REDIS_URL`` so that several replicas behind a load balancer share classes.

Announcements (``announce``/``listen``) tell every replica at once that a class changed, so
that its followers need not wait for their next poll; a lost one costs only that wait.

Expiry times are garbage collection only: whether a class is still running is decided
from the times written *in* its records, with ``Classroom``'s clock, so the logic is the
same in both backends and can be tested with a fake clock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Protocol

from explorer.core.errors import UserError

_LOGGER = logging.getLogger(__name__)

def tell(listeners: Iterable[Callable[[str], None]], message: str) -> None:
    """Hand ``message`` to every listener; one listener's fault neither stops the others nor the announcer."""
    for listener in list(listeners):
        try:
            listener(message)
        except Exception:
            _LOGGER.exception("A class listener failed")


class StoreUnavailable(UserError):
    """The class store cannot be reached; ``str(error)`` is the one sentence a teacher sees."""

    def __init__(self) -> None:
        super().__init__(
            "Class mode is off for now: this server cannot reach its class store (Redis); "
            "everything else keeps working, and a new class can be started once it is back."
        )


class Store(Protocol):
    """Bytes under string keys, each with an expiry in seconds, plus sets of members with a time each."""

    def add(self, key: str, value: bytes, ttl_s: float) -> bool:
        """Store ``value`` only if ``key`` is free; whether it was stored."""

    def put(self, key: str, value: bytes, ttl_s: float) -> None: ...

    def get_many(self, keys: list[str]) -> list[bytes | None]:
        """The values of ``keys``, read together (one round trip, one moment)."""

    def update(self, key: str, change: Callable[[bytes | None], bytes | None], ttl_s: float) -> bytes | None:
        """Replace the value with ``change(old)`` atomically (None from ``change``: leave it); the new value."""

    def delete(self, keys: Iterable[str]) -> None: ...

    def expire(self, keys: Iterable[str], ttl_s: float) -> None:
        """Give existing keys a new expiry."""

    def beat(self, key: str, member: str, when: float, ttl_s: float) -> None:
        """Record that ``member`` of the set ``key`` was seen at ``when``."""

    def drop(self, key: str, member: str) -> None: ...

    def count_since(self, key: str, since: float) -> int:
        """How many members of ``key`` were seen at ``since`` or later (older ones are forgotten)."""

    def announce(self, message: str) -> None:
        """Tell every listener, in this process and in every replica sharing the store (best effort)."""

    def listen(self, callback: Callable[[str], None]) -> None:
        """From now on, ``callback(message)`` for every announcement (called in some thread of this process)."""


class MemoryStore:
    """The in-process backend: a dict behind one lock, expiring keys as they are read or every 256 writes."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._values: dict[str, tuple[object, float]] = {}  # key -> (bytes or {member: when}, expires at)
        self._lock = threading.Lock()
        self._writes = 0
        self._listeners: list[Callable[[str], None]] = []

    def _live(self, key: str):
        found = self._values.get(key)
        if found is None:
            return None
        if found[1] <= self.clock():
            del self._values[key]
            return None
        return found[0]

    def _set(self, key: str, value: object, ttl_s: float) -> None:
        self._values[key] = (value, self.clock() + ttl_s)
        self._writes += 1
        if self._writes % 256 == 0:  # keys nobody reads again still go
            now = self.clock()
            for stale in [k for k, (_, until) in self._values.items() if until <= now]:
                del self._values[stale]

    def add(self, key: str, value: bytes, ttl_s: float) -> bool:
        with self._lock:
            if self._live(key) is not None:
                return False
            self._set(key, bytes(value), ttl_s)
            return True

    def put(self, key: str, value: bytes, ttl_s: float) -> None:
        with self._lock:
            self._set(key, bytes(value), ttl_s)

    def get_many(self, keys: list[str]) -> list[bytes | None]:
        with self._lock:
            return [value if isinstance(value := self._live(key), bytes) else None for key in keys]

    def update(self, key: str, change: Callable[[bytes | None], bytes | None], ttl_s: float) -> bytes | None:
        with self._lock:
            old = self._live(key)
            new = change(old if isinstance(old, bytes) else None)
            if new is not None:
                self._set(key, bytes(new), ttl_s)
            return new

    def delete(self, keys: Iterable[str]) -> None:
        with self._lock:
            for key in keys:
                self._values.pop(key, None)

    def expire(self, keys: Iterable[str], ttl_s: float) -> None:
        with self._lock:
            for key in keys:
                if (value := self._live(key)) is not None:
                    self._values[key] = (value, self.clock() + ttl_s)

    def beat(self, key: str, member: str, when: float, ttl_s: float) -> None:
        with self._lock:
            members = self._live(key)
            members = dict(members) if isinstance(members, dict) else {}
            members[member] = when
            self._set(key, members, ttl_s)

    def drop(self, key: str, member: str) -> None:
        with self._lock:
            members = self._live(key)
            if isinstance(members, dict):
                members.pop(member, None)

    def count_since(self, key: str, since: float) -> int:
        with self._lock:
            members = self._live(key)
            if not isinstance(members, dict):
                return 0
            for gone in [m for m, when in members.items() if when < since]:
                del members[gone]
            return len(members)

    def announce(self, message: str) -> None:
        tell(self._listeners, message)  # in the announcing thread: listeners only hand the work on

    def listen(self, callback: Callable[[str], None]) -> None:
        self._listeners.append(callback)
