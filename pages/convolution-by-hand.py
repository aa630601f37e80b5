"""Convolution by hand: the lab's 5×5 scoreboard walkthrough, one window at a time, checked against PyTorch.

Input → filter → convolution step by step → pooling step by step → ReLU, flatten and
the dense-versus-conv parameter count. All arithmetic comes from explorer.handconv;
this page keeps the user's grid, filter and step position in session_state ("conv_" keys).
Each walk's step buttons and pictures are a fragment: a step reruns that walk alone. The windows
done are ``conv_step`` and ``conv_pool_step`` (ui.selection.view_state); a class follows them (ui.panels.convolution_class).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from explorer.core.errors import UserError
from explorer.handconv.convolution import ConvSettings, ConvWalk, Window, convolve_by_hand
from explorer.handconv.counting import compare_parameters
from explorer.handconv.figures import grid_figure
from explorer.handconv.inputs import (FILTER_PRESETS, MAX_GRID, PHOTO_SIDE, PHOTOS, digit_grid, filter_preset,
                                      photo_patch, photo_thumbnail, resize_keeping_centre)
from explorer.handconv.pooling import POOL_KINDS, PoolSettings, pool_by_hand, relu_by_hand
from explorer.inputs.scoreboard import DIGITS
from ui.classroom import follow
from ui.frame import keep_in_frame
from ui.panels import convolution_class
from ui.selection.view_state import CONVOLUTION_STEP, POOLING_STEP

keep_in_frame()  # Streamlit's first-link lookup may run this file alone: the frame then draws it (ui/frame.py)

P = "conv_"
SOURCES = ("Scoreboard digit", "Photo patch")
BLANK = "blank"
state = st.session_state


# Starting values of the page's controls (the lab's example: the zero, a 2×2 filter of ones, stride 1).
DEFAULTS = {
    "source": SOURCES[0], "rows": 5, "cols": 5, "digit": 0, "photo": "cameraman", "top": 8, "left": 8,
    "preset": "ones", "kernel": 2, "seed": 0, "stride": 1, "padding": 0, "dilation": 1, "bias": 0.0,
    "pool_kind": "max", "pool_kernel": 2, "pool_stride": 2, "pool_ceil": False, "filters": 4, "classes": 10,
}


def setting(name: str):
    """A control's value, also when its widget is not on screen this run (hidden, or another page was open)."""
    return state.get(P + name, state.get(P + "kept_" + name, DEFAULTS[name]))


def control(widget, label: str, name: str, **kwargs):
    """A widget whose value survives a visit to another page (Streamlit drops unrendered widgets' keys)."""
    key = P + name
    if key not in state:
        state[key] = setting(name)
    value = widget(label, key=key, disabled=follow.following(), **kwargs)  # a class: the teacher's
    state[P + "kept_" + name] = value
    return value


# ---- the user's grid and filter: persistent arrays, shown in editors that restart when a preset replaces them


def _set_grid(grid: np.ndarray) -> None:
    state[P + "grid"] = grid
    state[P + "grid_version"] = state.get(P + "grid_version", 0) + 1


def _grid_from_source() -> None:
    rows, cols = setting("rows"), setting("cols")
    if setting("source") == SOURCES[0]:
        digit = setting("digit")
        # a grid smaller than the 5×5 digit shows its middle
        whole = digit_grid(None if digit == BLANK else digit, max(rows, 5), max(cols, 5))
        _set_grid(resize_keeping_centre(whole, rows, cols))
    else:
        # a bigger patch may no longer fit where the old one was: move it back inside the photo
        state[P + "top"] = min(setting("top"), PHOTO_SIDE - rows)
        state[P + "left"] = min(setting("left"), PHOTO_SIDE - cols)
        _set_grid(photo_patch(setting("photo"), setting("top"), setting("left"), rows, cols))


def _resize_grid() -> None:
    if setting("source") == SOURCES[0]:
        _set_grid(resize_keeping_centre(state[P + "grid"], setting("rows"), setting("cols")))
    else:
        _grid_from_source()


