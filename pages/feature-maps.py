"""Feature maps: one picture through every layer of the chosen network, and its prediction.

The network runs once per picture, architecture, size and device (cached); every
other control on this page only redraws from what that one pass kept. The pass
hooks a private module tree that shares the server's cached weights (see
explorer.runs.private_views), never the shared model itself, so students
running the page at the same time cannot see each other's hooks.

Everything from the picture down is a fragment (``st.fragment``): a new picture reruns
that part alone, not the frame and the sidebar (measured in Chromium: a new phone photo
costs about a tenth less server CPU). Everything below "Inside one layer" is a fragment
inside it: a click there (the layer, ◀/▶, channel count, order, colour map, scale,
enlarged channel) reruns that part alone, from the cached capture, and what it draws is
cached as well (``ui.panels.feature_drawings``). The layer and the enlarged channel live in the session
keys named in ``ui.selection.view_state``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from explorer.core import memory
from explorer.core.registry import ArchSpec
from explorer.figures import descriptions
from explorer.figures import feature_maps as feature_grid
from explorer.inputs import images, samples
from explorer.runs import capture
from explorer.runs.capture_results import Capture, LayerOutput
from explorer.runs.predictions import top_classes
from explorer.weights import catalogue
from ui.caches.networks import run_problem, stop_if
from ui.classroom import follow
from ui.frame import keep_in_frame
from ui.panels import feature_drawings as drawings
from ui.panels import layer_numbers, receptive_click
from ui.panels.feature_drawings import SHOWN_SIDE, CaptureKey
from ui.selection.pictures import SOURCES, digest_of, picture_or_last_good, turn_for_picture, uploaded_picture
from ui.selection.record import Selection
from ui.selection.sidebar import current_selection
from ui.selection.view_state import FEATURE_CHANNEL, FEATURE_LAYER, default_unless_chosen, labelled_selectbox
from ui.selection.weights_panel import describe_weights, selected_model
from ui.widgets.images import picture

try:  # the drawing canvas is optional: without it the page offers every other source
    from streamlit_drawable_canvas import st_canvas
except ImportError:  # pragma: no cover - depends on the install
    st_canvas = None

keep_in_frame()  # Streamlit's first-link lookup may run this file alone: the frame then draws it (ui/frame.py)

CHANNEL_COUNTS = [1, 4, 9, 16, 25, 36, 49, 64]
ORDERS = {"index": "Channel number", "strongest": "Strongest mean activation first"}
SCALES = {"channel": "Each channel on its own", "layer": "Whole layer on one scale"}


# Each entry is a reduced capture: for ResNeXt-101 at 224×224 about 26 MB, the largest;
# eight entries bound this page's cache to about 200 MB however many students use it.
# The key (``drawings.capture_key``) names the weights (an upload by its hash), so it fixes the result.
# A resource cache, not a data cache: every run gets the one read-only capture instead of
# unpickling a copy of it (several milliseconds, and a copy per session held by the fragment).
@st.cache_resource(max_entries=8, show_spinner="Running the network once and keeping every layer's output…")
def captured(*, key: CaptureKey, _spec: ArchSpec, _prepared, _model) -> Capture:
    result = capture.run_on_image(_spec, _model, _prepared.tensor)
    memory.release_freed_memory()  # the pass's activations, up to hundreds of MB (explorer/memory.py)
    return result


def picture_bytes(spec: ArchSpec) -> tuple[bytes | None, str]:
    """The chosen picture's encoded bytes (None until there is one) and a short description."""
    sources = [key for key in SOURCES if key != "draw" or st_canvas is not None]
    default = samples.default_kind(spec.in_channels, spec.default_size)
    source = st.radio("Picture", sources, format_func=SOURCES.get, horizontal=True, key="fm_source",
                      **default_unless_chosen("fm_source", sources, default))
    if source in ("photo", "handwritten", "scoreboard"):
        choices = samples.samples_of(source)
        key = st.selectbox(
            "Which one", [s.key for s in choices], key=f"fm_{source}",
            format_func=lambda k: samples.get_sample(k).label,
        )
        return samples.sample_bytes(key), samples.get_sample(key).label
    if source == "upload":
        data = uploaded_picture("A photo from your computer or phone (JPEG, PNG, WebP, BMP or GIF)", "fm_upload")
        return data, "your picture" if data is not None else ""
    st.caption("Draw one digit, large, filling the square; it is read like the handwritten digits.")
    drawing = st_canvas(
        stroke_width=22, stroke_color="#ffffff", background_color="#000000", height=280, width=280,
        drawing_mode="freedraw", return_image_data=True, key="fm_canvas",
    )
    data = drawing.image_bytes if drawing is not None else None
    if data is None or not np.asarray(drawing.image_data)[..., :3].any():
        return None, ""
    return data, "your drawing"


