"""The "Where it looks" page's map: a CAM or saliency for a class, over the picture and at its own resolution.

Maps are worked out once per picture, network, weights, method, layer and class for the
whole server (``ui.caches.result_store``). Score-CAM runs the network once per channel of
the layer, so it first says how many passes and about how long, runs only when asked,
and shows a progress bar with the time left. It takes a turn in the server's line for new
pictures (``ui.selection.pictures.picture_line``) and, between batches, lets waiting pictures go first.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import streamlit as st

from explorer.analysis.summary import LayerTable
from explorer.core import admission
from explorer.core.errors import UserError
from explorer.figures import descriptions, overlays
from explorer.runs import cams, gradients
from explorer.runs.attribution import METHODS, ON_THE_INPUT, PUBLISHED, Attribution
from explorer.runs.layer_choice import default_map_layer, map_layers
from explorer.runs.predictions import softmax
from ui.caches.result_store import maps_store
from ui.classroom import follow
from ui.selection import pictures
from ui.selection.view_state import labelled_selectbox
from ui.widgets.images import picture

SIDE = 400  # the overlay's pixels a side, at most (small inputs are enlarged in whole blocks)
PREDICTED = -1  # the class choice that follows the network's own answer
MAX_SCORE_CAM_SECONDS = 120  # a longer Score-CAM would hold a shared server for minutes
SCORE_CAM_MEMORY = 512 * 2**20  # activations of one batch of masked pictures, at most
EXPLAINED = {
    "gradcam": "Grad-CAM weights each channel of the layer by how much the class score rises with it "
               "(its gradient, averaged over the map) and adds the channels up; negative sums are cut to zero.",
    "gradcampp": "Grad-CAM++ weights each position's gradient separately, so several objects of the class "
                 "can all light up, not only the strongest.",
    "layercam": "LayerCAM weights every position of every channel by its own positive gradient: sharper maps, "
                "and meaningful at early layers too.",
    "scorecam": "Score-CAM uses no gradient: it shows the picture through each channel's map as a mask and "
                "weights the channel by how much the class score rises. One pass per channel.",
    "saliency": "The gradient of the class score with respect to each input pixel: which pixels, changed a little, "
                "would move the score most.",
    "smoothgrad": "The same gradient averaged over 16 copies of the picture with noise added, "
                  "which removes much of the speckle.",
}


@st.cache_data(max_entries=32, ttl=3600, show_spinner=False)
def pass_seconds(arch_id: str, height: int, width: int, device: str, _spec, _model, _tensor) -> float:
    """One forward pass's time on this server (Score-CAM's unit of cost), measured once per size."""
    return cams.time_one_pass(_spec, _model, _tensor)


def _choose(spec, table: LayerTable, names: list[str]) -> tuple[str, str | None, int | None, float]:
    layers = map_layers(table)
    methods = [m for m in METHODS if layers or m in ON_THE_INPUT]
    shapes = table.calls.set_index("name")["output_shape"]
    options = [PREDICTED, *range(len(names))]
    for key, allowed in (("wl_method", methods), ("wl_target", options)):
        if key in st.session_state and st.session_state[key] not in allowed:  # left from another network
            del st.session_state[key]
    method_col, layer_col, class_col, opacity_col = st.columns([2, 3, 3, 2])
    offered = {"wl_method": methods, "wl_layer": layers, "wl_target": options}
    # A class sees the teacher's map: the same method, layer, class and opacity (and the server's stored map).
    with follow.followed_keys("wl.map", (*offered, "wl_opacity"), adapt=lambda teachers: {
            key: value for key, value in teachers.items()
            if value in offered.get(key, ()) or (key == "wl_opacity" and isinstance(value, float))}) as following:
        method = method_col.selectbox("Method", methods, format_func=METHODS.get, key="wl_method", disabled=following)
        layer = None
        if layers:
            if st.session_state.get("wl_layer") not in layers:
                st.session_state["wl_layer"] = default_map_layer(table)
            layer = labelled_selectbox(layer_col, f"Layer ({len(layers)} with a map)", layers, key="wl_layer",
                                        format_func=lambda n: f"{n} · {shapes[n]}",
                                        disabled=method in ON_THE_INPUT or following,
                                        help="Any layer whose output is a map; the default is the last one larger "
                                        "than 1×1.")
        else:
            layer_col.caption(f"{spec.name} has no layer with a map (every pixel goes straight to the classes).")
        target = class_col.selectbox("Class", options, key="wl_target", disabled=following,
                                     format_func=lambda k: "the predicted class" if k == PREDICTED else f"{k}: {names[k]}")
        opacity = opacity_col.slider("Opacity of the map", 0.0, 1.0, 0.55, 0.05, key="wl_opacity", disabled=following)
    return method, (None if method in ON_THE_INPUT else layer), (None if target == PREDICTED else target), opacity


def _score_cam(spec, model, prepared, table: LayerTable, layer: str, target, key: tuple, size) -> Attribution | None:
    """Score-CAM only when asked, after saying what it costs; None until it has run."""
    done = maps_store().get(key)
    if done is not None:
        return done
    channels = table.calls.set_index("name").loc[layer, "output_dims"][1]
    one = pass_seconds(spec.id, size.height, size.width, str(next(model.parameters()).device), spec, model,
                       prepared.tensor)
    estimate = channels * one
    cost = (f"Score-CAM runs {spec.name} once for each of the {channels:,} channels of {layer}: "
            f"{channels:,} passes, about {estimate:.0f} s on this server (one pass takes {one * 1000:.0f} ms).")
    if estimate > MAX_SCORE_CAM_SECONDS:
        st.warning(f"{cost} That is more than the {MAX_SCORE_CAM_SECONDS} s one request may take here; choose an "
                   "earlier layer with fewer channels, or Grad-CAM, which needs one pass.")
        return None
    st.info(cost)
    if follow.following():
        st.caption("When your teacher runs it, the map appears here.")
        return None
    if not st.button(f"Run Score-CAM ({channels:,} passes)", key="wl_scorecam", type="primary"):
        return None
    bar = st.progress(0.0, text="Starting…")
    per_picture = max(table.totals.forward_backward_bytes, 1)
    batch = max(1, min(32, SCORE_CAM_MEMORY // per_picture))
    result = maps_store().get_or_make(key, lambda: score_cam_in_turn(
        bar, lambda progress: cams.class_activation_map(spec, model, prepared.tensor, table, "scorecam", layer,
                                                        target, progress=progress, batch_size=batch)))
    bar.empty()
    return result


def pause_sentence(place: int, done_passes: int, total: int) -> str:
    """The bar's sentence while Score-CAM lets new pictures go first (``place``: its place in line)."""
    going = "1 new picture goes" if place == 1 else f"{place} new pictures go"
    return f"Score-CAM pauses while {going} first; {done_passes} of {total} passes are done."


