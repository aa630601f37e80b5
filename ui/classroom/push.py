"""Followers are told at once: when a class changes, this server reruns the pages of its own followers.

Streamlit has no push between sessions, but a server can ask a session to run its script again, as
Streamlit itself does for "run on save" (``ui.streamlit_adapter.rerun_session``; its file watcher calls
from its own thread): the run draws in that session's browser like any other. The class store
announces every change (``Classroom.on_change``: in this process, or through Redis on every
replica), and each server keeps which of its sessions follow which class and which version their
page shows; the ones behind are rerun, a couple at a time, in the order they fell behind. A
change of what one fragment shows (the layer on Feature maps) reruns that fragment only.

The followers' own polls (``ui.classroom.panel``) stay, less often, for what is never announced
(the teacher's tab closing) and as the fallback when an announcement is lost (Redis restarting).
What is kept per session is a few short strings, a number and a reference to the class's values
that its own state holds anyway; a session that has gone (its browser left) is dropped at the next
change or within a minute, and one that explores or leaves drops itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from streamlit.runtime.scriptrunner import get_script_run_ctx

from explorer.classroom.classes import Classroom
from explorer.core.errors import UserError
from ui import streamlit_adapter

log = logging.getLogger(__name__)


@dataclass
class _Follower:
    code: str
    shown: int  # the class's version that this session's last run drew
    query_string: str  # where its browser is, so that the rerun draws the same page
    page_hash: str  # the page it is on, as the rerun request names it
    values: Mapping[str, object] = field(default_factory=dict)  # the teacher's values that run drew
    scopes: Mapping[str, frozenset] = field(default_factory=dict)  # fragment id -> the values it shows
    fragment: str | None = None  # the one fragment to rerun for the change now queued (None: the page)


# Thirty reruns asked at once would share one interpreter lock and all end last, together; asked a
# couple at a time, the first followers see the change after one rerun, the last after thirty.
AT_ONCE = 2  # one alone leaves the event loop's sending idle; benchmarks/LOAD.md has both
SENDING_S = 0.05  # the longest pause for the last reruns' messages to leave
HELD_S = 1.0  # a rerun that has not ended by then (a slow page, a stopped run) lets the next one go

_lock = threading.Lock()
_wake = threading.Condition(_lock)
_followers: dict[str, _Follower] = {}  # session id -> what it follows
_listened: set[int] = set()  # the classrooms (by id) whose announcements reach ``_changed``
_pushed: set[str] = set()  # sessions rerun by a change whose run has not ended yet
_waiting: deque[str] = deque()  # sessions to rerun, in the order their changes came
_running: dict[str, float] = {}  # session id -> when its pushed rerun was asked
_worker: list[threading.Thread] = []
_pruned = [0.0]  # when sessions that have gone were last dropped
PRUNE_S = 60.0
_sent: deque = deque(maxlen=AT_ONCE * 2)  # (id, AppSession) rerun last: their messages may still be going out
_routes: dict[str, object] = {"name": None, "hashes": {}}  # the value naming the teacher's page; page -> script hash


def following(classroom: Classroom, code: str, version: int, values: Mapping[str, object] | None = None,
              scopes: Mapping[str, frozenset] | None = None) -> None:
    """In a follower's full run: rerun this session when ``code`` gets past ``version``.

    ``values`` are the teacher's values this run drew and ``scopes`` the fragments that show some
    of them: a change of one fragment's values alone reruns that fragment alone.
    """
    ctx = get_script_run_ctx()
    if ctx is None or not streamlit_adapter.can_push():  # without it, the follower's poll brings each change
        return
    with _lock:
        if id(classroom) not in _listened:
            _listened.add(id(classroom))
            classroom.on_change(lambda code, version: _changed(code, version, classroom))
        # The values are the session's own view of the class (already held in its state): kept, not copied.
        _followers[ctx.session_id] = _Follower(code, version, ctx.query_string, streamlit_adapter.current_page_hash(),
                                               values or {}, dict(scopes or {}))
        if time.monotonic() - _pruned[0] > PRUNE_S:
            _pruned[0] = time.monotonic()
            for gone in [s for s in _followers if not streamlit_adapter.server_running()
                         or not streamlit_adapter.session_is_active(s)]:
                del _followers[gone]  # a tab closed while its class changed nothing (no push to find it)


def route(name: str, hashes: Mapping[str, str | None]) -> None:
    """The class value ``name`` is the teacher's page, and ``hashes`` gives each page's script hash.

    A change of page is then pushed straight onto the teacher's page: the follower's one run draws
    it, instead of a run of its old page that moves on to the new one (``st.switch_page``) and a second.
    """
    _routes["name"], _routes["hashes"] = name, {page: hash_ for page, hash_ in hashes.items() if hash_}


def drawn(version: int, values: Mapping[str, object]) -> None:
    """At the end of a follower's fragment rerun: the version (and values) its page shows now."""
    ctx = get_script_run_ctx()
    with _lock:
        follower = _followers.get(ctx.session_id) if ctx is not None else None
        if follower is not None and version >= follower.shown:
            follower.shown, follower.values = version, values


