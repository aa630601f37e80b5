"""The sidebar's weights: the choice, the ImageNet download, an uploaded state dict, and the fallback to random.

Every way weights can fail (not downloaded yet, offline, a damaged file, an upload
that does not fit) ends in one sentence in the sidebar, a "Running with random
weights" badge, and random weights for the pages, never in a stopped page. An
upload lives in this browser session only (``sb_weights_uploaded``), never in a
server-wide cache.
"""

from __future__ import annotations

import hashlib

import streamlit as st
import torch

from explorer.core.errors import UserError
from explorer.core.limits import UPLOAD_MIB
from explorer.core.registry import ArchSpec
from explorer.weights import catalogue, hub, uploads
from ui.caches.networks import shared_model
from ui.selection.record import Selection

WEIGHTS, WEIGHTS_FILE, WEIGHTS_DOWNLOAD = "sb_weights", "sb_weights_file", "sb_weights_download"
_WEIGHTS_FAILED = "sb_weights_failed"  # {(arch id, choice): the sentence saying why they fell back}
_UPLOADED = "sb_weights_uploaded"  # this session's uploaded weights: (arch id, digest, device, model)


def carry_over(spec: ArchSpec) -> None:
    """After a change of architecture: keep the weights choice where the new network has it.

    ImageNet carries over between torchvision networks; otherwise, and always for an upload
    made for the old network, back to random.
    """
    if st.session_state.get(WEIGHTS) not in catalogue.choices(spec, upload=False):
        st.session_state[WEIGHTS] = catalogue.RANDOM


def weights_widget(spec: ArchSpec, disabled: bool = False) -> str:
    options = catalogue.choices(spec)
    if st.session_state.get(WEIGHTS) not in options:
        st.session_state[WEIGHTS] = catalogue.RANDOM
    return st.sidebar.selectbox(
        "Weights", options, key=WEIGHTS, format_func=catalogue.LABELS.get,
        help="Random weights show the architecture alone; trained weights make feature maps and predictions mean something.",
        disabled=disabled,
    )


def _fall_back(sentence: str, failed: bool = True) -> tuple[str, None]:
    """Random weights instead of the chosen ones, with a badge and the reason in the sidebar."""
    st.sidebar.badge("Running with random weights", icon=":material/casino:", color="orange")
    (st.sidebar.warning if failed else st.sidebar.caption)(sentence)
    return catalogue.RANDOM, None


def _offer_download(spec: ArchSpec, wanted: str) -> str | None:
    """The size first and a button; after a press, the download with a progress bar. None once it is there."""
    found = hub.checkpoint(spec, wanted)
    st.sidebar.caption(
        f"The {catalogue.LABELS[wanted]} weights of {spec.name} are not on this server yet: "
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
        hub.download(spec, found, progress)
    except catalogue.WeightsUnavailable as error:
        st.session_state.setdefault(_WEIGHTS_FAILED, {})[(spec.id, wanted)] = str(error)
        st.rerun()  # drawn again as a remembered failure: the sentence, the badge and "Try again"
    finally:
        bar.empty()
    return None


def _uploaded_weights(spec: ArchSpec, device: str) -> tuple[str, str | None]:
    """This session's uploaded state dict, checked once per file; never in a server-wide cache."""
    upload = st.sidebar.file_uploader(
        f"State dict for {spec.name} (.pt or .pth, at most {UPLOAD_MIB} MB)", type=["pt", "pth"],
        key=WEIGHTS_FILE, max_upload_size=UPLOAD_MIB,
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
            kept = (spec.id, digest, device, uploads.load(spec, data, device).requires_grad_(False))
        except UserError as error:  # kept too, so a rerun does not read the file again
            kept = (spec.id, digest, device, error)
        st.session_state[_UPLOADED] = kept
    if isinstance(kept[3], UserError):
        fallback = _fall_back(str(kept[3]))
        if isinstance(kept[3], uploads.StateDictMismatch):
            st.sidebar.dataframe(kept[3].table, hide_index=True)
        return fallback
    st.sidebar.caption(f"{spec.name} runs with your uploaded weights; only this browser session uses them.")
    return catalogue.UPLOAD, digest


def usable_weights(spec: ArchSpec, wanted: str, device: str) -> tuple[str, str | None]:
    """The weights the pages can run with now (random after any failure), and an upload's hash."""
    if wanted == catalogue.UPLOAD:
        return _uploaded_weights(spec, device)
    failed = st.session_state.setdefault(_WEIGHTS_FAILED, {})
    sentence = failed.get((spec.id, wanted))
    if sentence is not None:
        fallback = _fall_back(sentence)
        if st.sidebar.button("Try again", key="sb_weights_retry"):
            failed.pop((spec.id, wanted))
            st.rerun()
        return fallback
    if hub.needs_download(spec, wanted):
        sentence = _offer_download(spec, wanted)
        if sentence is not None:
            return _fall_back(sentence, failed=False)
    return wanted, None


def selected_model(selection: Selection) -> torch.nn.Module:
    """The model with the selected weights: this session's upload, or the shared read-only one.

    Weights that fail to load (a damaged file in the cache) are remembered as failed and
    the script starts again, so the sidebar shows the fallback and the badge.
    """
    if selection.weights == catalogue.UPLOAD:
        return st.session_state[_UPLOADED][3]
    try:
        # Keywords: a cheaper cache key (ui/caches).
        return shared_model(arch_id=selection.spec.id, device=selection.device, weights=selection.weights)
    except catalogue.WeightsUnavailable as error:
        st.session_state.setdefault(_WEIGHTS_FAILED, {})[(selection.spec.id, selection.weights)] = str(error)
        st.rerun()


def describe_weights(selection: Selection, meaning: str | None = None) -> None:
    """What the prediction (and every map drawn from it) is worth with the weights in use.

    ``meaning`` replaces, for random weights, what the warning says is meaningless.
    """
    spec, weights = selection.spec, selection.weights
    if weights == catalogue.RANDOM:
        meaning = meaning or (f"this prediction is meaningless (every class gets about {1 / spec.num_classes:.1%})")
        st.warning(
            f"{spec.name} has random weights here: nobody has trained it, so {meaning}. "
            "Choose trained weights in the sidebar to change that."
        )
    elif weights == catalogue.DIGITS:
        st.success(catalogue.digits_sentence(spec))
    elif weights == catalogue.UPLOAD:
        st.info("Your uploaded weights; the class names assume they keep the usual order of this network's classes.")
    else:
        st.success(catalogue.imagenet_sentence(spec, weights))
