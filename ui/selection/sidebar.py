"""The sidebar every page shares: architecture, input size, batch, device and weights.

Pages read ``current_selection()`` and never build their own copy of these
widgets. A shared link chooses the starting values once per browser session
(``ui.selection.address_bar``); the weights controls live in ``ui.selection.weights_panel``. In a class the
controls are followed (``ui.classroom.follow``): a following student's sidebar shows the
teacher's selection, disabled, and the teacher's is published as ``"selection"``.
"""

from __future__ import annotations

import streamlit as st

from explorer.core import devices
from explorer.core.registry import ARCH_IDS, ArchSpec, get_spec
from explorer.core.sizes import MAX_BATCH, MAX_SIDE, InputSize, valid_range
from explorer.weights import catalogue
from ui.classroom import follow
from ui.classroom import session as class_session
from ui.selection import address_bar as url
from ui.selection import my_design
from ui.selection import weights_panel
from ui.selection.record import Selection

# Widget keys; the "sb_" prefix keeps them apart from page-specific state.
ARCH, HEIGHT, WIDTH, BATCH, DEVICE = "sb_arch", "sb_height", "sb_width", "sb_batch", "sb_device"
SQUARE = "sb_square"
_URL_READ = "sb_url_read"
_URL_PROBLEMS = "sb_url_problems"
_SELECTION = "sb_selection"
FOLLOWED = (ARCH, SQUARE, HEIGHT, WIDTH, BATCH, DEVICE, weights_panel.WEIGHTS)  # published as one "selection"


def _apply_url_query() -> None:
    """Once per browser session, let a shared link choose the sidebar's starting values."""
    if st.session_state.get(_URL_READ):
        return
    st.session_state[_URL_READ] = True
    design_problem = my_design.from_link(st.query_params["design"]) if "design" in st.query_params else None
    my_design.whole_spec()  # before the link's arch=design-… is looked up
    start = url.read_query(st.query_params)
    st.session_state[ARCH] = start.arch_id
    st.session_state[HEIGHT], st.session_state[WIDTH] = start.size.height, start.size.width
    st.session_state[SQUARE] = start.size.height == start.size.width
    st.session_state[BATCH] = start.size.batch
    if start.device is not None:
        st.session_state[DEVICE] = start.device
    st.session_state[weights_panel.WEIGHTS] = start.weights
    st.session_state[_URL_PROBLEMS] = [*([design_problem] if design_problem else []), *start.problems]


def _reset_size_for_new_arch() -> None:
    spec = get_spec(st.session_state[ARCH])
    st.session_state[HEIGHT] = st.session_state[WIDTH] = spec.default_size
    weights_panel.carry_over(spec)


def _follow_height() -> None:
    if st.session_state.get(SQUARE, True):
        st.session_state[WIDTH] = st.session_state[HEIGHT]


def _what_this_server_shows(teachers: dict) -> dict | None:
    """The teacher's selection as this server can show it: their device only where it exists here,
    and random weights for an upload (a state dict stays on the teacher's computer)."""
    own = my_design.whole_spec()
    if teachers.get(ARCH) not in ARCH_IDS and (own is None or teachers.get(ARCH) != own.id):
        return None
    spec = get_spec(teachers[ARCH])
    values = {ARCH: spec.id, SQUARE: bool(teachers.get(SQUARE))}
    for key, top, default in ((HEIGHT, MAX_SIDE, spec.default_size), (WIDTH, MAX_SIDE, spec.default_size),
                              (BATCH, MAX_BATCH, 1)):
        value = teachers.get(key)
        values[key] = value if isinstance(value, int) and 1 <= value <= top else default
    device = teachers.get(DEVICE)
    values[DEVICE] = device if device in devices.available_devices() else devices.default_device()
    weights = teachers.get(weights_panel.WEIGHTS)
    values[weights_panel.WEIGHTS] = weights if weights in catalogue.choices(spec, upload=False) else catalogue.RANDOM
    return values


def render_sidebar() -> Selection:
    """Draw the shared controls and return what they select."""
    _apply_url_query()
    my_design.follow_teacher()
    own = my_design.whole_spec()
    _keep_own_network_current(own)
    with follow.followed_keys("selection", FOLLOWED, adapt=_what_this_server_shows) as following:
        return _draw(following, own)


