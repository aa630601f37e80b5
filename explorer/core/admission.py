"""Taking turns for heavy work: a server-wide line that lets a few jobs run at once and the rest wait in order.

Thirty students who upload a photo in the same second would otherwise all decode and run the network at
once on a two-core server: each waits for all, and the memory of every pass is held together. A ``Line``
admits ``capacity`` holders at a time; the others wait first come, first served, and each waiting one can
be told its place (1 = next) whenever it changes, so a page can say so in a sentence.

A long holder (Score-CAM's hundreds of passes) steps aside between its pieces of work
(``Turn.step_aside``): when someone is waiting, it goes to the back of the line and comes back
in its turn, so a new picture waits for one batch, not for the whole run.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

DEFAULT_CAPACITY = 2  # the server's cores, in the machine this app is sized for


def capacity_from_environment() -> int:
    """``EXPLORER_PICTURE_TURNS`` if set to a whole number of at least 1, else the default."""
    text = os.environ.get("EXPLORER_PICTURE_TURNS", "")
    return int(text) if text.isdigit() and int(text) >= 1 else DEFAULT_CAPACITY


class Line:
    """At most ``capacity`` holders at once; the others wait in the order they arrived."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("a line needs room for at least one holder")
        self.capacity = capacity
        self._changed = threading.Condition()
        self._tickets = itertools.count()
        self._waiting: list[int] = []  # tickets in arrival order
        self._holders: set[int] = set()

    @property
    def holding(self) -> int:
        with self._changed:
            return len(self._holders)

    @property
    def waiting(self) -> int:
        with self._changed:
            return len(self._waiting)

    def _place(self, ticket: int) -> int:
        """0 once admitted, else 1 + the number waiting ahead (caller holds the lock)."""
        return 0 if ticket in self._holders else self._waiting.index(ticket) + 1

    def _admit(self) -> None:
        """Move the first waiting tickets in while there is room (caller holds the lock)."""
        while self._waiting and len(self._holders) < self.capacity:
            self._holders.add(self._waiting.pop(0))
        self._changed.notify_all()

    def _wait(self, ticket: int, on_place: Callable[[int], None], poll_s: float) -> None:
        """Wait until ``ticket`` is let in, telling ``on_place`` its place (outside the lock) when waiting
        begins, whenever it changes and every ``poll_s`` seconds; returns at once for a ticket already in."""
        with self._changed:
            place = self._place(ticket)
        while place:
            on_place(place)
            with self._changed:
                self._changed.wait_for(lambda: self._place(ticket) != place, timeout=poll_s)
                place = self._place(ticket)

    def _to_the_back(self, ticket: int) -> bool:
        """Move a holder's ticket behind those waiting and let the first of them in; False if none wait."""
        with self._changed:
            if not self._waiting:
                return False
            self._holders.discard(ticket)
            self._waiting.append(ticket)
            self._admit()
            return True

    @contextmanager
    def turn(self, on_place: Callable[[int], None] = lambda place: None, poll_s: float = 0.5) -> Iterator[Turn]:
        """Wait for a turn, run the body with the ``Turn``, leave. ``on_place(place)`` is called (outside the
        lock) with the place when waiting begins and whenever it changes, and every ``poll_s`` seconds while
        waiting, so a caller can also stop waiting by raising from it; it is not called for a turn that needs
        no wait."""
        with self._changed:
            ticket = next(self._tickets)
            self._waiting.append(ticket)
            self._admit()
        try:
            self._wait(ticket, on_place, poll_s)
            yield Turn(self, ticket, poll_s)
        finally:
            with self._changed:
                if ticket in self._holders:
                    self._holders.discard(ticket)
                else:  # left the line while waiting (the caller raised from on_place)
                    self._waiting.remove(ticket)
                self._admit()


class Turn:
    """A holder's turn in a line, as ``Line.turn`` gives it to the body."""

    def __init__(self, line: Line, ticket: int, poll_s: float) -> None:
        self._line, self._ticket, self._poll_s = line, ticket, poll_s

    def step_aside(self, on_place: Callable[[int], None] = lambda place: None) -> bool:
        """If anyone is waiting, let them go first: leave the place, wait at the back of the line, and
        return True once in again, having told ``on_place`` the place as ``Line.turn`` does. With nobody
        waiting, return False at once. Raising from ``on_place`` ends the wait; leaving the turn's
        ``with`` then takes the ticket out of the line."""
        if not self._line._to_the_back(self._ticket):
            return False
        self._line._wait(self._ticket, on_place, self._poll_s)
        return True


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, …, 11th, 12th, 13th, 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def place_sentence(place: int, capacity: int, what: str = "Your picture") -> str:
    """The one sentence a waiting student reads: "Your picture is 4th in line; the server works on 2 at a time." """
    return f"{what} is {ordinal(place)} in line; the server works on {capacity} at a time."