def score_cam_in_turn(bar, run: Callable[[cams.Progress], Attribution]) -> Attribution:
    """Score-CAM in a turn of the server's picture line, stepping aside after each batch while new pictures
    wait (they would otherwise wait for all its passes); ``run(progress)`` runs it, the bar tells where it is."""
    capacity = pictures.picture_line().capacity
    with pictures.server_turn(lambda place: bar.progress(
            0.0, text=admission.place_sentence(place, capacity, "Your Score-CAM"))) as turn:
        started, paused = time.perf_counter(), 0.0

        def progress(done_passes: int, total: int) -> None:
            nonlocal paused
            left = (time.perf_counter() - started - paused) / done_passes * (total - done_passes)
            bar.progress(done_passes / total, text=f"{done_passes} of {total} passes, about {left:.0f} s left")
            if done_passes < total:
                aside = time.perf_counter()
                if turn.step_aside(lambda place: bar.progress(done_passes / total,
                                                              text=pause_sentence(place, done_passes, total))):
                    paused += time.perf_counter() - aside  # the time left counts Score-CAM's own passes

        return run(progress)


def compute(selection, model, prepared, table: LayerTable, digest: str, method: str, layer: str | None,
            target: int | None) -> Attribution | None:
    spec, size = selection.spec, selection.size
    key = (spec.id, size.height, size.width, selection.device, selection.weights_key, digest, method, layer, target)
    if method == "scorecam":
        return _score_cam(spec, model, prepared, table, layer, target, key, size)
    if method in ON_THE_INPUT:
        make = lambda: gradients.saliency(spec, model, prepared.tensor, target, smooth=method == "smoothgrad")  # noqa: E731
    else:
        make = lambda: cams.class_activation_map(spec, model, prepared.tensor, table, method, layer, target)  # noqa: E731
    with st.spinner(f"Working out the {METHODS[method]} map…"):
        return maps_store().get_or_make(key, make)


def show(selection, model, prepared, table: LayerTable, names: list[str], digest: str) -> None:
    spec = selection.spec
    st.header("Where it looks for a class")
    method, layer, target, opacity = _choose(spec, table, names)
    try:
        result = compute(selection, model, prepared, table, digest, method, layer, target)
    except UserError as error:  # in a fragment's own rerun the app's catch-all does not reach here
        st.error(str(error))
        return
    if result is None:
        return
    probabilities = softmax(result.logits)
    answer = result.predicted
    st.markdown(f"{spec.name} answers **{names[answer]}** ({probabilities[answer]:.1%}); the map is for "
                f"**{names[result.target]}** ({probabilities[result.target]:.1%}). {EXPLAINED[method]}")
    st.caption(f"As published: {PUBLISHED[method].form}. {PUBLISHED[method].paper}.")
    picture_col, map_col = st.columns(2)
    where = f"at {layer}" if layer else "on the input pixels"
    shown = overlays.overlay(prepared.shown, result.map, opacity, side=SIDE)
    alt = descriptions.cam_text(METHODS[method], where, names[result.target], result.map)
    picture(shown, alt, place=picture_col, width=shown.shape[1],
            caption=f"{METHODS[method]} {where}, stretched over the picture: bright where it counts most.")
    height, width = result.map.shape
    if layer:
        map_col.plotly_chart(overlays.map_heatmap(result.map, f"{layer} at its own resolution, {height}×{width}",
                                                  height=shown.shape[0] + 60),
                             width="stretch", key="wl_map")
        map_col.caption(descriptions.map_text(f"The map of {layer}", result.map) + " Each square is one position of the "
                        "layer's map; it sees a whole patch of the picture (its receptive field, in the layer table).")
    else:
        alone = overlays.enlarged(overlays.heat(result.map), SIDE)
        picture(alone, descriptions.map_text(f"The {METHODS[method]} map alone", result.map), place=map_col,
                width=alone.shape[1], caption=f"The map alone, one square per input pixel ({height}×{width}).")
