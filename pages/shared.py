"""What every page shares: the sidebar selection, the URL mirror, and server-wide caches.

Pages read ``current_selection()`` and never build their own copy of these
widgets. Cached objects here are shared by every user of the server and are
read-only: a page that wants to train or hook a model takes its own copy.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

import streamlit as st
import torch

from explorer import devices, memory, state_dicts
from explorer import weights as weight_choices
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
WEIGHTS, WEIGHTS_FILE, WEIGHTS_DOWNLOAD = "sb_weights", "sb_weights_file", "sb_weights_download"
_WEIGHTS_FAILED = "sb_weights_failed"  # {(arch id, choice): the sentence saying why they fell back}
_UPLOADED = "sb_weights_uploaded"  # this session's uploaded weights: (arch id, digest, device, model)
_URL_READ = "sb_url_read"
_URL_PROBLEMS = "sb_url_problems"
_SELECTION = "sb_selection"


@dataclass(frozen=True)
class Selection:
    """The sidebar's current choice, as every page sees it."""

    spec: ArchSpec
    size: InputSize
    device: str
    weights: str = weight_choices.RANDOM  # the weights the pages really run with
    wanted: str = weight_choices.RANDOM  # the sidebar's choice (differs after a fallback)
    upload_digest: str | None = None  # SHA-256 of this session's uploaded state dict, if used

    @property
    def weights_key(self) -> str:
        """The weights as a cache-key part: the choice, or the upload's hash."""
        return f"upload-{self.upload_digest}" if self.weights == weight_choices.UPLOAD else self.weights

    @property
    def fell_back(self) -> bool:
        return self.weights != self.wanted


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
    wanted = query.get("weights", weight_choices.RANDOM)
    if wanted in weight_choices.choices(spec):
        st.session_state[WEIGHTS] = wanted
    else:
        st.session_state[WEIGHTS] = weight_choices.RANDOM
        problems.append(f"{spec.name} has no weights called {wanted[:40]!r}; showing random weights instead.")
    st.session_state[_URL_PROBLEMS] = problems


def _reset_size_for_new_arch() -> None:
    spec = get_spec(st.session_state[ARCH])
    st.session_state[HEIGHT] = st.session_state[WIDTH] = spec.default_size
    # The weights choice carries over where the new network has it (ImageNet between torchvision
    # networks); otherwise, and always for an upload made for the old network, back to random.
    if st.session_state.get(WEIGHTS) not in weight_choices.choices(spec, upload=False):
        st.session_state[WEIGHTS] = weight_choices.RANDOM


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
    if selection.wanted != weight_choices.RANDOM:
        wanted["weights"] = selection.wanted
    # A layer picked in the diagram (?layer=) stays in the URL while the architecture stays the same.
    if st.query_params.get("layer") and st.query_params.get("arch") in (None, selection.spec.id):
        wanted["layer"] = st.query_params["layer"]
    current = {key: st.query_params.get(key) for key in ("arch", "h", "w", "batch", "device", "weights")}
    current["layer"] = st.query_params.get("layer")
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
    wanted = _weights_widget(spec)
    weights, digest = _usable_weights(spec, wanted, st.session_state[DEVICE])
    _describe_architecture(spec)
    selection = Selection(
        spec=spec,
        size=InputSize(int(st.session_state[HEIGHT]), int(st.session_state[WIDTH]), int(st.session_state[BATCH])),
        device=st.session_state[DEVICE],
        weights=weights,
        wanted=wanted,
        upload_digest=digest,
    )
    _mirror_to_url(selection)
    st.session_state[_SELECTION] = selection
    return selection


def _weights_widget(spec: ArchSpec) -> str:
    options = weight_choices.choices(spec)
    if st.session_state.get(WEIGHTS) not in options:
        st.session_state[WEIGHTS] = weight_choices.RANDOM
    return st.sidebar.selectbox(
        "Weights", options, key=WEIGHTS, format_func=weight_choices.LABELS.get,
        help="Random weights show the architecture alone; trained weights make feature maps and predictions mean something.",
    )


def _fall_back(sentence: str, failed: bool = True) -> tuple[str, None]:
    """Random weights instead of the chosen ones, with a badge and the reason in the sidebar."""
    st.sidebar.badge("Running with random weights", icon=":material/casino:", color="orange")
    (st.sidebar.warning if failed else st.sidebar.caption)(sentence)
    return weight_choices.RANDOM, None


