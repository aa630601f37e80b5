"""Choosing the picture a page runs: the sources, one server cache for decoding, and the last good picture.

The Feature maps and Training pages take a picture the same way: a sample, an
upload (read from its bytes only; its name is never used) or, on Feature maps,
a drawing. A picture that cannot be read gets one sentence, and the page carries
on with the last good one, so the controls beside it stay on the page and keep
their settings (a widget that is not drawn forgets what the student chose in it).
"""

from __future__ import annotations

import hashlib
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

import streamlit as st

from explorer.core import admission, thread_share
from explorer.core.errors import UserError
from explorer.core.registry import ArchSpec, get_spec
from explorer.inputs import images, samples
from ui import streamlit_adapter
from ui.classroom import follow
from ui.widgets import photo_shrink

SOURCES = {
    "photo": "Sample photo",
    "handwritten": "Handwritten digit",
    "scoreboard": "Scoreboard digit",
    "upload": "Upload a picture",
    "draw": "Draw a digit",
}
UPLOAD_TYPES = ["jpg", "jpeg", "png", "webp", "bmp", "gif"]
# A photo chosen in place of another often reaches the server as two reruns: Streamlit's uploader first drops
# the old file (a run with none, which would redraw the page or fragment from caches, about 19 ms of server CPU
# on Feature maps) and then sends the new one. A run that finds the file just gone waits up to this long for
# that second request and then stops for it (``wait_for_a_replacement``); a student who removed the photo
# sees the last picture kept a quarter of a second later.
REPLACEMENT_WAIT_S = 0.25
REPLACEMENT_POLL_S = 0.02


# Entries hold a decoded picture of at most 2048 pixels a side (about 12 MB). A resource cache: every run and
# session gets the one read-only result; a data cache pickled each new picture (a 1008×756 photo: 3 MB, about
# 15 ms of server CPU per upload) and unpickled a copy on every rerun. Nothing changes these objects: the pages
# and the library copy the tensor before taking gradients or moving it.
@st.cache_resource(max_entries=16, show_spinner=False)
def prepared_input(*, digest: str, arch_id: str, height: int, width: int, weights: str,
                   _data: bytes) -> tuple[images.LoadedImage, images.PreparedInput]:
    """Decode and preprocess once per picture (keyed by its hash), network input and weights."""
    spec = get_spec(arch_id)
    loaded = images.load_image(_data, images.needed_side(spec, height, width, weights))  # a JPEG decoded only as large as needed
    return loaded, images.prepare(loaded, spec, height, width, weights)


@st.cache_resource(show_spinner=False)
def picture_line() -> admission.Line:
    """The one line, server-wide, in which new pictures wait for the network (``EXPLORER_PICTURE_TURNS`` at once)."""
    return admission.Line(admission.capacity_from_environment())


@st.cache_resource(show_spinner=False)
def recently_through() -> deque:
    """The keys whose work went through the line last, server-wide: as many as Feature maps' capture cache holds,
    so that a class following its teacher's picture does not queue for a capture that is already made."""
    return deque(maxlen=8)


@contextmanager
def server_turn(on_place: Callable[[int], None]) -> Iterator[admission.Turn]:
    """A turn in the server's line (``on_place`` told the place while waiting), whose torch work runs on
    its share of the cores: two turns on two cores, one thread each (``explorer.core.thread_share``)."""
    line = picture_line()
    with line.turn(on_place=on_place) as turn, thread_share.share_of_threads(line.capacity):
        yield turn


@contextmanager
def turn_for_new_picture(key: Hashable) -> Iterator[None]:
    """Run the body in the server's line for new pictures, saying the place while it waits.

    ``key`` names the work (the capture's cache key): a session that already went through with
    this key (its layer switches, its other controls), or any key done lately, goes straight on;
    so does ``key`` None (no picture of the session's own, e.g. a student following the class: the
    body only draws pictures decoded and run before). Waiting, the page shows one sentence with the
    place, redrawn as the line moves; a rerun stops the wait and leaves the line. The body's torch
    work runs on its share of the cores (``explorer.core.thread_share``).
    """
    if key is None or st.session_state.get("_picture_turn_key") == key or key in recently_through():
        yield
        return
    notice, line = st.empty(), picture_line()
    with server_turn(lambda place: notice.info(admission.place_sentence(place, line.capacity))):
        notice.empty()
        yield
    st.session_state["_picture_turn_key"] = key
    recently_through().append(key)


def turn_for_picture(selection, data: bytes | None) -> AbstractContextManager:
    """``turn_for_new_picture`` for these bytes (before decoding) on this selection; no wait before there are
    bytes (the page then asks for a picture, follows its class or goes on with its last good one, which
    already had its turn). Decoding inside the turn lets the line order all of a new picture's work."""
    if data is None:
        return nullcontext()
    spec, size = selection.spec, selection.size
    return turn_for_new_picture((spec.id, size.height, size.width, selection.device, selection.weights_key,
                                 digest_of(data)))


