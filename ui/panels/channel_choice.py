"""What a channel looks for: which layer, which channels and which recipe, as the teacher's class follows them.

Channels are named three ways: typed (``37``, ``0-15``, ``3,7,9``), the layer's first
sixteen, or the sixteen the current picture excites most (each channel's mean before its
ReLU). A list that names a channel the layer lacks is one sentence, and the page goes on.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from explorer.core.errors import UserError
from explorer.runs.featurevis import microscope
from explorer.runs.featurevis.render import PREVIEW_STEPS
from explorer.runs.layer_choice import default_unit_layer, unit_layers
from ui.caches.microscope import strengths
from ui.classroom import follow
from ui.selection.pictures import digest_of, pick_picture, picture_or_last_good
from ui.selection.view_state import labelled_selectbox

PAGE_SIZE = 16
MODES = {"typed": "Channels I name", "first": f"The first {PAGE_SIZE}", "strongest": f"The {PAGE_SIZE} strongest on a picture"}
STEPS = {16: "16 steps (a glimpse)", PREVIEW_STEPS: f"{PREVIEW_STEPS} steps (a preview)", 512: "512 steps (Lucid's recipe)"}
FOLLOWED = ("ch_layer", "ch_mode", "ch_channels", "ch_steps")


@dataclass(frozen=True)
class Choice:
    layer: str | None
    channels: list[int]
    steps: int
    why: str  # how the channels were picked, in words


def _valid(teachers: dict, layers: list[str]) -> dict:
    """The teacher's values this server can show (a layer of this network, a known mode and recipe)."""
    allowed = {"ch_layer": layers, "ch_mode": list(MODES), "ch_steps": list(STEPS)}
    return {key: value for key, value in teachers.items()
            if (key in allowed and value in allowed[key]) or (key == "ch_channels" and isinstance(value, str))}


def _strongest(selection, model, layer: str, count: int) -> tuple[list[int], str]:
    data, label = pick_picture(selection.spec, "ch")
    data, label, _, prepared = picture_or_last_good(
        data, label, selection, kept_key="ch_previous", ask="Choose a picture above to rank the channels by it.",
        carrying_on="Until there is a new picture, the channels are ranked on {about}.")
    values = strengths(selection.spec.id, selection.device, selection.weights_key, layer, digest_of(data), model,
                       prepared.tensor)
    order = sorted(range(count), key=lambda c: -values[c])[:PAGE_SIZE]
    about = label if isinstance(label, str) else getattr(label, "label", "the picture")
    return order, f"the {len(order)} channels {about} excites most, strongest first"


def choose(selection, model, table) -> Choice:
    layers = unit_layers(table)
    if not layers:
        st.info(f"{selection.spec.name} has no layer whose channels can be rendered.")
        return Choice(None, [], 0, "")
    shapes = table.calls.set_index("name")["output_shape"]
    dims = table.calls.set_index("name")["output_dims"]
    if st.session_state.get("ch_layer") not in layers:
        st.session_state["ch_layer"] = default_unit_layer(table)
    for key, default in (("ch_mode", "typed"), ("ch_steps", 512), ("ch_channels", "0")):
        st.session_state.setdefault(key, default)  # defaults set once, so a teacher's value never clashes with them
    layer_col, mode_col, steps_col = st.columns([3, 3, 2])
    with follow.followed_keys("ch.view", FOLLOWED, adapt=lambda t: _valid(t, layers)) as following:
        layer = labelled_selectbox(layer_col, f"Layer ({len(layers)} to choose from)", layers, key="ch_layer",
                                   format_func=lambda n: f"{n} · {shapes[n]}", disabled=following,
                                   help="A convolution's channels are maps; a fully-connected layer's are single "
                                   "numbers (the last one's are the classes).")
        mode = mode_col.radio("Which channels", list(MODES), format_func=MODES.get, key="ch_mode", disabled=following,
                              horizontal=True)
        steps = steps_col.selectbox("Render recipe", list(STEPS), format_func=STEPS.get, key="ch_steps",
                                    disabled=following,
                                    help="Lucid rendered OpenAI Microscope's pictures with 512 steps; fewer steps "
                                    "give a quicker, fainter preview (cached separately).")
        count = dims[layer][1]
        typed = st.text_input(f"Channels (0 to {count - 1}: one number, a range like 0-15, or a list like 3,7,9)",
                              key="ch_channels", disabled=following or mode != "typed")
    if mode == "first":
        return Choice(layer, list(range(min(PAGE_SIZE, count))), steps, f"the first {min(PAGE_SIZE, count)} channels")
    if mode == "strongest":
        channels, why = _strongest(selection, model, layer, count)
        return Choice(layer, channels, steps, why)
    try:
        channels = microscope.parse_channels(typed, count)
    except UserError as error:
        st.error(str(error))
        return Choice(layer, [], steps, "")
    if len(channels) > PAGE_SIZE:
        st.caption(f"A page shows {PAGE_SIZE} channels at a time: the first {PAGE_SIZE} of the {len(channels)} named.")
        channels = channels[:PAGE_SIZE]
    return Choice(layer, channels, steps, "the channels named")