def _offer_download(spec: ArchSpec, wanted: str) -> str | None:
    """The size first and a button; after a press, the download with a progress bar. None once it is there."""
    found = weight_choices.checkpoint(spec, wanted)
    st.sidebar.caption(
        f"The {weight_choices.LABELS[wanted]} weights of {spec.name} are not on this server yet: "
        f"{found.megabytes:.0f} MB from {found.host}, downloaded once for every user of this server."
    )
    if not st.sidebar.button(f"Download {found.megabytes:.0f} MB", key=WEIGHTS_DOWNLOAD, type="primary"):
        return f"{spec.name} runs with random weights until these weights are downloaded."
    bar = st.sidebar.progress(0.0, text=f"Connecting to {found.host}…")
    shown = [-1]

    def progress(done: int, total: int | None) -> None:
        share = done / total if total else 0.0
        if int(share * 100) != shown[0]:  # one redraw per percent, not per piece
            shown[0] = int(share * 100)
            bar.progress(min(share, 1.0), text=f"{done / 2**20:.0f} of {found.megabytes:.0f} MB")

    try:
        weight_choices.download(spec, found, progress)
    except weight_choices.WeightsUnavailable as error:
        st.session_state.setdefault(_WEIGHTS_FAILED, {})[(spec.id, wanted)] = str(error)
        st.rerun()  # drawn again as a remembered failure: the sentence, the badge and "Try again"
    finally:
        bar.empty()
    return None


def _uploaded_weights(spec: ArchSpec, device: str) -> tuple[str, str | None]:
    """This session's uploaded state dict, checked once per file; never in a server-wide cache."""
    upload = st.sidebar.file_uploader(
        f"State dict for {spec.name} (.pt or .pth, at most {state_dicts.MAX_MEGABYTES} MB)", type=["pt", "pth"],
        key=WEIGHTS_FILE, max_upload_size=state_dicts.MAX_MEGABYTES,
        help="Saved with torch.save(model.state_dict(), path). It is read as tensors only: code in a file never runs.",
    )
    if upload is None:
        st.session_state.pop(_UPLOADED, None)
        return _fall_back(f"{spec.name} runs with random weights until you upload a state dict.", failed=False)
    data = upload.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    kept = st.session_state.get(_UPLOADED)
    if kept is None or kept[:3] != (spec.id, digest, device):
        st.session_state.pop(_UPLOADED, None)  # let the old model go before building the new one
        try:
            kept = (spec.id, digest, device, state_dicts.load(spec, data, device).requires_grad_(False))
        except UserError as error:  # kept too, so a rerun does not read the file again
            kept = (spec.id, digest, device, error)
        st.session_state[_UPLOADED] = kept
    if isinstance(kept[3], UserError):
        fallback = _fall_back(str(kept[3]))
        if isinstance(kept[3], state_dicts.StateDictMismatch):
            st.sidebar.dataframe(kept[3].table, hide_index=True)
        return fallback
    st.sidebar.caption(f"{spec.name} runs with your uploaded weights; only this browser session uses them.")
    return weight_choices.UPLOAD, digest


def _usable_weights(spec: ArchSpec, wanted: str, device: str) -> tuple[str, str | None]:
    """The weights the pages can run with now (random after any failure), and an upload's hash."""
    if wanted == weight_choices.UPLOAD:
        return _uploaded_weights(spec, device)
    failed = st.session_state.setdefault(_WEIGHTS_FAILED, {})
    sentence = failed.get((spec.id, wanted))
    if sentence is not None:
        fallback = _fall_back(sentence)
        if st.sidebar.button("Try again", key="sb_weights_retry"):
            failed.pop((spec.id, wanted))
            st.rerun()
        return fallback
    if weight_choices.needs_download(spec, wanted):
        sentence = _offer_download(spec, wanted)
        if sentence is not None:
            return _fall_back(sentence, failed=False)
    return wanted, None


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


def stop_if(problem: str | None) -> None:
    """Show ``problem`` as the page's one sentence and end this run; do nothing when it is None."""
    if problem:
        st.error(problem)
        st.stop()


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


# Four entries: the largest (VGG-19 with batch norm) holds 550 MB of weights whether random or
# trained, so the worst case stays near 2.2 GB however many sessions ask.
@st.cache_resource(max_entries=4, show_spinner="Loading the network's weights…")
def shared_model(arch_id: str, device: str, weights: str = weight_choices.RANDOM) -> torch.nn.Module:
    """One eval-mode model per architecture, device and weights (random, ImageNet, digits), shared read-only.

    Gradients are switched off so that nothing can train it by accident; a page
    that trains takes ``copy.deepcopy`` of it and switches them back on.
    """
    # A new entry is about to push the oldest model out; the pages freed by the last
    # eviction are given back first, or the server's memory ratchets up (explorer/memory.py).
    memory.release_freed_memory()
    return weight_choices.build(get_spec(arch_id), weights, device).requires_grad_(False)


def selected_model(selection: Selection) -> torch.nn.Module:
    """The model with the selected weights: this session's upload, or the shared read-only one.

    Weights that fail to load (a damaged file in the cache) are remembered as failed and
    the script starts again, so the sidebar shows the fallback and the badge.
    """
    if selection.weights == weight_choices.UPLOAD:
        return st.session_state[_UPLOADED][3]
    try:
        return shared_model(selection.spec.id, selection.device, selection.weights)
    except weight_choices.WeightsUnavailable as error:
        st.session_state.setdefault(_WEIGHTS_FAILED, {})[(selection.spec.id, selection.weights)] = str(error)
        st.rerun()
