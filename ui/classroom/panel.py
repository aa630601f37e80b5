"""The sidebar's class panel: a teacher starts, shows and ends a class; a student follows, explores, comes back.

``render`` runs at the top of every full run (app.py), before the sidebar's controls: it
settles this session's part in a class (``ui.classroom.session``), puts a follower on the
teacher's page, draws the panel, and says in one sentence anything that went wrong.
``finish`` runs at the end of the run and sends what the teacher showed (``ui.classroom.follow``).

A change by the teacher reaches its followers at once: the server reruns their pages
(``ui.classroom.push``). Two small fragments do the rest without rerunning anybody's page:
the teacher's (every ``TEACHER_BEAT_S``) says "my tab is open" and counts the students; a
student's (every ``POLL_S``) says "I am here", reads the class's version (one small read)
and reruns the app only when this tab is behind (a lost announcement), or the teacher left
or came back.
"""

from __future__ import annotations

import io
import os
import re
import time
from urllib.parse import urlsplit

import segno
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from explorer.classroom import codes
from explorer.classroom.store import StoreUnavailable
from explorer.core.errors import UserError
from ui import streamlit_adapter
from ui.classroom import follow
from ui.classroom import push as class_push
from ui.classroom import session
from ui.widgets.images import picture

# A student's poll costs the server one small fragment run (Streamlit's own overhead, mostly). Changes
# do not wait for it (they are pushed), so it only has to notice a teacher who left, a change whose
# announcement was lost, and say that the student is still there. EXPLORER_CLASS_POLL_S sets it.
POLL_S = min(10.0, max(0.5, float(os.environ.get("EXPLORER_CLASS_POLL_S") or 2.0)))
TEACHER_BEAT_S = 3.0
STUDENT_BEAT_S = max(2.0, POLL_S) - 0.25  # at most once a poll: a poll a little early still beats
GONE_S = 3 * max(2.0, POLL_S)  # a student's tab that missed three beats has closed
PAGE = "page"
_ON_PAGE = "cl_on_page"  # the teacher's page this follower was put on, at version APPLIED
_BEAT_AT = "cl_beat_at"
_RAN_ON = "cl_ran_on"  # the page of this session's last full run
_TOKEN = re.compile(r"[A-Za-z0-9_\-]{20,100}")
_PAGES: dict[str, object] = {}  # url_path -> the app's st.Page, for a poll that moves its follower
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]", "0.0.0.0")


def render(navigation, pages) -> None:
    """This run's class work; may move a follower to the teacher's page (a rerun).

    Everything it draws sits in one container in the sidebar and one in the main area, made in
    every run: Streamlit places elements by position, and a panel that changed the number of
    elements before the sidebar's controls would make the browser draw them anew, with their defaults.
    """
    session.begin()
    st.session_state[session.SCOPES] = {}  # this run's fragments say again what they show
    _PAGES.update({page.url_path: page for page in pages})
    class_push.route(PAGE, {page.url_path: streamlit_adapter.page_hash(page) for page in pages})
    st.session_state[_RAN_ON] = navigation.url_path
    _follow_page(navigation, pages)
    panel, notices = st.sidebar.container(), st.container()
    with panel:
        if session.mode() == session.LEADING:
            _teacher_panel(join_link(session.code(), navigation.url_path))
        elif session.mode() in (session.FOLLOWING, session.EXPLORING):
            _student_panel()
        else:
            _plain_panel()
        _write_cookie()
    with notices:
        for kind, sentence in session.take_notices():
            (st.info if kind == "info" else st.warning)(sentence)


def finish() -> None:
    """At the end of a full run: what the teacher showed goes to the class, in one change.

    A follower's run ends by asking to be rerun as soon as the class changes (``ui.classroom.push``).
    """
    follow.flush()
    if follow.following():
        follow.note_timing("shown", session.view().version, "pushed" if class_push.was_pushed() else "")
        class_push.following(session.classroom(), session.code(), session.view().version, session.view().values,
                             st.session_state.get(session.SCOPES))
    else:
        class_push.not_following()


