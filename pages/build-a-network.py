"""Build a network: stack layers, see every shape and count as you type, then use the design on every page.

The design lives in this browser session (``ui.selection.my_design``); once it can be built,
the sidebar offers it as "Your network". Editing works on shapes alone
(``explorer.analysis.design_rows.analyse``, PyTorch's meta device): no forward pass.
"""

import streamlit as st

from explorer.analysis.design_file import MAX_CHANNELS, MAX_LAYERS
from explorer.analysis.design_rows import MAX_MULT_ADDS, MAX_PARAMS, analyse
from ui.classroom import follow
from ui.classroom import session as class_session
from ui.frame import keep_in_frame
from ui.panels import design_rows, design_start
from ui.selection import my_design

keep_in_frame()  # Streamlit's first-link lookup may run this file alone: the frame then draws it (ui/frame.py)

st.title("Build a network")
st.caption(
    f"Stack layers and watch every shape and count as you type. Limits: at most {MAX_LAYERS} layers, "
    f"{MAX_PARAMS / 1e6:g} million parameters, {MAX_MULT_ADDS / 1e9:g} G multiply-adds per picture, and "
    f"{MAX_CHANNELS:,} channels per layer. Once the design is whole, choose **Your network** in the sidebar "
    "to see it on every page; it stays in this browser tab only."
)

following = follow.following()
if following:
    left, right = st.columns([3, 1], vertical_alignment="center")
    left.info("You see the teacher's design as they build it.")
    right.button("Take a copy and edit it", icon=":material/edit:", on_click=class_session.explore,
                 use_container_width=True)

design_start.draw_start(following)
design = my_design.design()
if design is None:
    st.info("Start from a preset, or from nothing and add layers one by one.")
    st.stop()

design_start.draw_input(design, following)
analysis = analyse(design)
design_rows.draw_rows(analysis, following)

params_col, macs_col, layers_col = st.columns(3)
params_col.metric("Parameters", f"{analysis.total_params:,}")
macs_col.metric("Multiply-adds", f"{analysis.total_mult_adds:,}", help="Per picture, as the layer table counts them.")
layers_col.metric("Layers", f"{len(design.layers)} of at most {MAX_LAYERS}")
if not analysis.problems:
    st.success("The design is whole: choose **Your network** in the sidebar to see it on every page.")

st.subheader("Save and share")
st.caption("The address bar holds the design: copy the link to share it. Or keep it as a file.")
design_start.draw_files(design, following)
