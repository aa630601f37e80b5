"""What every page shares: the sidebar selection, the URL mirror, and server-wide caches.

Pages read ``current_selection()`` and never build their own copy of these
widgets. Cached objects here are shared by every user of the server and are
read-only: a page that wants to train or hook a model takes its own copy.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import streamlit as st
import torch

from explorer import devices
from explorer.errors import UserError
from explorer.registry import ARCH_IDS, ArchSpec, get_spec
from explorer.sizes import MAX_BATCH, MAX_SIDE, InputSize, parse_input_size, size_problem, valid_range
from explorer.source import architecture_source
from explorer.summary import LayerTable, build_meta_model, memory_refusal, summarize

log = logging.getLogger(__name__)

DEFAULT_ARCH = "lenet5"
# Widget keys; the "sb_" prefix keeps them apart from page-specific state.
ARCH, HEIGHT, WIDTH, BATCH, DEVICE = "sb_arch", "sb_height", "sb_width", "sb_batch", "sb_device"
SQUARE = "sb_square"
_URL_READ = "sb_url_read"
_URL_PROBLEMS = "sb_url_problems"
_SELECTION = "sb_selection"


@dataclass(frozen=True)
class Selection:
    """The sidebar's current choice, as every page sees it."""

    spec: ArchSpec
    size: InputSize
    device: str


def _apply_url_query() -> None:
    """Once per browser session, let a shared link choose the sidebar's starting values."""
    if st.session_state.get(_URL_READ):
        return
    st.session_state[_URL_READ] = True
    query = st.query_params
    problems = []
    arch_id = DEFAULT_ARCH
    if "arch" in query:
        try:
            arch_id = get_spec(query["arch"]).id
        except UserError as error:
            problems.append(f"{error} Showing {get_spec(DEFAULT_ARCH).name} instead.")
    spec = get_spec(arch_id)
    st.session_state[ARCH] = arch_id
    try:
        size = parse_input_size(
            query.get("h", spec.default_size), query.get("w", spec.default_size), query.get("batch", 1)
        )
    except UserError as error:
        problems.append(f"{error} Using the default size instead.")
        size = InputSize(spec.default_size, spec.default_size, 1)
    st.session_state[HEIGHT], st.session_state[WIDTH] = size.height, size.width
    st.session_state[SQUARE] = size.height == size.width
    st.session_state[BATCH] = size.batch
    if query.get("device") in devices.available_devices():
        st.session_state[DEVICE] = query["device"]
    st.session_state[_URL_PROBLEMS] = problems


def _reset_size_for_new_arch() -> None:
    spec = get_spec(st.session_state[ARCH])
    st.session_state[HEIGHT] = st.session_state[WIDTH] = spec.default_size


def _follow_height() -> None:
    if st.session_state.get(SQUARE, True):
        st.session_state[WIDTH] = st.session_state[HEIGHT]


def _mirror_to_url(selection: Selection) -> None:
    wanted = {
        "arch": selection.spec.id,
        "h": str(selection.size.height),
        "w": str(selection.size.width),
        "batch": str(selection.size.batch),
    }
    if selection.device != devices.default_device():
        wanted["device"] = selection.device
    current = {key: st.query_params.get(key) for key in ("arch", "h", "w", "batch", "device")}
    if {k: v for k, v in current.items() if v is not None} != wanted:
        st.query_params.from_dict(wanted)


def render_sidebar() -> Selection:
    """Draw the shared controls and return what they select."""
    _apply_url_query()
    sidebar = st.sidebar
    sidebar.selectbox(
        "Architecture",
        ARCH_IDS,
        key=ARCH,
        format_func=lambda arch_id: get_spec(arch_id).label,
        on_change=_reset_size_for_new_arch,
        help="Oldest first, as the lab introduces them; the prefix is the family.",
    )
    spec = get_spec(st.session_state[ARCH])
    size_help = f"{spec.name} takes {valid_range(spec)}; its usual input is {spec.default_size}×{spec.default_size}."
    square = sidebar.toggle("Square input", key=SQUARE, on_change=_follow_height)
    left, right = sidebar.columns(2)
    left.number_input(
        "Height", min_value=1, max_value=MAX_SIDE, step=1, key=HEIGHT, help=size_help, on_change=_follow_height
    )
    right.number_input(
        "Width", min_value=1, max_value=MAX_SIDE, step=1, key=WIDTH, help=size_help, disabled=square
    )
    sidebar.number_input("Batch size", min_value=1, max_value=MAX_BATCH, step=1, key=BATCH)
    options = devices.available_devices()
    if st.session_state.get(DEVICE) not in options:
        st.session_state[DEVICE] = options[0]
    sidebar.selectbox("Device", options, key=DEVICE, format_func=devices.describe)
    _describe_architecture(spec)
    selection = Selection(
        spec=spec,
        size=InputSize(int(st.session_state[HEIGHT]), int(st.session_state[WIDTH]), int(st.session_state[BATCH])),
        device=st.session_state[DEVICE],
    )
    _mirror_to_url(selection)
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


def url_problems() -> list[str]:
    """Sentences about parts of a shared link that could not be used."""
    return st.session_state.get(_URL_PROBLEMS, [])


def current_selection() -> Selection:
    """The selection made by the sidebar this run (``render_sidebar`` must have run)."""
    return st.session_state[_SELECTION]


@st.cache_data(max_entries=64, show_spinner="Tracing the network's layers…")
def cached_layer_table(arch_id: str, height: int, width: int, batch: int) -> LayerTable:
    """The layer table for one architecture and size, computed once per server."""
    return summarize(arch_id, InputSize(height, width, batch))


def run_problem(selection: Selection, batch: int = 1) -> str | None:
    """Why the selected network cannot really run on ``batch`` pictures of the selected size, or None.

    Checked before any work: the size limits first, then the memory estimate of the
    shape-only layer table (cheap, and cached for the layer-table page too).
    """
    spec, size = selection.spec, InputSize(selection.size.height, selection.size.width, batch)
    problem = size_problem(spec, size)
    if problem:
        return problem
    table = cached_layer_table(spec.id, size.height, size.width, size.batch)
    return memory_refusal(spec, size, table.totals)


@st.cache_data(max_entries=32, show_spinner=False)
def cached_model_text(arch_id: str) -> tuple[str, list[tuple[str, str]]]:
    """The model as PyTorch prints it and its source code, worked out once per architecture."""
    spec = get_spec(arch_id)
    model = build_meta_model(spec)
    return repr(model), architecture_source(spec, model)


@st.cache_resource(max_entries=4, show_spinner="Building the network…")
def shared_model(arch_id: str, device: str) -> torch.nn.Module:
    """One eval-mode model per architecture and device, shared read-only by every session.

    Gradients are switched off so that nothing can train it by accident; a page
    that trains takes ``copy.deepcopy`` of it and switches them back on.
    """
    return get_spec(arch_id).build(device).requires_grad_(False)
