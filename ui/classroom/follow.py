"""How a page follows the teacher: declare a followed value once; the teacher publishes it, a follower applies it.

A page wraps each control that the class should mirror::

    with follow.followed("fm.layer", "fm_layer", options=names) as disabled:
        st.selectbox("Layer", names, key="fm_layer", disabled=disabled)

- A following student: *before* the widget is drawn, the teacher's value for ``"fm.layer"``
  is written into ``st.session_state["fm_layer"]`` (if the teacher published one this page
  can show: in ``options``, or accepted by ``valid``); ``disabled`` is True.
- The teacher: *after* the widget, its value is published under ``"fm.layer"``.
- Anybody else (no class, or exploring on their own): nothing happens; ``disabled`` is False.

Values that are not a widget's (a convolution window stepped by buttons, a diagram node)
go through ``publish(name, value)`` and ``teacher_value(name, default)``. Results too large
for the snapshot (the teacher's last training step) go through ``publish_result`` and
``teacher_result`` as shared blobs. Values are JSON: strings, numbers, booleans, None, lists
and dicts (a tuple comes back as a list). Name them with the page's key prefix (``fm.``,
``dg.``, ``train.``...); the sidebar uses ``selection``, the app ``page``, pictures ``picture``.

When values reach the class: in a full run, what the teacher published during the run
goes out together at its end (``flush``, called by app.py), so a follower reruns once,
with a consistent snapshot, and finds the teacher's results in the server's caches
under the same keys; in a fragment's own rerun, when a fragment made with ``fragment``
ends (at once in any other fragment).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import streamlit as st

from explorer.classroom import results
from explorer.classroom.store import StoreUnavailable
from explorer.core.errors import UserError
from explorer.core.limits import UPLOAD_BYTES
from explorer.inputs import samples
from ui import streamlit_adapter
from ui.classroom import push as class_push
from ui.classroom import session

PICTURE = "picture"
# Benchmarks (benchmarks/follow_latency.py): a line when the teacher's change goes out and when a follower's run shows it.
TIMING_LOG = os.environ.get("EXPLORER_CLASS_LOG")
RESULT_BYTES = 8 * 1024 * 1024  # one training step of ResNeXt-101 packs to well under 1 MB
_MISSING = object()
_batching = threading.local()  # how deep this script thread is inside ``fragment`` bodies


def following() -> bool:
    """Whether this session mirrors the teacher now (its followed controls are shown disabled)."""
    return session.mode() == session.FOLLOWING and session.view() is not None


def leading() -> bool:
    """Whether this session leads a running class (what it shows is published)."""
    return session.lead() is not None


def teacher_value(name: str, default=None):
    """The teacher's value for ``name``, for a following student; ``default`` for anyone else."""
    if not following():
        return default
    return _read(name, default)


def _read(name: str, default=None):
    """The teacher's value, noted as one this fragment shows (so a change of it alone reruns the fragment alone)."""
    for names in getattr(_batching, "reads", ()):
        names.add(name)
    return session.view().values.get(name, default)


def _same(a, b) -> bool:
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def publish(name: str, value) -> None:
    """The teacher's ``value`` for ``name`` goes to the class (nothing for anyone else, or if unchanged)."""
    if not leading():
        return
    state = st.session_state
    published, pending = state.setdefault(session.PUBLISHED, {}), state.setdefault(session.PENDING, {})
    if name in pending and _same(pending[name], value):
        return
    if name not in pending and name in published and _same(published[name], value):
        return
    json.dumps(value)  # a value the class cannot read fails here, in the page that publishes it
    pending[name] = value
    if streamlit_adapter.fragment_rerun() and not getattr(_batching, "depth", 0):  # no end of run to wait for
        flush()



def _catch_up(fragment_id: str | None) -> None:
    """A follower's pushed fragment rerun: take the class's newest snapshot if its changes are all this fragment's."""
    scope, view = st.session_state.get(session.SCOPES, {}).get(fragment_id), session.view()
    try:
        now = session.classroom().look(view.code) if scope is not None else None
    except StoreUnavailable:
        return
    if now is not None and not now.ended and now.version > view.version and class_push.changed(
            view.values, now.values) <= scope:
        st.session_state[session.VIEW] = now


def fragment(body: Callable) -> Callable:
    """``st.fragment(body)`` whose published values go to the class together when the fragment ends.

    One click that changes two followed values (a new layer resets the enlarged channel) is then
    one change of the snapshot, and every follower reruns once for it, not twice. For a follower,
    the fragment notes which of the teacher's values it shows: a change of those alone is pushed
    as a rerun of this fragment alone (``ui.classroom.push``), a fraction of the page's work.
    """
    @functools.wraps(body)  # st.fragment names the fragment after the body's module and name
    def batched(*args, **kwargs):
        own_rerun = streamlit_adapter.fragment_rerun() and not getattr(_batching, "depth", 0)
        fragment_id, reads = class_push.current_fragment_id(), set()
        if own_rerun and following():
            _catch_up(fragment_id)  # the class's newest values, if this fragment is all they change
        _batching.depth = getattr(_batching, "depth", 0) + 1
        _batching.reads = [*getattr(_batching, "reads", ()), reads]
        try:
            return body(*args, **kwargs)
        finally:  # also when the fragment ends by a rerun or a stop: what it published still goes
            _batching.depth -= 1
            _batching.reads = _batching.reads[:-1]
            if following() and fragment_id:
                st.session_state.setdefault(session.SCOPES, {})[fragment_id] = frozenset(reads)
            if own_rerun:
                flush()
                if following():
                    class_push.drawn(session.view().version, session.view().values)
                    note_timing("shown", session.view().version, "pushed" if class_push.was_pushed() else "")

    return st.fragment(batched)