def _set_filter() -> None:
    state[P + "filter"] = filter_preset(setting("preset"), setting("kernel"), setting("seed"))
    state[P + "filter_version"] = state.get(P + "filter_version", 0) + 1


def chart(where, figure, key: str) -> None:
    """A grid picture at its own size (cells stay square and small), without plotly's toolbar."""
    where.plotly_chart(figure, key=P + key, width="content", config={"displayModeBar": False})


def edited_grid(name: str, checkboxes: bool) -> np.ndarray:
    """Show the array ``state[conv_<name>]`` in an editor; the user's edits become the new array."""
    editor_key = f"{P}{name}_editor_{state[P + name + '_version']}"
    if editor_key not in state:  # a fresh editor (new preset, or back from another page): start from the array
        state[P + name + "_base"] = state[P + name]
    base = state[P + name + "_base"]
    frame = pd.DataFrame(base.astype(bool) if checkboxes else base, columns=[str(c) for c in range(base.shape[1])])
    frame.index.name = "row"  # the corner cell's header: a table header that says nothing is read out as nothing
    column = st.column_config.CheckboxColumn if checkboxes else st.column_config.NumberColumn
    edited = st.data_editor(frame, key=editor_key, width="content", disabled=follow.following(),
                            column_config={c: column(c, width="small") for c in frame.columns})
    grid = edited.to_numpy(dtype=float, na_value=np.nan)
    state[P + name] = grid
    return grid


def step_buttons(key: str, total: int) -> int:
    """Start-over / back / forward / play-all buttons; returns how many windows are done (``key``, kept in range)."""
    # The teacher's windows for a class; the settings may have shrunk the output since last time.
    step = state[key] = min(max(convolution_class.step_from_teacher(key, state.get(key, 0)), 0), total)
    convolution_class.share_step(key, step)

    def go(to: int) -> None:
        state[key] = to

    columns = st.columns(4)
    for column, (label, suffix, to, done) in zip(columns, (
            ("Start over", "_reset", 0, step == 0), ("◀ Step back", "_back", step - 1, step == 0),
            ("Step forward ▶", "_forward", step + 1, step == total), ("Play all", "_all", total, step == total))):
        column.button(label, key=key + suffix, on_click=go, args=(to,), disabled=follow.following() or done)
    return step


def show_walk(name: str, windows: tuple[Window, ...], step: int, source: np.ndarray, out_shape, *,
              source_title: str, middle=None, outline=None, colorscale: str = "Blues") -> None:
    """The source with the current window framed, an optional middle picture, the output filling in, the sums."""
    current = windows[step - 1] if step else None
    filled = np.zeros(out_shape, dtype=bool)
    output = np.zeros(out_shape)
    for window in windows[:step]:
        filled[window.out_row, window.out_col] = True
        output[window.out_row, window.out_col] = window.value
    pictures = st.columns(3 if middle is not None else 2)
    window = current.cells if current else ()
    chart(pictures[0], grid_figure(source, title=source_title, window=window, outline=outline,
                                   colorscale=colorscale), f"{name}_source")
    if middle is not None:
        chart(pictures[1], middle, f"{name}_middle")
    out_window = [(current.out_row, current.out_col)] if current else ()
    chart(pictures[-1], grid_figure(output, title=f"output {out_shape[0]}×{out_shape[1]}", filled=filled,
                                    window=out_window), f"{name}_output")
    st.caption(f"Window {step} of {len(windows)}.")
    if current is None:
        st.info("Press **Step forward** to place the window on its first position.")
        return
    st.code(current.text, language=None, wrap_lines=True)
    if step > 1:
        with st.expander(f"All {step} windows so far", expanded=step == len(windows)):
            st.code("\n".join(w.text for w in windows[:step]), language=None, wrap_lines=True)


