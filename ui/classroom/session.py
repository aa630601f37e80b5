"""This browser session's place in a class: leading it, following it, exploring on its own, or none.

The server's classes live in one ``explorer.classroom.classes.Classroom`` (in this
process, or in Redis with ``EXPLORER_REDIS_URL``). ``begin`` runs at the top of every full
run: it reads a ``?class=CODE`` link once, finds the teacher's secret in the teacher's
cookie once per browser session, and reads the class's snapshot for a student.

Where the teacher's secret lives. A class's code is public (projector, link); the right
to lead is a separate 256-bit secret that only the teacher's browser holds, in the cookie
``explorer_class_lead`` (``SameSite=Strict``, this server's origin only), written by a tiny
script in the teacher's page (``ui.classroom.panel``). The browser sends it with every new
connection, so a reload finds it in ``st.context.cookies`` and the teacher leads again.
It is never in a URL (a link, the address bar on a projector, a history or a proxy's log),
and nothing in a link makes anybody the teacher: a student whose link carries any other
value is a follower, and a wrong cookie is simply not the teacher's. Wrong codes count
against the tab (``explorer.classroom.codes.WrongCodes``).

Session keys start with ``cl_``. Every failure of the store is one sentence (``say``); the
rest of the app never waits for it.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from explorer.classroom import codes
from explorer.classroom.classes import Classroom, ClassView, Lead
from explorer.classroom.store import StoreUnavailable
from explorer.core.errors import UserError
from ui import streamlit_adapter

COOKIE = "explorer_class_lead"
LEADING, FOLLOWING, EXPLORING = "lead", "follow", "explore"
MODE, CODE, LEAD, VIEW, MEMBER = "cl_mode", "cl_code", "cl_lead", "cl_view", "cl_member"
_NOTICES, _WRONG, _REFUSED, _COOKIE_READ, _TOUCHED = "cl_notices", "cl_wrong", "cl_refused", "cl_cookie_read", "cl_touched"
COOKIE_TO_WRITE = "cl_cookie_write"  # "set" or "forget": what the teacher's page tells the browser this run
PUBLISHED, PENDING, APPLIED = "cl_published", "cl_pending", "cl_applied"
SCOPES = "cl_scopes"  # a follower's fragments (by id) -> the teacher's values each shows (ui.classroom.follow)
TOUCH_EVERY_S = 60  # how often a teacher's runs count as activity in the store (the class lives 2 h after)
BEAT_EVERY_S = 3.0

log = logging.getLogger(__name__)


@st.cache_resource
def classroom() -> Classroom:
    """The server's classes (the backend is chosen once, from ``EXPLORER_REDIS_URL``)."""
    return Classroom.from_environment()


class TeacherTabs:
    """The teacher sessions this server holds, each beating "my tab is open" while its browser is connected.

    The beat comes from the server, not from a timer in the teacher's tab: a browser slows the timers of
    a tab it hides (the teacher showing slides), and the students would read that as the teacher leaving.
    """

    def __init__(self) -> None:
        self.leads: dict[str, Lead] = {}
        self.lock = threading.Lock()

    def hold(self, lead: Lead | None) -> None:
        ctx = get_script_run_ctx()
        if ctx is None or not streamlit_adapter.server_running():
            return  # AppTest and scripts: no browser to watch; the panel's fragment beats instead
        with self.lock:
            if lead is None:
                self.leads.pop(ctx.session_id, None)
            else:
                self.leads[ctx.session_id] = lead

    def beat_forever(self) -> None:
        while True:
            time.sleep(BEAT_EVERY_S)
            with self.lock:
                held = list(self.leads.items()) if streamlit_adapter.server_running() else []
            for session_id, lead in held:
                try:
                    if streamlit_adapter.session_is_active(session_id):
                        classroom().teacher_here(lead)
                    else:  # the tab closed: no more beats, and the students are told after a few seconds
                        with self.lock:
                            self.leads.pop(session_id, None)
                except UserError:  # the store is down (the panel says so), or the class is over
                    pass
                except Exception:  # the beater must not die: it is what tells students the teacher is there
                    log.exception("A teacher's heartbeat failed")


@st.cache_resource
def teacher_tabs() -> TeacherTabs:
    tabs = TeacherTabs()
    threading.Thread(target=tabs.beat_forever, name="class-teacher-beats", daemon=True).start()
    return tabs


def mode() -> str | None:
    return st.session_state.get(MODE)


def code() -> str | None:
    return st.session_state.get(CODE)


def lead() -> Lead | None:
    return st.session_state.get(LEAD) if mode() == LEADING else None


def view() -> ClassView | None:
    """The class as this student saw it at the start of this run."""
    return st.session_state.get(VIEW) if mode() in (FOLLOWING, EXPLORING) else None


def member() -> str:
    """This tab's anonymous id in the class's head count (not the session id)."""
    return st.session_state.setdefault(MEMBER, secrets.token_hex(8))


def say(sentence: str, kind: str = "warning") -> None:
    """One sentence about the class for the page (shown once, then forgotten)."""
    notices = st.session_state.setdefault(_NOTICES, [])
    if (kind, sentence) not in notices:
        notices.append((kind, sentence))


