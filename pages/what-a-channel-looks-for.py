"""What a channel looks for: for each channel of a layer, a picture made to excite it and the corpus pictures that do.

The third question after "what does each layer do to my picture" and "where did it look":
what is one channel of one layer looking for? As OpenAI Microscope showed it, each channel
gets its feature visualisation (Lucid's recipe, explorer.runs.featurevis) beside its nine
best dataset examples, and two numbers that keep the picture honest. Renders come from the
server's disk cache or are made on request, one at a time for the whole server.
Page keys start with "ch_".
"""

from __future__ import annotations

import streamlit as st

from explorer.runs.featurevis import microscope
from explorer.runs.featurevis.render import Recipe
from ui.caches.microscope import corpus_scan
from ui.caches.networks import cached_layer_table, run_problem, stop_if
from ui.frame import keep_in_frame
from ui.panels import channel_choice, channel_corpus, channel_tiles
from ui.selection.sidebar import current_selection
from ui.selection.weights_panel import describe_weights, selected_model

keep_in_frame()  # Streamlit's first-link lookup may run this file alone: the frame then draws it (ui/frame.py)

selection = current_selection()
spec = selection.spec
st.title(f"What a channel looks for · {spec.name}")
st.caption("For each channel: a picture optimised to excite it (feature visualisation, as Lucid made OpenAI "
           "Microscope's), the nine dataset pictures that excite it most, cropped to what the channel sees, and two "
           "numbers that say whether the picture beats them.")
stop_if(run_problem(selection))
describe_weights(selection, meaning="every render and example on this page means nothing until it is trained")

model = selected_model(selection)
table = cached_layer_table(spec.id, spec.default_size, spec.default_size, 1)  # renders and corpus use this size
choice = channel_choice.choose(selection, model, table)
if choice.layer is None or not choice.channels:
    st.stop()
recipe = microscope.checked_recipe(spec, model, choice.layer, Recipe(steps=choice.steps), None)
corpus = channel_corpus.choose(selection)
if corpus is None:
    st.stop()
corpus, corpus_id = corpus
with st.spinner(f"Running {corpus.name} through {spec.name} up to {choice.layer}…"):
    found = corpus_scan(spec.id, selection.device, selection.weights_key, choice.layer, corpus_id, spec, model,
                        selection.weights, corpus)
st.subheader(f"{choice.layer}: {choice.why}")
channel_tiles.show(selection, model, choice.layer, choice.channels, recipe, found, corpus.name, corpus_id)