@follow.fragment
def stepped_walk(name: str, step_key: str, windows: tuple[Window, ...], source: np.ndarray, out_shape,
                 **drawing) -> None:
    """A walk's buttons and pictures; a step reruns this alone."""
    show_walk(name, windows, step_buttons(step_key, len(windows)), source, out_shape, **drawing)


# ---- page

st.title("Convolution by hand")
st.caption(
    "A filter slides over a small picture; at each position it multiplies the cells it covers by its weights "
    "and adds them up. Every sum below is written out, then checked against PyTorch on the same numbers."
)

if P + "grid" not in state:
    state[P + "grid"] = DIGITS[0].copy()
    state[P + "grid_version"] = 0
    state[P + "filter"] = filter_preset("ones", 2)
    state[P + "filter_version"] = 0
convolution_class.take_teachers(P, DEFAULTS)  # a following student starts from the teacher's numbers

st.header("1 · The input")
settings_col, grid_col = st.columns([1, 2])
with settings_col:
    source = control(st.radio, "Start from", "source", options=SOURCES, horizontal=True,
                     on_change=_grid_from_source)
    size_left, size_right = st.columns(2)
    control(size_left.number_input, "Rows", "rows", min_value=1, max_value=MAX_GRID, on_change=_resize_grid)
    control(size_right.number_input, "Columns", "cols", min_value=1, max_value=MAX_GRID, on_change=_resize_grid)
    if source == SOURCES[0]:
        control(st.selectbox, "Digit", "digit", options=[*DIGITS, BLANK], on_change=_grid_from_source,
                help="Scoreboard digits are 5×5; on a larger grid the digit sits in the middle.")
        st.button("Redraw the digit", key=P + "redraw", on_click=_grid_from_source, disabled=follow.following())
    else:
        control(st.selectbox, "Photo", "photo", options=list(PHOTOS), on_change=_grid_from_source)
        control(st.slider, "Patch top", "top", min_value=0, max_value=PHOTO_SIDE - setting("rows"),
                on_change=_grid_from_source)
        control(st.slider, "Patch left", "left", min_value=0, max_value=PHOTO_SIDE - setting("cols"),
                on_change=_grid_from_source)
        thumb = photo_thumbnail(setting("photo"))
        top, left = setting("top"), setting("left")
        patch = [(top + r, left + c) for r in range(setting("rows")) for c in range(setting("cols"))]
        chart(st, grid_figure(thumb, show_numbers=False, colorscale="gray", cell_px=5, window=patch), "photo_figure")
        st.caption(f"The photo, shrunk to {PHOTO_SIDE}×{PHOTO_SIDE}; the red frame is the patch.")
with grid_col:
    if source == SOURCES[0]:
        st.caption("Click a checkbox to switch that cell on or off (the first click may only select the table).")
    else:
        st.caption("Grey levels, 0 = black, 1 = white; type a number to change one.")
    image = edited_grid("grid", checkboxes=source == SOURCES[0])

st.header("2 · The filter")
filter_col, conv_col = st.columns([2, 1])
with filter_col:
    preset_left, preset_mid, preset_right = st.columns(3)
    control(preset_left.selectbox, "Preset", "preset", options=FILTER_PRESETS, on_change=_set_filter)
    kernel_size = control(preset_mid.number_input, "Kernel size k", "kernel", min_value=1, max_value=7,
                          on_change=_set_filter)
    if state[P + "preset"] == "random":
        control(preset_right.number_input, "Seed", "seed", min_value=0, max_value=9999, on_change=_set_filter)
    kernel = edited_grid("filter", checkboxes=False)
with conv_col:
    conv_settings = ConvSettings(
        stride=control(st.number_input, "Stride s", "stride", min_value=1, max_value=5),
        padding=control(st.number_input, "Padding p", "padding", min_value=0, max_value=3),
        dilation=control(st.number_input, "Dilation d", "dilation", min_value=1, max_value=4),
        bias=control(st.number_input, "Bias", "bias", step=0.5, format="%.2f"),
    )

st.header("3 · Slide the filter, one window at a time")
try:
    walk: ConvWalk = convolve_by_hand(image, kernel, conv_settings)
