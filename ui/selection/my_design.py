"""This browser session's own network ("Your network"): the design the Build a network page edits.

The design lives in ``st.session_state`` as the JSON a design file holds (``bn_design``),
so it is bounded like a design file (at most 64 layers of a few numbers each) and every
value in it has passed ``explorer.analysis.design_file``'s checks. Each row carries a
number of its own (``bn_rows``), so the page's widgets keep their keys while rows move;
a design that arrives whole (a preset, an upload, a link, the teacher's) gets new numbers,
and with them fresh widgets.

Whenever the design can be built, ``whole_spec`` makes it an architecture for this session
(``explorer.analysis.design_spec``), which the sidebar offers beside the classics. The
spec store is bounded and may drop it, so it is made again on every run that needs it.
"""

from __future__ import annotations

import streamlit as st

from explorer.analysis.design_file import parse_design
from explorer.analysis.design_link import decode, encode
from explorer.analysis.design_spec import PREFIX, TITLE, design_spec
from explorer.core.errors import UserError
from explorer.core.registry import ArchSpec
from explorer.models.design import Design
from ui.classroom import follow

DESIGN = "bn_design"  # the design's JSON (input, classes, layers)
ROWS = "bn_rows"  # one number per row: the row's widgets' keys
_NEXT = "bn_next_row"
TEACHERS = "bn.design"  # the name a teacher's design is published under (ui.classroom.follow)


def design() -> Design | None:
    """The session's design, or None before the student has started one."""
    data = st.session_state.get(DESIGN)
    return parse_design(data) if data is not None else None


def row_keys() -> list[int]:
    return st.session_state.setdefault(ROWS, [])


def new_row_key() -> int:
    key = st.session_state.get(_NEXT, 0)
    st.session_state[_NEXT] = key + 1
    return key


def put(new: Design) -> None:
    """Replace the whole design (rows get new numbers, so their widgets start from the new values)."""
    st.session_state[DESIGN] = new.to_json()
    st.session_state[ROWS] = [new_row_key() for _ in new.layers]


def put_layers(data: dict, keys: list[int]) -> None:
    """Store an edited design (already checked by the caller) with the row numbers in its new order."""
    st.session_state[DESIGN] = parse_design(data).to_json()
    st.session_state[ROWS] = list(keys)


def whole_spec() -> ArchSpec | None:
    """The design as this session's architecture, or None while it has none or cannot be built."""
    current = design()
    if current is None:
        return None
    try:
        return design_spec(current)
    except UserError:
        return None


def is_design_id(arch_id: object) -> bool:
    return isinstance(arch_id, str) and arch_id.startswith(PREFIX)


def link() -> str | None:
    """The ``design=`` value for the address bar, or None without a design."""
    current = design()
    return encode(current) if current is not None else None


def follow_teacher() -> None:
    """A following student's design becomes the teacher's, whenever the teacher's changes."""
    if not follow.following():
        return
    data = follow.teacher_value(TEACHERS)
    if data is None:
        return
    try:
        teachers = parse_design(data)
    except UserError:  # not a design this server can read: the student keeps their own
        return
    if design() != teachers:
        put(teachers)


def publish() -> None:
    """The teacher's design goes to the class (nothing happens for anyone else)."""
    current = design()
    if current is not None:
        follow.publish(TEACHERS, current.to_json())


def from_link(text: str) -> str | None:
    """Open the design a link carries; a sentence if it cannot be opened (the session's design then stays)."""
    try:
        put(decode(text))
    except UserError as error:
        kept = "The design you had stays." if design() is not None else "Start one on the Build a network page."
        return f"{error} {kept}"
    return None