def show_input(key: CaptureKey, loaded: images.LoadedImage, prepared: images.PreparedInput, label: str,
               spec: ArchSpec) -> None:
    original, received = st.columns(2)
    (original_bytes, original_format), (received_bytes, received_format) = drawings.input_pictures(
        key=key, _original=loaded.image, _received=prepared.shown)
    with original:
        st.markdown(f"**{label.capitalize()}**")
        width, height = loaded.original_size
        picture(original_bytes, f"{label.capitalize()}, {width}×{height} pixels.", width=SHOWN_SIDE,
                output_format=original_format)
        st.caption(f"{loaded.format}, {width}×{height} pixels.")
        for note in loaded.notes:
            st.info(note)
    with received:
        st.markdown(f"**What {spec.name} receives**")
        _, channels, h, w = prepared.tensor.shape
        picture(received_bytes, f"The same picture as {spec.name} receives it: {h}×{w} pixels, {channels} channel(s).",
                width=SHOWN_SIDE, output_format=received_format)
        st.caption(f"{channels}×{h}×{w} numbers, shown before normalisation.")
        st.markdown("\n".join(f"- {step}" for step in prepared.steps))


def show_prediction(selection: Selection, result: Capture, names: list[str]) -> None:
    spec = selection.spec
    st.header("Prediction")
    describe_weights(selection)
    top = top_classes(spec, result.logits, 5, names)
    st.markdown(f"Most likely: **{top[0][0]}** ({top[0][1]:.1%})")
    frame = pd.DataFrame({"class": [name for name, _ in top], "probability": [p for _, p in top]})
    st.dataframe(
        frame, hide_index=True, width="stretch",
        column_config={"probability": st.column_config.ProgressColumn(
            "Probability (softmax)", min_value=0.0, max_value=max(0.01, float(frame.probability.max())), format="percent",
        )},
    )


def layer_label(layer: LayerOutput) -> str:
    return f"{layer.index + 1}. {layer.name} · {layer.type} · {layer.shape_text}"


def _step_layer(names: list[str], step: int) -> None:
    if st.session_state.get(FEATURE_LAYER) not in names:
        return
    position = names.index(st.session_state[FEATURE_LAYER]) + step
    st.session_state[FEATURE_LAYER] = names[max(0, min(position, len(names) - 1))]