def changed(old: Mapping[str, object], new: Mapping[str, object]) -> set[str]:
    """The names whose values differ between two snapshots' values."""
    return {name for name in {*old, *new} if old.get(name) != new.get(name)}


def current_fragment_id() -> str | None:
    """The id of the fragment running now (Streamlit's own; None where this Streamlit keeps it elsewhere)."""
    return streamlit_adapter.current_fragment_id()


def not_following() -> None:
    """In any other run: this session is not rerun for a class."""
    ctx = get_script_run_ctx()
    if ctx is not None and ctx.session_id in _followers:
        with _lock:
            _followers.pop(ctx.session_id, None)
            _pushed.discard(ctx.session_id)


def was_pushed() -> bool:
    """At the end of a follower's run: whether a pushed change started it (the next one may start now)."""
    ctx = get_script_run_ctx()
    with _lock:
        if ctx is None or ctx.session_id not in _pushed:
            return False
        _pushed.discard(ctx.session_id)
        _running.pop(ctx.session_id, None)
        _wake.notify()
        return True


def on_its_way() -> bool:
    """Whether this session's rerun for a change is queued or running (a poll need not rerun it as well)."""
    ctx = get_script_run_ctx()
    if ctx is None:
        return False
    with _lock:
        asked = _running.get(ctx.session_id)
        return ctx.session_id in _waiting or (asked is not None and time.monotonic() - asked <= HELD_S)


def count() -> int:
    """How many sessions of this server wait for a class change (for tests and benchmarks)."""
    return len(_followers)


def _changed(code: str, version: int, classroom: Classroom) -> None:
    """A class changed (an announcement, in the announcing or the listening thread): queue who is behind."""
    try:
        now = classroom.look(code)  # one read for the whole class, to tell what changed
    except UserError:  # the store is down: rerun whole pages
        now = None
    page = _routes["hashes"].get(now.values.get(_routes["name"])) if now is not None and not now.ended else None
    with _lock:
        for session_id, follower in _followers.items():
            if follower.code == code and follower.shown < version:
                follower.shown = version  # one rerun per change, however often it is announced
                follower.page_hash = page or follower.page_hash
                names = changed(follower.values, now.values) if now is not None and not now.ended else None
                # The smallest fragment that shows every changed value (one may sit inside another).
                follower.fragment = min((fragment for fragment, shown in follower.scopes.items()
                                         if names and names <= shown),
                                        key=lambda fragment: len(follower.scopes[fragment]), default=None)
                if session_id not in _waiting:
                    _waiting.append(session_id)
        if _waiting and not _worker:
            _worker.append(threading.Thread(target=_rerun_in_turn, name="class-push", daemon=True))
            _worker[0].start()
        _wake.notify()


def _rerun_in_turn() -> None:
    """The pushing thread: ask for the queued reruns, ``AT_ONCE`` at a time, for ever."""
    while True:
        with _lock:
            while not _waiting or _busy() >= AT_ONCE:
                _wake.wait(timeout=HELD_S / 4 if _running else None)
            session_id = _waiting.popleft()
            follower = _followers.get(session_id)
            if follower is None:  # it explored, left, or went meanwhile
                continue
            _pushed.add(session_id)
            _running[session_id] = time.monotonic()
        _let_sent_go_out()
        if not _rerun(session_id, follower):
            with _lock:
                _followers.pop(session_id, None)
                _pushed.discard(session_id)
                _running.pop(session_id, None)


def _let_sent_go_out(most_s: float = SENDING_S) -> None:
    """Wait (briefly) until the last reruns' messages have left for their browsers.

    The server's one event loop sends every session's messages, and it needs the interpreter lock
    for each; while two reruns keep the lock busy it gets it only in slices, so the messages of
    the first followers would leave together with the last ones'. A short pause between reruns
    lets them go as soon as they are drawn.
    """
    deadline = time.monotonic() + most_s
    while time.monotonic() < deadline and any(session_id not in _running and not _queue_empty(session)
                                              for session_id, session in list(_sent)):
        time.sleep(0.002)


def _queue_empty(session) -> bool:
    return streamlit_adapter.messages_sent(session)


def _busy() -> int:
    now = time.monotonic()
    for session_id in [s for s, asked in _running.items() if now - asked > HELD_S]:
        del _running[session_id]
    return len(_running)


def _rerun(session_id: str, follower: _Follower) -> bool:
    """Ask the session to run its page again with the widget values it has; False if it is gone."""
    session = streamlit_adapter.rerun_session(session_id, follower.query_string, follower.page_hash,
                                              follower.fragment)
    if session is None:  # the browser left, or refused as it shut down
        return False
    _sent.append((session_id, session))
    return True