except UserError as error:
    st.error(str(error))
    st.stop()
st.markdown(f"**Output height** {walk.height_formula}  \n**Output width** {walk.width_formula}")
pad = conv_settings.padding
stepped_walk(
    "conv", CONVOLUTION_STEP, walk.windows, walk.padded, walk.output.shape,
    source_title=f"input {image.shape[0]}×{image.shape[1]}" + (f", padded by {pad}" if pad else ""),
    middle=grid_figure(walk.kernel, title=f"filter {kernel_size}×{kernel_size}"),
    outline=(pad, pad, pad + image.shape[0] - 1, pad + image.shape[1] - 1) if pad else None,
    colorscale="gray" if source == SOURCES[1] else "Blues",
)
st.caption(
    f"Checked: `torch.nn.functional.conv2d` on the same input and filter gives the same "
    f"{walk.output.size} numbers (largest difference {walk.max_difference:.1g})."
)

st.header("4 · Pool the feature map")
pool_cols = st.columns(4)
pool_settings = PoolSettings(
    kind=control(pool_cols[0].selectbox, "Pooling", "pool_kind", options=POOL_KINDS),
    kernel=control(pool_cols[1].number_input, "Pool kernel", "pool_kernel", min_value=1, max_value=6),
    stride=control(pool_cols[2].number_input, "Pool stride", "pool_stride", min_value=1, max_value=6),
    ceil_mode=control(pool_cols[3].checkbox, "ceil_mode", "pool_ceil",
                      help="Round the output size up: a last window that hangs over the edge is kept."),
)
try:
    pooled = pool_by_hand(walk.output, pool_settings)
except UserError as error:
    st.error(str(error))
    st.stop()
st.markdown(f"**Output height** {pooled.height_formula}  \n**Output width** {pooled.width_formula}")
stepped_walk("pool", POOLING_STEP, pooled.windows, walk.output, pooled.output.shape, source_title="feature map")
st.caption(f"Checked: `torch.nn.functional.{pool_settings.kind}_pool2d` gives the same {pooled.output.size} numbers.")

st.header("5 · ReLU, flatten, and a fully-connected layer")
activated, zeroed = relu_by_hand(pooled.output)
relu_cols = st.columns(2)
chart(relu_cols[0], grid_figure(activated, title="after ReLU: max(0, x)"), "relu_figure")
relu_cols[1].markdown(
    f"ReLU set {zeroed} negative number{'s' if zeroed != 1 else ''} to 0 (checked against `torch.relu`). "
    f"Flattening lines the {activated.shape[0]}×{activated.shape[1]} map up into {activated.size} numbers, "
    "which a fully-connected layer turns into one score per class."
)
count_cols = st.columns(2)
filters = control(count_cols[0].number_input, "Filters in the conv layer", "filters", min_value=1, max_value=64,
                  help="The walk above shows one filter; a real layer learns several, each with its own bias.")
classes = control(count_cols[1].number_input, "Classes", "classes", min_value=1, max_value=1000)
convolution_class.share(P, DEFAULTS, setting)  # the teacher's numbers, read from every control above
comparison = compare_parameters(
    image.shape[0], image.shape[1], kernel_size, conv_settings, pool_settings, filters, classes
)
dense_col, conv_net_col = st.columns(2)
dense_col.metric("Dense layer on the raw pixels", f"{comparison.dense_total:,} parameters")
conv_net_col.metric("Conv → pool → ReLU → fully-connected", f"{comparison.conv_total:,} parameters")
table = pd.DataFrame(
    [(r.network, r.layer, r.output_shape, r.params, r.arithmetic) for r in comparison.rows],
    columns=["Network", "Layer", "Output shape", "Parameters", "Counted as"],
)
st.dataframe(table, hide_index=True)
st.caption(
    "Shapes come from a forward pass through real `torch.nn` layers built with these settings, and each "
    "count from their `numel()`; weights × inputs + one bias per output."
)