def _keep_own_network_current(own: ArchSpec | None) -> None:
    """With "Your network" chosen, the sidebar follows the design's edits (its id and its one input size);
    a design that can no longer be built gives way to the default architecture."""
    if not my_design.is_design_id(st.session_state.get(ARCH)):
        return
    if own is None:
        st.session_state[ARCH] = url.DEFAULT_ARCH
        _reset_size_for_new_arch()
        return
    st.session_state[ARCH] = own.id
    st.session_state[HEIGHT] = st.session_state[WIDTH] = own.default_size
    st.session_state[SQUARE] = True


def _draw(following: bool, own: ArchSpec | None) -> Selection:
    sidebar = st.sidebar
    sidebar.selectbox(
        "Architecture",
        [*ARCH_IDS, *([own.id] if own is not None else [])],
        key=ARCH,
        format_func=lambda arch_id: my_design.TITLE if my_design.is_design_id(arch_id) else get_spec(arch_id).label,
        on_change=_reset_size_for_new_arch,
        help="Oldest first, as the lab introduces them; the prefix is the family.",
        disabled=following,
    )
    spec = get_spec(st.session_state[ARCH])
    size_help = f"{spec.name} takes {valid_range(spec)}; its usual input is {spec.default_size}×{spec.default_size}."
    square = sidebar.toggle("Square input", key=SQUARE, on_change=_follow_height, disabled=following)
    left, right = sidebar.columns(2)
    left.number_input(
        "Height", min_value=1, max_value=MAX_SIDE, step=1, key=HEIGHT, help=size_help, on_change=_follow_height,
        disabled=following,
    )
    right.number_input(
        "Width", min_value=1, max_value=MAX_SIDE, step=1, key=WIDTH, help=size_help, disabled=square or following
    )
    sidebar.number_input("Batch size", min_value=1, max_value=MAX_BATCH, step=1, key=BATCH, disabled=following)
    options = devices.available_devices()
    if st.session_state.get(DEVICE) not in options:
        st.session_state[DEVICE] = options[0]
    sidebar.selectbox("Device", options, key=DEVICE, format_func=devices.describe, disabled=following)
    wanted = weights_panel.weights_widget(spec, disabled=following)
    if following and follow.teacher_value("selection", {}).get(weights_panel.WEIGHTS) == catalogue.UPLOAD:
        sidebar.caption("The teacher runs weights of their own; an uploaded file stays on the teacher's computer, "
                        "so you see random weights.")
    weights, digest = weights_panel.usable_weights(spec, wanted, st.session_state[DEVICE])
    _describe_architecture(spec)
    selection = Selection(
        spec=spec,
        size=InputSize(int(st.session_state[HEIGHT]), int(st.session_state[WIDTH]), int(st.session_state[BATCH])),
        device=st.session_state[DEVICE],
        weights=weights,
        wanted=wanted,
        upload_digest=digest,
    )
    my_design.publish()
    url.mirror_to_url(selection, class_session.code(), my_design.link())
    st.session_state[_SELECTION] = selection
    return selection


def _describe_architecture(spec: ArchSpec) -> None:
    with st.sidebar.container(border=True):
        year = f" ({spec.year})" if spec.year else ""
        paper = f"[{spec.paper}]({spec.paper_url})" if spec.paper_url else spec.paper
        st.markdown(f"**{spec.name}**{year}  \n{paper}")
        st.caption(f"Input: {spec.in_channels} channel(s), {valid_range(spec)}.")
        if spec.note:
            st.caption(spec.note)
        if my_design.is_design_id(spec.id):
            st.caption("Your network, from Build a network, lives in this tab only. It has no trained weights here: "
                       "train it on the digits, download its weights, and upload them above.")


def url_problems() -> list[str]:
    """Sentences about parts of a shared link that could not be used."""
    return st.session_state.get(_URL_PROBLEMS, [])


def current_selection() -> Selection:
    """The selection made by the sidebar this run (``render_sidebar`` must have run)."""
    return st.session_state[_SELECTION]
