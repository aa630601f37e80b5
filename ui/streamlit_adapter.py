"""The one module that touches Streamlit's internals; everything else uses its public API.

Streamlit has no public way to do what these do, so the app reaches inside, here only, and
tests/test_streamlit_adapter.py names each internal and fails with a sentence when one is gone.
``requirements.txt`` pins Streamlit to the minor versions those tests ran on.

- ``streamlit.runtime.Runtime`` (``exists``, ``instance``, ``is_active_session``,
  ``get_app_session``): whether a server runs at all (AppTest has none), and whether a browser
  session is still connected. Streamlit tells a script nothing when its tab closes; the app needs
  it to free that tab's training copy, stop its learning run, and tell students that the teacher left.
- ``AppSession.request_rerun`` with a ``ClientState``: run another session's page again. A class
  pushes a teacher's change onto its followers' pages this way, as Streamlit's own file watcher does
  for "run on save"; ``st.rerun`` only reruns the session that calls it.
- ``AppSession.has_fragment``: whether that session still holds the fragment a push would rerun.
- ``AppSession._browser_queue``: whether the messages of the last pushed rerun have left, so that
  the next rerun waits for them (the public API says nothing about message delivery).
- ``ScriptRunContext.page_script_hash`` and an ``st.Page``'s ``StreamlitPage._script_hash``: the page a
  follower is on, and the page to put it on, in the form ``request_rerun`` takes. (``ClientState`` can
  also name a page by its address, ``page_name``; that would change how a pushed rerun picks its page,
  which this move of files does not do.)
- ``ScriptRunContext.script_requests`` and its ``ScriptRequests._state``: whether the browser has asked for
  another run that this one has not stopped for. Streamlit lets a fragment's own rerun finish before the
  next one for that fragment starts; a photo replaced in an uploader inside a fragment arrives as two such
  reruns (the old file dropped, then the new one), and the first would redraw the whole fragment for nothing.
- ``ScriptRunContext.fragment_ids_this_run`` and ``ThreadState.get().fragment_id``: whether this
  run is a fragment's rerun, and which fragment runs now (the public API has neither).
- The frontend's ``data-testid="stFileUploader"`` (``UPLOADER``), around each file uploader's
  ``input``: the browser script of ui/widgets/photo_shrink.py finds picture uploaders by it.

When one is missing at run time the app keeps working without it, and one log line names it:
class changes then arrive by the students' regular poll instead of a push, and training copies of
closed tabs wait for the bounded store to evict them instead of being freed at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from streamlit.runtime.scriptrunner import get_script_run_ctx

log = logging.getLogger("explorer.streamlit_adapter")
_said: set[str] = set()


def _runtime():
    from streamlit.runtime import Runtime
    return Runtime


def _client_state():
    from streamlit.proto.ClientState_pb2 import ClientState
    return ClientState


def _thread_state():
    from streamlit.runtime.scriptrunner_utils.script_run_context import ThreadState
    return ThreadState


def _app_session():
    from streamlit.runtime.app_session import AppSession
    return AppSession


def _context():
    from streamlit.runtime.scriptrunner_utils.script_run_context import ScriptRunContext
    return ScriptRunContext


def _script_requests():
    from streamlit.runtime.scriptrunner_utils.script_requests import ScriptRequests
    return ScriptRequests


def _page():
    from streamlit.navigation.page import StreamlitPage
    return StreamlitPage


# Each internal, and how to find it in the installed Streamlit (an attribute of a class may be one its
# instances set in __init__: those are looked up in the dataclass fields or the __init__ source).
INTERNALS: dict[str, Callable[[], bool]] = {
    "Runtime.exists": lambda: hasattr(_runtime(), "exists"),
    "Runtime.instance": lambda: hasattr(_runtime(), "instance"),
    "Runtime.is_active_session": lambda: hasattr(_runtime(), "is_active_session"),
    "Runtime.get_app_session": lambda: hasattr(_runtime(), "get_app_session"),
    "ClientState(query_string, page_script_hash, fragment_id)": lambda: {
        "query_string", "page_script_hash", "fragment_id"} <= set(_client_state().DESCRIPTOR.fields_by_name),
    "AppSession.request_rerun": lambda: hasattr(_app_session(), "request_rerun"),
    "AppSession.has_fragment": lambda: hasattr(_app_session(), "has_fragment"),
    "AppSession._browser_queue": lambda: "self._browser_queue" in _source(_app_session().__init__),
    "ScriptRunContext.page_script_hash": lambda: hasattr(_context(), "page_script_hash"),
    "ScriptRunContext.script_requests": lambda: "script_requests" in _context().__dataclass_fields__,
    "ScriptRequests._state": lambda: "self._state" in _source(_script_requests().__init__),
    "ScriptRunContext.fragment_ids_this_run": lambda: "fragment_ids_this_run" in _context().__dataclass_fields__,
    "ThreadState.get().fragment_id": lambda: "fragment_id" in _returned_fields(_thread_state().get),
    "StreamlitPage._script_hash": lambda: "_script_hash" in _source(_page()),
    "frontend stFileUploader": lambda: _in_frontend("FileUploader", "\"data-testid\":`stFileUploader`"),
}
# The element around a file uploader's input in Streamlit's frontend.
UPLOADER = '[data-testid="stFileUploader"]'


def _in_frontend(bundle: str, text: str) -> bool:
    """Whether the installed frontend's ``bundle`` (one of its JavaScript files) contains ``text``."""
    from pathlib import Path

    import streamlit
    folder = Path(streamlit.__file__).parent / "static" / "static" / "js"
    return any(text in path.read_text(errors="replace") for path in folder.glob(f"{bundle}.*.js"))


