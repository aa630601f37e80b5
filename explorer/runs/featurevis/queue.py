"""One render at a time per server: a bounded queue in which each waiter can read its place.

A render keeps a CPU core busy for seconds to minutes; thirty students starting one
each at once would slow every page of the server. ``RenderQueue.turn()`` admits one
holder at a time, first come first served. While waiting, ``ticket.place`` says how
many are ahead (0: this one is running). A queue already holding ``limit`` requests
refuses the next with one sentence rather than letting it wait unseen.
"""

from __future__ import annotations

import contextlib
import itertools
import threading

from explorer.core.errors import UserError

DEFAULT_LIMIT = 8


class Ticket:
    def __init__(self, queue: RenderQueue, number: int) -> None:
        self._queue, self.number = queue, number

    @property
    def place(self) -> int | None:
        """How many requests are ahead of this one (0: it is running), or None once it has left the queue."""
        return self._queue.place_of(self)


class RenderQueue:
    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self.limit = limit
        self._waiting: list[Ticket] = []  # the first one holds the turn
        self._changed = threading.Condition()
        self._numbers = itertools.count()

    def join(self) -> Ticket:
        """A place at the end of the queue, or one sentence when it is full."""
        with self._changed:
            if len(self._waiting) >= self.limit:
                raise UserError(f"{self.limit} renders are already queued on this server; "
                                "try again when one has finished.")
            ticket = Ticket(self, next(self._numbers))
            self._waiting.append(ticket)
            return ticket

    def place_of(self, ticket: Ticket) -> int | None:
        with self._changed:
            return self._waiting.index(ticket) if ticket in self._waiting else None

    def leave(self, ticket: Ticket) -> None:
        with self._changed:
            if ticket in self._waiting:
                self._waiting.remove(ticket)
                self._changed.notify_all()

    def wait(self, ticket: Ticket, timeout: float | None = None) -> bool:
        """Block until ``ticket`` is first (True), or until ``timeout`` seconds pass (False)."""
        with self._changed:
            return self._changed.wait_for(lambda: self._waiting and self._waiting[0] is ticket, timeout)

    @contextlib.contextmanager
    def turn(self, ticket: Ticket | None = None):
        """Hold the server's one render turn for the block; joins the queue first if no ticket is given."""
        ticket = ticket or self.join()
        try:
            self.wait(ticket)
            yield ticket
        finally:
            self.leave(ticket)

    def __len__(self) -> int:
        with self._changed:
            return len(self._waiting)


SERVER_QUEUE = RenderQueue()  # the one queue every session of a server shares