def pick_layer(result: Capture) -> LayerOutput:
    """The layer shown below (``fm_layer``): the user's, a link's (``?layer=``) once per link, else a middle stage."""
    by_name = {layer.name: layer for layer in result.layers}
    names = list(by_name)
    stages = feature_grid.stage_layers(result)
    middle = stages[len(stages) // 2] if stages else result.layers[len(result.layers) // 2]
    # A link from the diagram (?layer=layer2.0.conv1) preselects that layer, once per link.
    linked = st.query_params.get("layer")
    if linked in by_name:
        middle = by_name[linked]
        if st.session_state.get("fm_linked") != linked:
            st.session_state["fm_linked"] = linked
            st.session_state.pop(FEATURE_LAYER, None)
    back, picker, forward = st.columns([1, 10, 1], vertical_alignment="bottom")
    with follow.followed("fm.layer", FEATURE_LAYER, options=names) as following:  # a class sees the teacher's layer
        back.button("◀", key="fm_prev", on_click=_step_layer, args=(names, -1), help="The layer before",
                    disabled=following)
        forward.button("▶", key="fm_next", on_click=_step_layer, args=(names, 1), help="The layer after",
                       disabled=following)
        chosen = labelled_selectbox(
            picker, f"Layer ({len(names)} calls, in the order the forward pass makes them)", names, key=FEATURE_LAYER,
            format_func=lambda name: layer_label(by_name[name]), disabled=following,
            **default_unless_chosen(FEATURE_LAYER, names, middle.name),
        )
    return by_name[chosen]


def pick_channel(chosen: np.ndarray) -> int:
    """The enlarged channel (``fm_channel``): the user's while it is among those shown, else the first shown."""
    options = [int(c) for c in chosen]
    with follow.followed("fm.channel", FEATURE_CHANNEL, options=options) as following:
        return st.selectbox("Enlarge channel (hover for values)", options, key=FEATURE_CHANNEL, disabled=following,
                            **default_unless_chosen(FEATURE_CHANNEL, options, options[0]))


GRID_KEYS = ("fm_count", "fm_order", "fm_colours", "fm_scale")


def _drawable_here(counts: list[int]):
    """The teacher's grid settings that this layer's controls offer (the rest stay the student's own)."""
    offered = {"fm_count": counts, "fm_order": list(ORDERS), "fm_colours": list(feature_grid.COLOUR_MAPS),
               "fm_scale": list(SCALES)}
    return lambda teachers: {key: value for key, value in teachers.items() if value in offered.get(key, ())}


def show_maps(key: CaptureKey, layer: LayerOutput, selection: Selection, prepared: images.PreparedInput, model) -> None:
    channels = layer.stats.channels
    most = min(channels, CHANNEL_COUNTS[-1])
    # Each count once: with "64" twice among its counts, the browser's slider showed 1 channel, not 64.
    counts = [n for n in CHANNEL_COUNTS if n < most] + [most]
    count_col, order_col, colour_col, scale_col = st.columns(4)
    # A class sees the teacher's grid as drawn, so that the teacher's enlarged channel is among those shown.
    with follow.followed_keys("fm.grid", GRID_KEYS, adapt=_drawable_here(counts)) as following:
        count = count_col.select_slider("Channels shown", counts, key="fm_count", disabled=following,
                                        **default_unless_chosen("fm_count", counts, counts[-1], "value"))
        order = order_col.radio("Order", list(ORDERS), format_func=ORDERS.get, key="fm_order", disabled=following)
        colour_map = colour_col.selectbox("Colour map", list(feature_grid.COLOUR_MAPS), key="fm_colours",
                                          disabled=following)
        scale = scale_col.radio("Brightness scale", list(SCALES), format_func=SCALES.get, key="fm_scale",
                                disabled=following)
    chosen = layer.ordered_channels(order, count)
    grid = drawings.channel_grid(key=key, layer_index=layer.index, channels=drawings.channel_list(chosen),
                                 colour_map=colour_map, per_channel=scale == "channel", _layer=layer)
    pooled = f"; each map averaged over {layer.pool_factor}×{layer.pool_factor} pixels for display" if layer.pool_factor > 1 else ""
    shown = ", ".join(str(c) for c in chosen[:12]) + ("…" if len(chosen) > 12 else "")
    layer_numbers.show_stats(layer)
    grid_col, zoom_col = st.columns([3, 2])
    picture(grid, descriptions.channel_grid_text(layer, chosen, colour_map, scale == "channel"), place=grid_col,
            output_format="JPEG",
            caption=f"{len(chosen)} of {channels} channels of {layer.name}, left to right: {shown}{pooled}.")
    with zoom_col:
        channel = pick_channel(chosen)
        # Clickable: the patch this position sees, and its gradient (ui/panels/receptive_click.py).
        enlarged = drawings.channel_heatmap(key=key, layer_index=layer.index, channel=channel, colour_map=colour_map,
                                            _layer=layer)
        receptive_click.enlarged_channel(enlarged, layer, channel, selection, prepared, model)
        st.caption(descriptions.map_text(f"Channel {channel} of {layer.name}", layer.channel_maps([channel])[0]))


@follow.fragment
def inside_one_layer(key: CaptureKey, result: Capture, names: list[str], selection: Selection,
                     prepared: images.PreparedInput, model) -> None:
    """The layer picker and what it shows; its controls rerun this fragment alone."""
    spec = selection.spec
    layer = pick_layer(result)
    if layer.kind == "maps":
        show_maps(key, layer, selection, prepared, model)
    elif layer.kind == "vector":
        # The output layer is the one whose values are the network's output itself.
        layer_numbers.show_vector(key, spec, layer, is_final=np.array_equal(layer.vector, result.logits), names=names)
    else:
        st.info(f"{layer.name} returns something other than a single tensor, so there is nothing to draw.")


selection = current_selection()
spec, size = selection.spec, selection.size
st.title(f"Feature maps · {spec.name}")
st.caption(
    "A picture goes through the network once; every layer's output is kept, and each channel of a layer "
    "is drawn as a small image: bright where that channel responds strongly."
)
stop_if(run_problem(selection))
if size.batch > 1:
    st.caption(f"This page follows one picture, so the batch size ({size.batch}) is not used here.")

@follow.fragment
def one_picture(selection: Selection) -> None:
    """The picture, its prediction, its path and the layers: a new picture reruns this fragment alone."""
    spec, size = selection.spec, selection.size
    data, label = picture_bytes(spec)
    with turn_for_picture(selection, data):  # a new picture waits its turn before it is even decoded
        data, label, loaded, prepared = picture_or_last_good(
            data, label, selection, kept_key="fm_previous", ask="Choose a picture above to send it through the network.",
            carrying_on="Until there is a new picture, the page keeps showing {about}.")
        digest = digest_of(data)
        model = selected_model(selection)
        key = drawings.capture_key(spec.id, size.height, size.width, selection.device, selection.weights_key, digest)
        result = captured(key=key, _spec=spec, _prepared=prepared, _model=model)
    names = catalogue.class_names(spec, selection.weights)

    picture_col, prediction_col = st.columns([3, 2])
    with picture_col:
        show_input(key, loaded, prepared, label, spec)
    with prediction_col:
        show_prediction(selection, result, names)

    st.header("The picture's path through the network")
    picture(
        drawings.path_strip(key=key, _result=result, _shown=prepared.shown), descriptions.path_text(result, spec.name),
        output_format="JPEG",
        caption="One map per stage: the channel with the strongest mean activation, where the map size changes.",
    )

    st.header("Inside one layer")
    inside_one_layer(key, result, names, selection, prepared, model)


one_picture(selection)
