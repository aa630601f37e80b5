"""Classes that follow a teacher, as plain data and rules, on any ``explorer.classroom.store.Store``.

A class is four records under ``explorer:class:CODE:``:

- ``meta``: the digest of the teacher's secret and when the class started;
- ``snap``: the snapshot followers mirror: a ``version`` that goes up with every change
  (ending included; each change is announced as ``"CODE VERSION"``), open ``values`` (the
  page, the selection, a layer, the picture's reference...), the time of the teacher's last
  action (``active``), ``ended``, and which shared blob each slot holds;
- ``seen``: the teacher's last heartbeat (an open tab), to tell followers the teacher left;
- ``follow`` and ``explore``: the students following or exploring, with their last heartbeats.

Blobs (the teacher's picture, a training step's results) live beside them under
``blob:DIGEST``, one per slot, bounded in size. A class ends when the teacher ends it or
``EXPIRY_S`` after the teacher's last action; an ended class is kept ``ENDED_KEPT_S``.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from explorer.classroom import codes
from explorer.classroom.store import MemoryStore, Store
from explorer.core.errors import UserError
from explorer.core.memory import format_bytes

ENVIRONMENT_VARIABLE = "EXPLORER_REDIS_URL"
PREFIX = "explorer:class:"
EXPIRY_S = 2 * 3600
KEPT_S = EXPIRY_S + 600  # how long the records outlive the last action (garbage collection only)
TEACHER_GONE_S = 12.0
FOLLOWER_GONE_S = 6.0
ENDED_KEPT_S = 10 * 60
MAX_CLASSES = 20  # one deployment's running classes: each may hold a picture of up to 25 MB
MAX_VALUES_BYTES = 64 * 1024  # every follower reads the snapshot after each change: keep it small


class NoSuchClass(UserError):
    """A code that names no running class."""


class NotTheTeacher(UserError):
    """A request to lead from someone without the teacher's secret."""


class ClassesFull(UserError):
    """No room for another class on this deployment."""


class BlobTooLarge(UserError):
    """A picture or result too large to share with the class."""


@dataclass(frozen=True)
class Lead:
    """The right to lead one class: its code and the teacher's secret."""

    code: str
    token: str

    def __repr__(self) -> str:  # never the secret, not even in a log line
        return f"Lead(code={self.code!r})"


@dataclass(frozen=True)
class ClassView:
    """What a follower sees of a class at one moment."""

    code: str
    version: int
    values: Mapping[str, object]
    teacher_here: bool
    ended: bool


@dataclass(frozen=True)
class Audience:
    following: int
    exploring: int


def _json(data: object) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def not_running(code: str) -> NoSuchClass:
    return NoSuchClass(f"No class with the code {codes.shown(code)} is running; ask your teacher for the link.")


