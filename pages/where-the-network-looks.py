"""Where it looks: class activation maps and saliency for any class, interventions, and the first layer's filters.

The page answers two questions Feature maps cannot: where in the picture did the network
look to decide, and what happens without a channel or a shortcut. Every pass runs on a
private view of the server's shared model (explorer.runs.private_views); results are kept once
per picture and setting for the whole server, in bounded stores (ui.caches.result_store).
Everything from the picture to the interventions is a fragment (``one_picture``), as on Feature maps: a new
picture reruns it alone, not the frame, the sidebar or the filters, which do not depend on it.
Page keys start with "wl_".
"""

from __future__ import annotations

import streamlit as st

from explorer.figures import filters
from explorer.weights import catalogue
from ui.caches.networks import cached_layer_table, run_problem, stop_if
from ui.classroom import follow
from ui.frame import keep_in_frame
from ui.panels import cam_panel
from ui.panels import intervention_panel
from ui.selection.pictures import digest_of, pick_picture, picture_or_last_good, turn_for_picture
from ui.selection.record import Selection
from ui.selection.sidebar import current_selection
from ui.selection.weights_panel import describe_weights, selected_model
from ui.widgets.images import picture as show_picture

keep_in_frame()  # Streamlit's first-link lookup may run this file alone: the frame then draws it (ui/frame.py)

@st.cache_data(max_entries=16, show_spinner=False)
def filter_picture(arch_id: str, device: str, weights_key: str, _model):
    """The first convolution's name, its filters as one picture, and their shape (once per network and weights)."""
    found = filters.first_convolution(_model)
    if found is None:
        return None
    name, weights = found
    return name, filters.filter_grid(weights), weights.shape


def show_filters(selection, model) -> None:
    st.header("What the first layer looks for")
    found = filter_picture(selection.spec.id, selection.device, selection.weights_key, model)
    if found is None:
        st.info(f"{selection.spec.name} has no convolution: every pixel is wired straight to the classes.")
        return
    name, picture, shape = found
    count, channels, height, width = shape
    kind = "in colour (red, green and blue weights)" if channels == 3 else "in grey (one input channel)"
    alt = (f"{count} filters of {name}, {height}×{width} each, in a grid, drawn {kind}: dark where a weight is most "
           "negative, bright where it is most positive.")
    show_picture(picture, alt, width=min(picture.shape[1], 1000), caption=f"The {count} filters of {name}, {height}×{width} each, drawn {kind}: each filter "
                              "stretched from its most negative weight (dark) to its most positive (bright).")
    if selection.weights == catalogue.RANDOM:
        st.caption("Random weights give noise; trained ImageNet weights show edges at many angles and colour blobs.")


selection = current_selection()
spec, size = selection.spec, selection.size
st.title(f"Where it looks · {spec.name}")
st.caption("Which parts of the picture made the network decide, what happens when parts of the network are "
           "switched off, and what its first layer's filters look for.")
stop_if(run_problem(selection, batch=2))  # an intervention runs the picture twice, as a batch of two
if size.batch > 1:
    st.caption(f"This page follows one picture, so the batch size ({size.batch}) is not used here.")

@follow.fragment
def one_picture(selection: Selection) -> None:
    """The picture, its maps and the interventions: a new picture reruns this fragment alone, not the frame,
    the sidebar or the filters (which do not depend on it)."""
    spec, size = selection.spec, selection.size
    picture_col, weights_col = st.columns([3, 2])
    with picture_col:
        data, label = pick_picture(spec, "wl")
    with weights_col:
        describe_weights(selection, meaning="its answer and every map on this page mean nothing until it is trained")

    # A new picture's decoding and its first map wait their turn in the server's line (Score-CAM, run from the
    # map panel's own rerun, takes turns of its own there). A picture that cannot be read stops the page here,
    # and leaving the with leaves the line.
    with turn_for_picture(selection, data):
        with picture_col:
            data, label, loaded, prepared = picture_or_last_good(
                data, label, selection, kept_key="wl_previous",
                ask="Choose a picture above to see where the network looks.",
                carrying_on="Until there is a new picture, the page keeps showing {about}.")
        model = selected_model(selection)
        table = cached_layer_table(spec.id, size.height, size.width, 1)
        names = catalogue.class_names(spec, selection.weights)
        digest = digest_of(data)
        follow.fragment(cam_panel.show)(selection, model, prepared, table, names, digest)
    st.divider()
    st.fragment(intervention_panel.show)(selection, model, prepared, table, names, digest)


one_picture(selection)
st.divider()
show_filters(selection, selected_model(selection))