def _follow_page(navigation, pages) -> None:
    here = navigation.url_path
    follow.publish(PAGE, here)  # the teacher's page ("" is the first page); nothing for anyone else
    if not follow.following():
        return
    state, view = st.session_state, session.view()
    teachers = view.values.get(PAGE)
    if teachers is None or teachers == here:
        state[session.APPLIED], state[_ON_PAGE] = view.version, here
        return
    if state.get(session.APPLIED) == view.version and state.get(_ON_PAGE) == teachers:
        # Nothing changed at the teacher's, and the student opened another page: they explore.
        session.explore()
        session.say("You are exploring on your own now; “Follow the teacher again” in the sidebar brings you back.",
                    "info")
        return
    target = next((page for page in pages if page.url_path == teachers), None)
    if target is not None:
        state[session.APPLIED], state[_ON_PAGE] = view.version, teachers
        st.switch_page(target, query_params={"class": session.code()})


def join_link(code: str, page_path: str) -> str:
    """``http://HOST:PORT/?class=CODE`` with the address this browser reached the app by."""
    url = st.context.url
    if url:
        parts = urlsplit(url)
        path = parts.path.rstrip("/")
        if page_path and path.endswith("/" + page_path):
            path = path[: -len(page_path) - 1]
        base = f"{parts.scheme}://{parts.netloc}{path}"
    else:
        base = f"http://{st.context.headers.get('Host') or 'localhost:8501'}"
    return f"{base}/?class={code}"


@st.cache_data(max_entries=32, show_spinner=False)
def qr_png(link: str, scale: int = 6) -> bytes:
    """The join link as a QR code a projector can show (dark on white, a quiet zone of two modules)."""
    buffer = io.BytesIO()
    segno.make(link, error="m").save(buffer, kind="png", scale=scale, border=2, dark="#1c2430")
    return buffer.getvalue()


def _big_code(code: str, size_rem: float) -> None:
    assert codes.is_well_formed(code)  # only the alphabet's letters and digits reach the HTML
    st.html(f'<div style="font-size:{size_rem}rem;font-weight:700;letter-spacing:.14em;text-align:center;'
            f'font-family:monospace" data-testid="cl-code">{codes.spaced(code)}</div>')


@st.dialog("Join the class", width="large")
def _projector(code: str, link: str) -> None:
    _big_code(code, 6)
    left, middle, right = st.columns([1, 2, 1])
    picture(qr_png(link, 14), f"QR code of the class link, {link}", place=middle, width="stretch")
    st.markdown(f"<div style='text-align:center;font-size:1.6rem'>{link}</div>", unsafe_allow_html=True)


def _teacher_panel(link: str) -> None:
    code = session.code()
    with st.container(border=True):
        st.markdown("**:material/co_present: You lead a class**")
        _head_count()
        _big_code(code, 2.4)
        picture(qr_png(link), f"QR code of the class link, {link}", width="stretch", caption="Scan to follow")
        st.code(link, language=None, wrap_lines=True)
        st.caption("Students who open the link follow your page, network, input size, weights and picture. "
                   "The pictures you choose, uploads included, are shown to them.")
        if (urlsplit(link).hostname or "") in LOCAL_HOSTS or (urlsplit(link).hostname or "").startswith("127."):
            st.warning("This address works on this computer only: open the app by this computer's network address "
                       "so that the link works for students.")
        show, end = st.columns(2)
        if show.button("Show large", icon=":material/fit_screen:", key="cl_show"):
            _projector(code, link)
        end.button("End the class", icon=":material/stop_circle:", key="cl_end", on_click=session.end)


@st.fragment(run_every=TEACHER_BEAT_S)
def _head_count() -> None:
    lead = session.lead()
    if lead is None:
        return
    _keep_on(st.session_state.get(_RAN_ON))
    try:
        session.classroom().teacher_here(lead)
        audience = session.classroom().audience(lead.code, GONE_S)
    except StoreUnavailable as error:
        st.warning(str(error))
        return
    except UserError as error:  # ended in another tab, expired, or lost with the store's data
        session.class_over(error)
        st.rerun(scope="app")
    students = f"{audience.following} student{'s' * (audience.following != 1)}"
    exploring = f" · {audience.exploring} exploring on their own" if audience.exploring else ""
    st.markdown(f"**{students}** following now{exploring}", help="Counted from each student's tab every few seconds.")


