"""The server's private training copies, held in one store with one memory budget for the whole class.

Every student who trains gets a private copy of a network (weights, gradients, the
last finite weights and the optimiser's state). Kept in each browser session, those
copies grew without bound: thirteen students on VGG-16 would exhaust a 24 GB server,
and the kernel would then end everyone's work at once. Here they live in one store
instead, keyed by the owner (a browser session's id), and the store refuses a copy
that would not fit, in one sentence that says how much is held and by how many.

- ``put`` reserves the bytes first and only then builds the copy, so a refused
  request costs nothing; an owner's previous copy is let go before its new one is made.
- ``resize`` follows a copy whose settings change what it holds (momentum keeps one
  more tensor per weight, Adam two): the reservation grows before the optimiser's
  state exists, or the change is refused in one sentence and the copy keeps what it
  had; going back shrinks it. Reserving Adam's worst case for every copy instead would
  have cost the class two fifths of its places to guard a setting most students
  never choose (the lab trains with plain SGD).
- Copies of owners that are gone (a closed browser tab) are freed by ``sweep``.
- Under pressure, a copy idle for ``idle_s`` seconds or more may be put away to make
  room; its owner is told once, in one sentence, the next time they ask for it.

The store does not know Streamlit: pages pass the owner ids and the set of live
sessions in. Estimates come from ``training_bytes``, a sum over the copy's tensors.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from explorer.core.errors import UserError
from explorer.core.memory import format_bytes

log = logging.getLogger(__name__)

ENVIRONMENT_VARIABLE = "EXPLORER_TRAINING_MEMORY_GB"
IDLE_S = 20 * 60  # a copy untouched this long may be put away when another student needs the room
# The share of physical memory the server gives training copies by default, before what the
# shared models and caches hold is taken off.
DEFAULT_SHARE = 0.5
# What the rest of the server holds at most: four shared models (VGG-19-BN, the largest, is 550 MB
# each) and the bounded page caches, plus the imports (about 0.7 GB).
SHARED_RESERVE_BYTES = int(3.5 * 1000**3)
SMALLEST_DEFAULT_BYTES = int(0.5 * 1000**3)
# Tensors one training copy keeps per parameter: the weights, their gradients and the last
# finite weights (to undo a diverged step); momentum adds one buffer, Adam two.
_COPIES_PER_OPTIMIZER = {"sgd": 3, "momentum": 4, "adam": 5}


class BudgetFull(UserError):
    """A training copy that does not fit the server's budget; ``str(error)`` is one sentence."""


def training_bytes(parameter_bytes: int, optimizer: str = "sgd", activation_bytes: int = 0) -> int:
    """Bytes one private training copy holds: its tensors per parameter byte, and one batch's activations."""
    return parameter_bytes * _COPIES_PER_OPTIMIZER.get(optimizer, max(_COPIES_PER_OPTIMIZER.values())) + activation_bytes


def physical_memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not a POSIX system
        return None


def default_limit_bytes(physical: int | None = None) -> int:
    """A share of physical memory, less what the shared models and caches may hold."""
    physical = physical_memory_bytes() if physical is None else physical
    if physical is None:
        return 4 * 1000**3
    return max(SMALLEST_DEFAULT_BYTES, int(physical * DEFAULT_SHARE) - SHARED_RESERVE_BYTES)


def limit_from_environment(environ=os.environ) -> int:
    """``EXPLORER_TRAINING_MEMORY_GB`` in bytes; anything but a positive number is logged in a sentence and ignored."""
    raw = environ.get(ENVIRONMENT_VARIABLE)
    default = default_limit_bytes()
    if raw is None or not raw.strip():
        return default
    try:
        gigabytes = float(raw)
    except ValueError:
        gigabytes = float("nan")
    if not (gigabytes > 0 and gigabytes != float("inf")):
        log.warning("%s=%r is not a positive number of gigabytes, so the default of %s is used.",
                    ENVIRONMENT_VARIABLE, raw[:40], format_bytes(default))
        return default
    return int(gigabytes * 1000**3)


@dataclass
class _Held:
    key: tuple
    label: str  # "ResNet-18 at 224×224", for the sentences
    nbytes: int
    copy: object = field(repr=False)
    last_used: float
    settings: str = ""  # what the reservation was sized for ("SGD", "Adam"), for the sentences