def flush() -> None:
    """Send what the teacher published during this run, in one change of the snapshot."""
    pending = st.session_state.get(session.PENDING)
    if not pending or not leading():
        return
    st.session_state[session.PENDING] = {}
    try:
        version = session.classroom().publish(session.lead(), pending)
        st.session_state.setdefault(session.PUBLISHED, {}).update(pending)
        note_timing("published", version)
    except StoreUnavailable as error:
        session.say(str(error))  # the class keeps the last snapshot; the next change tries again
    except UserError as error:  # the class was ended in another tab, or expired
        session.class_over(error)


def note_timing(what: str, version: int, how: str = "") -> None:
    """One line in ``EXPLORER_CLASS_LOG`` (when set): the time, what happened, the class's version, who, how."""
    if TIMING_LOG:
        with open(TIMING_LOG, "a") as log:
            log.write(f"{time.time():.3f} {what} {version} {session.member()} {how}".rstrip() + "\n")


@contextmanager
def followed(name: str, key: str, *, options: Iterable | None = None,
             valid: Callable[[object], bool] | None = None) -> Iterator[bool]:
    """Around one widget with ``key``: a follower takes the teacher's value first, the teacher publishes after.

    Yields whether the widget should be drawn disabled (True while following).
    """
    if following():
        value = _read(name, _MISSING)
        allowed = options is None or value in list(options)
        if value is not _MISSING and allowed and (valid is None or valid(value)):
            st.session_state[key] = value
    yield following()
    if key in st.session_state:
        publish(name, st.session_state[key])


@contextmanager
def followed_keys(name: str, keys: Iterable[str], *,
                  adapt: Callable[[dict], dict | None] | None = None) -> Iterator[bool]:
    """Like ``followed`` for a group of widgets published together as one value (a dict by key).

    ``adapt`` receives the teacher's dict and returns what this server can show (or None to keep
    the follower's own values): e.g. a device this replica lacks replaced by its own.
    """
    keys = list(keys)
    if following():
        values = _read(name)
        if isinstance(values, dict):
            values = adapt(values) if adapt is not None else values
            for key, value in (values or {}).items():
                if key in keys:
                    st.session_state[key] = value
    yield following()
    publish(name, {key: st.session_state[key] for key in keys if key in st.session_state})


def _put_blob(slot: str, data: bytes, limit: int, what: str) -> str | None:
    try:
        return session.classroom().put_blob(session.lead(), slot, data, limit, what)
    except UserError as error:  # too large, the store is down, or the class is over
        st.warning(str(error))
        return None


@st.cache_data(max_entries=4, show_spinner=False)
def _shared_bytes(code: str, digest: str) -> bytes:
    """A blob of the class, fetched once per server (a missing one raises, and is not cached)."""
    data = session.classroom().blob(code, digest)
    if data is None or hashlib.sha256(data).hexdigest() != digest:
        raise LookupError(digest)
    return data


def _teacher_blob(name: str) -> bytes | None:
    reference = teacher_value(name)
    if not isinstance(reference, dict) or not isinstance(reference.get("digest"), str):
        return None
    try:
        return _shared_bytes(session.code(), reference["digest"])
    except (LookupError, StoreUnavailable):  # replaced or gone meanwhile: keep what is shown
        return None


def publish_result(name: str, fields: dict) -> None:
    """The teacher's results (e.g. ``dataclasses.asdict(step_result)``) shared with the class under ``name``."""
    if not leading():
        return
    digest = _put_blob(name, results.pack(fields), RESULT_BYTES, "This result")
    if digest is not None:
        publish(name, {"digest": digest})


def teacher_result(name: str) -> dict | None:
    """The teacher's latest results under ``name`` for a following student (None if none, or not following)."""
    data = _teacher_blob(name)
    return results.unpack(data) if data is not None else None


def upload_notice() -> None:
    """For the teacher, above an uploader: what they upload is shown to the class."""
    if leading():
        st.caption(":material/groups: Your class sees the picture you choose here, uploads included.")


def share_picture(data: bytes, about) -> None:
    """The teacher's picture (already read successfully) goes to the class; a refused one never does."""
    if not leading():
        return
    if isinstance(about, samples.Sample):
        reference = {"label": about.label, "sample": about.key}
    else:
        label = str(about or "picture")
        reference = {"label": "the teacher's " + label.removeprefix("your ") if label.startswith("your ") else label}
    digest = hashlib.sha256(data).hexdigest()
    shared = st.session_state.get(session.PUBLISHED, {}).get(PICTURE)
    if isinstance(shared, dict) and shared.get("digest") == digest:
        return
    if _put_blob(PICTURE, data, UPLOAD_BYTES, "This picture") is not None:
        publish(PICTURE, {"digest": digest, **reference})


def class_picture(data: bytes | None, about):
    """For a following student, the teacher's picture instead of their own (``about`` in the page's terms).

    ``about`` is what the page knows of its picture: a label (a string), or a sample (or None).
    """
    shared = _teacher_blob(PICTURE)
    if shared is None:
        return data, about
    reference = teacher_value(PICTURE)
    if isinstance(about, str):
        return shared, reference.get("label", "the teacher's picture")
    try:
        return shared, samples.get_sample(reference.get("sample"))
    except KeyError:  # the teacher's own upload: no sample to name
        return shared, None