# The last bytes hashed and their digest: a page hashes the same upload several times in a run (the
# line's key, the decode cache, the capture's key), 2 ms each for a 3 MB photo. Holding the object
# itself keeps its identity from being reused by another.
_last_digest: tuple[bytes, str] | None = None


def digest_of(data: bytes) -> str:
    global _last_digest
    last = _last_digest
    if last is not None and last[0] is data:
        return last[1]
    digest = hashlib.sha256(data).hexdigest()
    _last_digest = (data, digest)
    return digest


def picture_or_last_good(data: bytes | None, about, selection, *, kept_key: str, ask: str,
                         carrying_on: str) -> tuple[bytes, object, images.LoadedImage, images.PreparedInput]:
    """This picture prepared for the selection; after a missing or unreadable one, the last good picture.

    ``about`` is what the page knows of the picture (a label, a sample) and is kept with it
    under ``kept_key``. Before there is any good picture, ``ask`` is shown and the run stops;
    after a bad one, ``carrying_on`` says which picture the page goes on with.
    Returns the bytes used, their ``about``, the decoded picture and the network's input.
    """
    size = selection.size

    def prepare(picture: bytes) -> tuple[images.LoadedImage, images.PreparedInput]:
        # Keywords: a cheaper cache key (ui/caches).
        return prepared_input(digest=digest_of(picture), arch_id=selection.spec.id, height=size.height,
                              width=size.width, weights=selection.weights, _data=picture)

    data, about = follow.class_picture(data, about)  # a following student sees the teacher's picture
    if data is not None:
        try:
            loaded, prepared = prepare(data)
            st.session_state[kept_key] = (data, about)
            follow.share_picture(data, about)  # only a picture that was read successfully reaches the class
            return data, about, loaded, prepared
        except UserError as error:
            st.error(str(error))
    if kept_key not in st.session_state:
        if data is None:
            st.info(ask)
        st.stop()
    data, about = st.session_state[kept_key]
    st.caption(carrying_on.format(about=about))
    return data, about, *prepare(data)


def wait_for_a_replacement() -> None:
    """Wait up to ``REPLACEMENT_WAIT_S`` for the browser's next request, which stops this run.

    A full run stops by itself at its next element once a request waits. A fragment's own rerun does
    not (Streamlit lets it finish first), so it asks to rerun the fragment, which Streamlit merges with
    the waiting request (the new file included) and which stops this run at once.
    """
    deadline = time.monotonic() + REPLACEMENT_WAIT_S
    while time.monotonic() < deadline:
        if streamlit_adapter.rerun_waiting():
            if streamlit_adapter.fragment_rerun():
                st.rerun(scope="fragment")
            return
        time.sleep(REPLACEMENT_POLL_S)


def uploaded_picture(label: str, key: str) -> bytes | None:
    """One picture uploader (a teacher is told first that the class sees it): the file's bytes, None before
    one arrives. Its name is never used, not even shown as a path. A big JPEG arrives already made
    smaller by the browser (ui/widgets/photo_shrink.py), and the caption says so."""
    follow.upload_notice()
    upload = st.file_uploader(label, type=UPLOAD_TYPES, key=key)
    st.caption(photo_shrink.NOTE)
    had_file = f"{key}_had_file"
    if upload is None:
        if st.session_state.pop(had_file, False):
            wait_for_a_replacement()
        return None
    st.session_state[had_file] = True
    return upload.getvalue()


def pick_picture(spec: ArchSpec, prefix: str) -> tuple[bytes | None, str]:
    """A sample or an upload (no drawing), chosen with widgets keyed ``{prefix}_…``: its bytes (None until
    an upload arrives) and how to call it."""
    sources = [key for key in SOURCES if key != "draw"]
    if st.session_state.get(f"{prefix}_source") not in sources:
        st.session_state[f"{prefix}_source"] = samples.default_kind(spec.in_channels, spec.default_size)
    source = st.radio("Picture", sources, format_func=SOURCES.get, horizontal=True, key=f"{prefix}_source")
    if source == "upload":
        data = uploaded_picture("A picture (JPEG, PNG, WebP, BMP or GIF)", f"{prefix}_upload")
        return data, "your picture" if data is not None else ""
    key = st.selectbox("Which one", [s.key for s in samples.samples_of(source)], key=f"{prefix}_{source}",
                       format_func=lambda k: samples.get_sample(k).label)
    return samples.sample_bytes(key), samples.get_sample(key).label
