"""Class codes a student can type, the teacher's secret, and a brake on guessing codes.

A code is six characters from an alphabet without look-alikes (no 0/O/D-ish pairs,
no 1/I/L, 2/Z, 5/S, 8/B, 6/G, U/V): twenty characters, so 20**6 = 64 million codes.
It is the class's *address*, and it is public: it is on the projector and in the join
link. The right to lead is a separate secret, ``new_lead_token``: 256 random bits that
only the teacher's browser holds; the store keeps its SHA-256 (``token_digest``) and
compares digests in constant time (``same_digest``), so neither a code nor the store's
content lets anybody lead.

``WrongCodes`` counts a browser session's wrong codes: after ``MAX_WRONG`` within
``WINDOW_S`` it refuses further tries until the oldest one leaves the window.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections import deque
from collections.abc import Callable

from explorer.core.errors import UserError

ALPHABET = "ACDEFHJKMNPRTWXY3479"
LENGTH = 6
_WELL_FORMED = re.compile(f"[{ALPHABET}]{{{LENGTH}}}")
MAX_WRONG = 5
WINDOW_S = 5 * 60


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise(typed: str) -> str:
    """What a student typed, as a code would be written: capitals, no spaces or dashes."""
    return re.sub(r"[\s\-]", "", str(typed)).upper()


def is_well_formed(code: str) -> bool:
    return bool(_WELL_FORMED.fullmatch(code))


def shown(typed: str) -> str:
    """A typed code made safe to put in a sentence: letters and digits only, at most twelve."""
    return re.sub(r"[^A-Za-z0-9]", "", str(typed))[:12]


def spaced(code: str) -> str:
    """The code as the projector shows it, in two groups of three (KXM 4TR)."""
    return f"{code[:3]} {code[3:]}"


def new_lead_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def same_digest(token: str, digest: str) -> bool:
    """Whether ``token`` is the secret whose digest is ``digest``, compared in constant time."""
    return hmac.compare_digest(token_digest(token), str(digest))


class TooManyWrongCodes(UserError):
    """A browser session that tried too many wrong codes; ``str(error)`` is one sentence."""


class WrongCodes:
    """The wrong codes one browser session tried recently, and whether it may try another."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.times: deque[float] = deque()

    def _forget_old(self) -> None:
        while self.times and self.clock() - self.times[0] >= WINDOW_S:
            self.times.popleft()

    def check(self) -> None:
        """Raise ``TooManyWrongCodes`` while this session has had its share of wrong codes."""
        self._forget_old()
        if len(self.times) >= MAX_WRONG:
            wait = max(1, round((WINDOW_S - (self.clock() - self.times[0])) / 60))
            raise TooManyWrongCodes(
                f"Too many wrong class codes from this tab; wait {wait} minute{'s' * (wait != 1)}, "
                "then ask your teacher for the link."
            )

    def record(self) -> None:
        self._forget_old()
        self.times.append(self.clock())