def take_notices() -> list[tuple[str, str]]:
    return st.session_state.pop(_NOTICES, [])


def _clear() -> None:
    if mode() == LEADING:
        teacher_tabs().hold(None)
    for key in (MODE, CODE, LEAD, VIEW, PUBLISHED, PENDING, APPLIED, _TOUCHED):
        st.session_state.pop(key, None)


def begin() -> None:
    """At the top of each full run: a link or the teacher's cookie, then this run's view of the class."""
    state = st.session_state
    linked = st.query_params.get("class")
    try:
        if not state.get(_COOKIE_READ):
            state[_COOKIE_READ] = True
            _lead_from_cookie(linked)
        if linked and codes.normalise(linked) != state.get(CODE) and linked != state.get(_REFUSED):
            join(linked)
        if mode() in (FOLLOWING, EXPLORING):
            seen = classroom().look(state[CODE])
            if seen is None or seen.ended:
                say("The teacher ended the class; you keep what you see, and the controls are yours again."
                    if seen is not None else codes_gone(state[CODE]), "info")
                _clear()
            else:
                state[VIEW] = seen
        elif mode() == LEADING:
            teacher_tabs().hold(state[LEAD])
            if time.monotonic() - state.get(_TOUCHED, -1e9) > TOUCH_EVERY_S:
                state[_TOUCHED] = time.monotonic()
                classroom().touch(state[LEAD])
    except StoreUnavailable as error:  # a follower keeps the last view it had; nothing else waits
        say(str(error))
    except UserError as error:  # NotTheTeacher: the class ended in another tab, or expired
        class_over(error)


def class_over(error: UserError) -> None:
    """This teacher's class is gone (ended in another tab, expired, or the store lost it)."""
    say(f"{error} Your class has ended.")
    _clear()


def codes_gone(code: str) -> str:
    return f"The class {codes.shown(code)} has ended; you keep what you see, and the controls are yours again."


def _lead_from_cookie(linked: str | None) -> None:
    """A teacher's reload: their cookie holds the class's code and secret."""
    held = st.context.cookies.get(COOKIE)
    if not held or "." not in held:
        return
    held_code, _, token = held.partition(".")
    if linked and codes.normalise(linked) != held_code:  # a link to another class: follow that one
        return
    found = classroom().lead(held_code, token)
    if found is not None:
        _clear()
        st.session_state.update({MODE: LEADING, CODE: found.code, LEAD: found, PUBLISHED: {}})


def join(typed: str) -> None:
    """Follow the class ``typed`` names, or say in one sentence why not (wrong codes count)."""
    state = st.session_state
    wrong = state.setdefault(_WRONG, codes.WrongCodes(time.time))
    try:
        found = classroom().find(typed, wrong)
    except StoreUnavailable:
        raise  # the caller says it: the code may be right
    except UserError as error:  # no such class, or too many wrong codes from this tab
        state[_REFUSED] = typed
        say(str(error))
        return
    if mode() == LEADING and found.code == state[CODE]:
        return  # the teacher opened their own class's link: they still lead
    _clear()
    state.update({MODE: FOLLOWING, CODE: found.code, VIEW: found})


def start() -> None:
    """Button: start a class led by this browser."""
    try:
        started = classroom().start()
    except UserError as error:  # the store is down, or the deployment is full
        say(str(error))
        return
    _clear()
    st.session_state.update({MODE: LEADING, CODE: started.code, LEAD: started, PUBLISHED: {},
                             COOKIE_TO_WRITE: "set", _TOUCHED: time.monotonic()})


def end() -> None:
    """Button: end this teacher's class for everyone."""
    try:
        classroom().end(st.session_state[LEAD])
    except StoreUnavailable as error:
        say(str(error))
        return
    except UserError:
        pass  # already over (another tab ended it, or it expired): forget it here too
    _clear()
    # This callback runs before the page: begin() would read the ended class's code from the address bar,
    # try to join it, and tell the teacher "No class with the code ... is running".
    if "class" in st.query_params:
        del st.query_params["class"]
    st.session_state[COOKIE_TO_WRITE] = "forget"
    say("The class has ended; the students keep what they see.", "info")


def explore() -> None:
    """Button: a student explores on their own; the view stays as it is."""
    st.session_state[MODE] = EXPLORING
    beat()


def follow_again() -> None:
    """Button: a student follows the teacher again, from the teacher's page."""
    st.session_state[MODE] = FOLLOWING
    st.session_state.pop(APPLIED, None)
    beat()


def leave() -> None:
    """Button: a student leaves the class altogether (a new link can join another)."""
    try:
        classroom().leave(code(), member())
    except StoreUnavailable:
        pass  # the heartbeat expires by itself
    _clear()


def beat() -> None:
    """A student's heartbeat, so that the teacher's head count is right."""
    if mode() in (FOLLOWING, EXPLORING):
        try:
            classroom().follow_beat(code(), member(), following=mode() == FOLLOWING)
        except StoreUnavailable:
            pass