def _student_panel() -> None:
    with st.container(border=True):
        _watch_teacher()
        if session.mode() == session.FOLLOWING:
            st.button("Explore on my own", icon=":material/explore:", key="cl_explore", on_click=session.explore,
                      help="The view stays where it is, and the sidebar is yours again.")
        else:
            st.button("Follow the teacher again", icon=":material/group:", key="cl_follow", type="primary",
                      on_click=session.follow_again)
            st.button("Leave the class", key="cl_leave", on_click=session.leave)


@st.fragment(run_every=POLL_S)
def _watch_teacher() -> None:
    """A student's poll: one small read; the app reruns only if the class changed in a way this tab shows."""
    shown = session.view()
    if shown is None:
        return
    try:
        now = session.classroom().look(shown.code)
    except StoreUnavailable:
        st.caption("The class cannot be reached right now; you keep what you see.")
        return
    if time.monotonic() - st.session_state.get(_BEAT_AT, -1e9) >= STUDENT_BEAT_S:
        st.session_state[_BEAT_AT] = time.monotonic()
        session.beat()
    following = session.mode() == session.FOLLOWING
    if now is None or now.ended:
        st.rerun(scope="app")
    pushed = following and class_push.on_its_way()  # a pushed rerun brings this tab up to date soon anyway
    if not pushed:
        _keep_on(now.values.get(PAGE) if following else st.session_state.get(_RAN_ON))
    if following and ((now.version != shown.version and not pushed) or now.teacher_here != shown.teacher_here):
        st.rerun(scope="app")
    spaced = codes.spaced(shown.code)
    if not following:
        st.markdown(f"**:material/explore: Exploring on your own** · class {spaced}")
    elif shown.teacher_here:
        st.markdown(f"**:material/group: Following the teacher** · class {spaced}")
    else:
        st.markdown(f"**:material/person_off: The teacher has left** · class {spaced}")
        st.caption("You keep what you see; if the teacher comes back, you follow again.")


def _keep_on(page_path: str | None) -> None:
    """From a poll: make sure this tab shows ``page_path`` (the teacher's page, or its own last one).

    A poll that the browser sent just before a page change still names the old page, and its run
    takes the tab back there, showing an empty page; moving on at once mends that. For a follower it
    is also the quickest way onto the teacher's new page.
    """
    ctx = get_script_run_ctx()
    target = _PAGES.get(page_path) if page_path is not None else None
    here = streamlit_adapter.current_page_hash()
    if ctx is None or target is None or streamlit_adapter.page_hash(target) in (None, here):
        return
    st.session_state.pop(session.APPLIED, None)  # a move, not the student's own click
    st.switch_page(target, query_params={"class": session.code()} if session.code() else None)


def _join_typed() -> None:
    try:
        session.join(st.session_state.get("cl_typed", ""))
    except StoreUnavailable as error:
        session.say(str(error))


def _plain_panel() -> None:
    with st.expander("Teach or join a class", icon=":material/groups:"):
        st.caption("Start a class, and every student who opens your link sees what you show: "
                   "the page, the network, its size and weights, the picture.")
        st.button("Start a class", type="primary", icon=":material/co_present:", key="cl_start", on_click=session.start)
        with st.form("cl_join", border=False):
            st.text_input("Or join one with its code", max_chars=12, placeholder="KXM 4TR", key="cl_typed")
            st.form_submit_button("Join", on_click=_join_typed)


def _write_cookie() -> None:
    """The teacher's browser keeps the class's secret in a cookie for this server only (see ui.classroom.session)."""
    todo = st.session_state.pop(session.COOKIE_TO_WRITE, None)
    lead = session.lead()
    if lead is not None and codes.is_well_formed(lead.code) and _TOKEN.fullmatch(lead.token):
        value, age = f"{lead.code}.{lead.token}", 12 * 3600
    elif todo == "forget":
        value, age = "", 0
    else:
        return
    script = ("<script>document.cookie = " f'"{session.COOKIE}={value}; Max-Age={age}; Path=/; SameSite=Strict"'
              ' + (location.protocol === "https:" ? "; Secure" : "");</script>')
    # A script runs when its element is first drawn, not when an element in its place changes; the
    # forgetting one goes in a block of its own so that it is drawn anew where the setting one was.
    with st.container() if age == 0 else st.empty():
        st.html(script, unsafe_allow_javascript=True)
