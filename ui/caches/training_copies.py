"""This browser session's private training copy, held in the server's one bounded store.

Pages never keep a trainable copy in ``st.session_state``: they ask ``private_copy``
for it, which finds the session's copy in ``explorer.classroom.budget.TrainingCopies``
or makes a new one if the budget has room, and otherwise shows the budget's sentence.
A sweeper thread frees the copies of sessions whose browser has gone (after a grace
of ``GONE_GRACE_S``, so a network blip loses nothing).

The page gets a weak proxy of its copy, never the copy itself: a page's module
globals outlive its run (the format functions of its widgets, kept in the session's
widget state until Streamlit drops a disconnected session, minutes later, refer to
them), so a strong reference there kept a closed tab's VGG-16 copy, 1.9 GB, alive long
after the store had let it go. The store holds the only strong reference.
"""

from __future__ import annotations

import gc
import logging
import secrets
import threading
import time
import weakref
from collections.abc import Callable

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from explorer.classroom.budget import BudgetFull, TrainingCopies, limit_from_environment
from explorer.core import memory
from ui import streamlit_adapter

log = logging.getLogger(__name__)

GONE_GRACE_S = 45  # a disconnected session's copy is freed this long after its browser left
SWEEP_EVERY_S = 10


def session_owner() -> str:
    """The key of this browser session's copy in the store: its session id, then a token of its own.

    The token keeps sessions apart where ids repeat (every AppTest session has the same id);
    the id is what tells the sweeper whether the browser is still there.
    """
    ctx = get_script_run_ctx()
    session_id = ctx.session_id if ctx is not None else "no-session"
    token = st.session_state.setdefault("train_owner_token", secrets.token_hex(8))
    return f"{session_id}/{token}"


def _alive(owners: list[str]) -> set[str]:
    # AppTest and scripts have no server, so nobody can be gone (session_is_active says True)
    return {owner for owner in owners if streamlit_adapter.session_is_active(owner.rsplit("/", 1)[0])}


def _sweep_forever(copies: TrainingCopies) -> None:
    while True:
        time.sleep(SWEEP_EVERY_S)
        try:
            freed = copies.sweep(_alive(copies.owners()), GONE_GRACE_S)
            if freed:
                log.info("Freed %d training copies of sessions that closed.", len(freed))
                # Streamlit's collection after every run is off (.streamlit/config.toml): collect here,
                # where hundreds of megabytes were let go, and hand the pages back to the system.
                gc.collect()
                memory.release_freed_memory()
        except Exception:  # the sweeper must never die: it is what bounds the memory of closed tabs
            log.exception("Sweeping training copies failed")


@st.cache_resource
def training_copies() -> TrainingCopies:
    """The server's one store of training copies (its budget read once, at the first use)."""
    copies = TrainingCopies(limit_from_environment())
    threading.Thread(target=_sweep_forever, args=(copies,), name="training-copy-sweeper", daemon=True).start()
    return copies


def private_copy(key: tuple, label: str, nbytes: int, make: Callable[[], object], settings: str = ""):
    """A weak proxy of this session's copy for ``key``, holding ``nbytes`` with ``settings``, or None after the
    budget's sentence.

    The existing copy is returned with its reservation resized to ``nbytes`` (settings such as
    the optimiser change what it holds); a new one is made if it fits. When the budget cannot
    take the new size, the copy stays held, as it was, and None says: not with these settings.
    """
    copies = training_copies()
    owner = session_owner()
    notice = copies.put_away_notice(owner)
    if notice:
        st.info(notice)
    try:
        found = copies.get(owner, key)
        if found is not None:
            copies.resize(owner, key, nbytes, settings)
            return weakref.proxy(found)
        return weakref.proxy(copies.put(owner, key, label, nbytes, make, settings))
    except BudgetFull as error:
        st.warning(str(error))
        return None


def session_trainer(session_state):
    """The copy a session holds, found through what its page recorded (for tests and the load test)."""
    return training_copies().get(session_state["train_owner"], session_state["train_key"])