class Classroom:
    """Start, lead, follow and end classes; every rule about them lives here."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    @classmethod
    def from_environment(cls) -> Classroom:
        """Classes in Redis where ``EXPLORER_REDIS_URL`` is set, else in this process."""
        url = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
        if not url:
            return cls(MemoryStore())
        from explorer.classroom.redis_store import RedisStore  # the client only where it is used

        return cls(RedisStore(url))

    @staticmethod
    def _key(code: str, part: str) -> str:
        return f"{PREFIX}{code}:{part}"

    def _keys(self, code: str, *parts: str) -> list[str]:
        return [self._key(code, part) for part in parts]

    def start(self) -> Lead:
        """A new class with a fresh code and a fresh secret for its teacher."""
        now = self.clock()
        registry = PREFIX + "all"
        if self.store.count_since(registry, now - EXPIRY_S) >= MAX_CLASSES:
            raise ClassesFull(f"This server already runs {MAX_CLASSES} classes; end one, or try again later.")
        token = codes.new_lead_token()
        for _ in range(20):  # 64 million codes: a clash is rare, and a taken code is never shared
            code = codes.new_code()
            if self.store.add(self._key(code, "meta"), _json({"lead": codes.token_digest(token), "started": now}),
                              KEPT_S):
                break
        else:  # pragma: no cover - twenty clashes in a row
            raise ClassesFull("No free class code was found; try again.")
        self.store.put(self._key(code, "snap"), _json({"version": 1, "values": {}, "active": now, "ended": False,
                                                        "blobs": {}}), KEPT_S)
        self.store.put(self._key(code, "seen"), _json(now), KEPT_S)
        self.store.beat(registry, code, now, KEPT_S)
        return Lead(code, token)

    def lead(self, code: str, token: str) -> Lead | None:
        """The right to lead ``code`` if ``token`` is its teacher's secret and the class runs, else None."""
        code = codes.normalise(code)
        if not codes.is_well_formed(code) or not token:
            return None
        meta, snap = self.store.get_many(self._keys(code, "meta", "snap"))
        if meta is None or snap is None or not codes.same_digest(token, json.loads(meta)["lead"]):
            return None
        snap = json.loads(snap)
        if snap["ended"] or self._expired(snap):
            return None
        return Lead(code, token)

    def _check(self, lead: Lead) -> None:
        if self.lead(lead.code, lead.token) is None:
            raise NotTheTeacher(f"Only the teacher of class {lead.code} can change what it shows.")

    def publish(self, lead: Lead, values: Mapping[str, object]) -> int:
        """Merge ``values`` into the snapshot; the version goes up only if something changed."""
        self._check(lead)
        now = self.clock()

        def change(old: bytes | None) -> bytes | None:
            snap = json.loads(old) if old else None
            if snap is None or snap["ended"]:
                raise not_running(lead.code)
            merged = {**snap["values"], **values}
            if _json(merged) == _json(snap["values"]):
                return None
            if len(_json(merged)) > MAX_VALUES_BYTES:
                raise ValueError("a class snapshot is for small values; share large ones with put_blob")
            return _json({**snap, "values": merged, "version": snap["version"] + 1, "active": now})

        written = self.store.update(self._key(lead.code, "snap"), change, KEPT_S)
        if written is None:
            return self.look(lead.code).version
        self._refresh(lead.code, now)
        return self._announce(lead.code, written)

    def touch(self, lead: Lead) -> None:
        """Count a teacher's action that changed nothing the class sees (the class does not expire)."""
        self._check(lead)
        now = self.clock()

        def change(old: bytes | None) -> bytes | None:
            return _json({**json.loads(old), "active": now}) if old else None

        self.store.update(self._key(lead.code, "snap"), change, KEPT_S)
        self._refresh(lead.code, now)

    def _announce(self, code: str, snapshot: bytes) -> int:
        self.store.announce(f"{code} {(version := json.loads(snapshot)['version'])}")
        return version

    def on_change(self, callback: Callable[[str, int], None]) -> None:
        """``callback(code, version)`` whenever a class changes (ending is a change), here or on another replica."""
        def heard(message: str) -> None:
            code, _, version = message.partition(" ")
            if codes.is_well_formed(code) and version.isdigit():
                callback(code, int(version))

        self.store.listen(heard)

    def _refresh(self, code: str, now: float) -> None:
        self.store.expire(self._keys(code, "meta", "seen", "follow", "explore"), KEPT_S)
        self.store.beat(PREFIX + "all", code, now, KEPT_S)

    def teacher_here(self, lead: Lead) -> None:
        """The teacher's heartbeat: their tab is open (it does not count as an action)."""
        self._check(lead)
        self.store.put(self._key(lead.code, "seen"), _json(self.clock()), KEPT_S)

    def put_blob(self, lead: Lead, slot: str, data: bytes, limit: int, what: str = "This picture") -> str:
        """Share ``data`` with the class under ``slot`` (replacing the slot's earlier blob); its digest."""
        self._check(lead)
        if len(data) > limit:
            raise BlobTooLarge(f"{what} is {format_bytes(len(data))}, more than the {format_bytes(limit)} "
                               "a class can share; the class keeps the last one.")
        digest = hashlib.sha256(data).hexdigest()
        self.store.put(self._key(lead.code, f"blob:{digest}"), data, KEPT_S)
        replaced = []

        def change(old: bytes | None) -> bytes | None:
            snap = json.loads(old) if old else None
            if snap is None or snap["ended"]:
                raise not_running(lead.code)
            before = snap["blobs"].get(slot)
            if before == digest:
                return None
            replaced[:] = [before] if before else []
            return _json({**snap, "blobs": {**snap["blobs"], slot: digest}})

        written = self.store.update(self._key(lead.code, "snap"), change, KEPT_S)
        if written is not None:
            others = set(json.loads(written)["blobs"].values())
            self.store.delete(self._key(lead.code, f"blob:{d}") for d in replaced if d not in others)
        return digest

    def end(self, lead: Lead) -> None:
        """End the class now; followers are told, and keep what they see."""
        self._check(lead)

        def change(old: bytes | None) -> bytes | None:
            return _json({**(snap := json.loads(old)), "ended": True, "version": snap["version"] + 1}) if old else None

        written = self.store.update(self._key(lead.code, "snap"), change, ENDED_KEPT_S)
        blobs = json.loads(written)["blobs"].values() if written else ()
        self.store.delete([*self._keys(lead.code, "meta", "seen", "follow", "explore"),
                           *(self._key(lead.code, f"blob:{d}") for d in blobs)])
        self.store.drop(PREFIX + "all", lead.code)
        if written:
            self._announce(lead.code, written)

    def _expired(self, snap: dict) -> bool:
        return self.clock() - snap["active"] > EXPIRY_S

    def look(self, code: str) -> ClassView | None:
        """The class as a follower sees it now, or None if no class has this code (or it expired)."""
        code = codes.normalise(code)
        if not codes.is_well_formed(code):
            return None
        meta, snap, seen = self.store.get_many(self._keys(code, "meta", "snap", "seen"))
        if snap is None:
            return None
        snap = json.loads(snap)
        if not snap["ended"] and (meta is None or self._expired(snap)):
            return None
        here = seen is not None and self.clock() - json.loads(seen) <= TEACHER_GONE_S
        return ClassView(code, snap["version"], snap["values"], here and not snap["ended"], snap["ended"])

    def find(self, typed: str, wrong: codes.WrongCodes) -> ClassView:
        """The running class a student's code names; a sentence (``UserError``) for any other code.

        Every code that names no running class counts against the tab's ``wrong`` tries,
        so guessing codes from one tab stops after a few.
        """
        wrong.check()
        view = self.look(typed)
        if view is None or view.ended:
            wrong.record()
            raise not_running(typed)
        return view

    def blob(self, code: str, digest: str) -> bytes | None:
        return self.store.get_many([self._key(code, f"blob:{digest}")])[0]

    def follow_beat(self, code: str, member: str, following: bool) -> None:
        """A student's heartbeat: following the teacher, or exploring on their own."""
        now = self.clock()
        into, out_of = ("follow", "explore") if following else ("explore", "follow")
        self.store.beat(self._key(code, into), member, now, KEPT_S)
        self.store.drop(self._key(code, out_of), member)

    def leave(self, code: str, member: str) -> None:
        for part in ("follow", "explore"):
            self.store.drop(self._key(code, part), member)

    def audience(self, code: str, gone_s: float = FOLLOWER_GONE_S) -> Audience:
        since = self.clock() - gone_s  # a student silent that long has closed the tab
        return Audience(self.store.count_since(self._key(code, "follow"), since),
                        self.store.count_since(self._key(code, "explore"), since))