def _returned_fields(function) -> set[str]:
    """The dataclass fields of what ``function`` returns, from its return annotation."""
    import sys
    returned = function.__annotations__["return"]
    returned = getattr(sys.modules[function.__module__], returned) if isinstance(returned, str) else returned
    return set(returned.__dataclass_fields__)


def _source(thing) -> str:
    import inspect
    return inspect.getsource(thing)


def missing_internals() -> list[str]:
    """The internals in ``INTERNALS`` that this Streamlit lacks (the test's and the log's list)."""
    missing = []
    for name, found in INTERNALS.items():
        try:
            ok = found()
        except (ImportError, AttributeError, OSError, TypeError):
            ok = False
        if not ok:
            missing.append(name)
    return missing


def _without(name: str, effect: str) -> None:
    """One log line per missing internal and process: what is missing and what the app does instead."""
    if name not in _said:
        _said.add(name)
        log.warning("This Streamlit has no %s: %s.", name, effect)


def server_running() -> bool:
    """Whether a Streamlit server runs in this process (False under AppTest and in scripts)."""
    try:
        return _runtime().exists()
    except (ImportError, AttributeError):
        _without("Runtime.exists", "the app runs as if no server watched its sessions")
        return False


def session_is_active(session_id: str) -> bool:
    """Whether the browser of ``session_id`` is still connected (True where this cannot be known)."""
    if not server_running():
        return True
    try:
        return _runtime().instance().is_active_session(session_id)
    except AttributeError:
        _without("Runtime.is_active_session", "closed tabs keep their training copies until the store evicts them")
        return True


def can_push() -> bool:
    """Whether a class can rerun its followers' pages (else they follow by their regular poll)."""
    try:
        _client_state()
        ok = hasattr(_app_session(), "request_rerun")
    except ImportError:
        ok = False
    if not ok:
        _without("AppSession.request_rerun", "class changes arrive by the students' regular poll instead of a push")
    return ok


def rerun_session(session_id: str, query_string: str, page_hash: str, fragment_id: str | None):
    """Ask another session to run ``page_hash`` again (only ``fragment_id`` where it still holds it).

    Returns the session, or None if it has gone or refused (its browser left meanwhile).
    """
    if not server_running() or not can_push():
        return None
    try:
        session = _runtime().instance().get_app_session(session_id)
    except AttributeError:
        _without("Runtime.get_app_session", "class changes arrive by the students' regular poll instead of a push")
        return None
    if session is None:  # the browser left
        return None
    fragment = fragment_id if fragment_id and session.has_fragment(fragment_id) else ""
    state = _client_state()(query_string=query_string, page_script_hash=page_hash, fragment_id=fragment)
    try:
        session.request_rerun(state)
    except Exception:  # a session shutting down as we ask: its browser has gone
        log.debug("rerun of a follower refused", exc_info=True)
        return None
    return session


def messages_sent(session) -> bool:
    """Whether a session's queued messages have left for its browser (True where this cannot be known)."""
    queue = getattr(session, "_browser_queue", None)
    if queue is None:
        _without("AppSession._browser_queue", "pushed reruns follow each other without waiting for the messages")
        return True
    return queue.is_empty()


def current_page_hash() -> str:
    """The script hash of the page this run draws ("" outside a script run)."""
    ctx = get_script_run_ctx()
    return getattr(ctx, "page_script_hash", "") if ctx is not None else ""


def page_hash(page) -> str | None:
    """The script hash of an ``st.Page`` (None where this Streamlit keeps it elsewhere)."""
    return getattr(page, "_script_hash", None)


def fragment_rerun() -> bool:
    """Whether this run is a fragment's rerun rather than a full run of the page."""
    ctx = get_script_run_ctx()
    return ctx is not None and bool(getattr(ctx, "fragment_ids_this_run", None))


def rerun_waiting() -> bool:
    """Whether the browser has asked for another run that this one has not stopped for yet (False where this
    Streamlit keeps its requests elsewhere)."""
    ctx = get_script_run_ctx()
    state = getattr(getattr(ctx, "script_requests", None), "_state", None)
    if ctx is not None and state is None:
        _without("ScriptRequests._state", "a replaced photo in a fragment redraws the fragment once more")
    return getattr(state, "name", None) == "RERUN"


def current_fragment_id() -> str | None:
    """The id of the fragment running now (None where this Streamlit keeps it elsewhere)."""
    try:
        return _thread_state().get().fragment_id
    except (ImportError, AttributeError):  # another Streamlit: every change then reruns the page
        return None