class TrainingCopies:
    """Private training copies of the whole server, at most ``limit_bytes`` of them together."""

    def __init__(self, limit_bytes: int, idle_s: float = IDLE_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit_bytes = int(limit_bytes)
        self.idle_s = idle_s
        self._clock = clock
        self._held: dict[str, _Held] = {}
        self._reserving: dict[str, int] = {}  # bytes promised to copies being built right now
        self._put_away: dict[str, str] = {}  # owner -> the sentence they are owed
        self._missing_since: dict[str, float] = {}  # owner -> when their session was first seen gone
        self._lock = threading.Lock()

    # -- what is held -------------------------------------------------------------------------------

    @property
    def held_bytes(self) -> int:
        with self._lock:
            return self._used()

    def _used(self) -> int:
        return sum(h.nbytes for h in self._held.values()) + sum(self._reserving.values())

    def holders(self) -> int:
        with self._lock:
            return len(self._held)

    def get(self, owner: str, key: tuple):
        """The owner's copy if it was made for ``key`` (else None); using it marks it as busy."""
        with self._lock:
            held = self._held.get(owner)
            if held is None or held.key != key:
                return None
            held.last_used = self._clock()
            return held.copy

    def put_away_notice(self, owner: str) -> str | None:
        """The sentence owed to an owner whose copy was put away to make room, once."""
        with self._lock:
            return self._put_away.pop(owner, None)

    # -- making and freeing copies ------------------------------------------------------------------

    def put(self, owner: str, key: tuple, label: str, nbytes: int, make: Callable[[], object], settings: str = ""):
        """Reserve ``nbytes`` for the owner's new copy, then build it with ``make``; ``BudgetFull`` if it cannot fit.

        The owner's previous copy is let go first (one copy per owner). Idle copies of other
        owners are put away, oldest first, only when that makes the room.
        """
        with self._lock:
            self._held.pop(owner, None)
            self._put_away.pop(owner, None)
            if self._used() + nbytes > self.limit_bytes:
                self._put_away_idle(nbytes)
            if self._used() + nbytes > self.limit_bytes:
                raise BudgetFull(self._full_sentence(f"{label} with {settings}" if settings else label, nbytes))
            self._reserving[owner] = nbytes
        try:
            copy = make()
        finally:
            with self._lock:
                self._reserving.pop(owner, None)
        with self._lock:
            self._held[owner] = _Held(key, label, nbytes, copy, self._clock(), settings)
        return copy

    def resize(self, owner: str, key: tuple, nbytes: int, settings: str = "") -> None:
        """Size the owner's reservation for new ``settings`` of the same copy; ``BudgetFull`` if it cannot grow.

        A refusal changes nothing: the copy keeps its reservation and the settings it was
        sized for, so the page goes on with those. Shrinking always succeeds.
        """
        with self._lock:
            held = self._held.get(owner)
            if held is None or held.key != key or held.nbytes == nbytes:
                return
            extra = nbytes - held.nbytes
            if extra > 0 and self._used() + extra > self.limit_bytes:
                self._put_away_idle(extra, keep=owner)
            if extra > 0 and self._used() + extra > self.limit_bytes:
                raise BudgetFull(self._grow_sentence(held, nbytes, settings))
            held.nbytes, held.settings = nbytes, settings

    def drop(self, owner: str) -> None:
        with self._lock:
            self._held.pop(owner, None)

    def owners(self) -> list[str]:
        with self._lock:
            return list(self._held)

    def sweep(self, alive: set[str], grace_s: float = 0.0) -> list[str]:
        """Free the copies of owners missing from ``alive`` for ``grace_s`` seconds or more; returns whose.

        The grace lets a student's copy survive a network blip (Streamlit reconnects the same
        session) while a closed tab's copy goes within about a minute.
        """
        now = self._clock()
        with self._lock:
            for owner in alive:
                self._missing_since.pop(owner, None)
            gone = []
            for owner in [o for o in self._held if o not in alive]:
                since = self._missing_since.setdefault(owner, now)
                if now - since >= grace_s:
                    del self._held[owner]
                    del self._missing_since[owner]
                    gone.append(owner)
            for owner in [o for o in self._put_away if o not in alive and o not in self._missing_since]:
                del self._put_away[owner]
        return gone

    def _put_away_idle(self, needed: int, keep: str | None = None) -> None:
        now = self._clock()
        idle = sorted((h.last_used, owner) for owner, h in self._held.items()
                      if now - h.last_used >= self.idle_s and owner != keep)
        # Only if putting away every idle copy would make the room: never evict for nothing.
        if self._used() - sum(self._held[o].nbytes for _, o in idle) + needed > self.limit_bytes:
            return
        for _, owner in idle:
            if self._used() + needed <= self.limit_bytes:
                break
            held = self._held.pop(owner)
            minutes = max(1, round((now - held.last_used) / 60))
            self._put_away[owner] = (
                f"Your training copy of {held.label} was put away after {minutes} idle minutes to make room for "
                "another student; press Reset to start again from the chosen weights."
            )

    def _grow_sentence(self, held: _Held, nbytes: int, settings: str) -> str:
        before = f" with {held.settings}" if held.settings else ""
        after = f" with {settings}" if settings else ""
        keep = f"keep {held.settings}" if held.settings else "keep the settings it had"
        return (
            f"The server's training memory is full: {self._who()} hold {format_bytes(self._used())} of the "
            f"{format_bytes(self.limit_bytes)} it allows, and your training copy of {held.label} would grow from "
            f"{format_bytes(held.nbytes)}{before} to {format_bytes(nbytes)}{after}; {keep}, or try again in a minute."
        )

    def _who(self) -> str:
        students = len(self._held) + len(self._reserving)
        return f"{students} student{'s' if students != 1 else ''}"

    def _full_sentence(self, label: str, nbytes: int) -> str:
        return (
            f"The server's training memory is full: {self._who()} hold {format_bytes(self._used())} of the "
            f"{format_bytes(self.limit_bytes)} it allows, and a training copy of {label} needs about "
            f"{format_bytes(nbytes)}; try again in a minute, or choose a smaller network."
        )
