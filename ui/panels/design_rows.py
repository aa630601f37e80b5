"""Build a network: one editable row per layer (its type and settings), its buttons, and its numbers as it is typed.

Every change goes through a callback that edits the session's design JSON
(``ui.selection.my_design``) and checks it again with the design file's reader, so
the page never holds a value a design file could not. Settings' widgets are keyed by
the row's own number and its type: moving a row keeps its widgets, changing its type
starts them from the new type's defaults. The numbers under each row come from
``explorer.analysis.design_rows.analyse``: shapes only, no forward pass.
"""

from __future__ import annotations

import streamlit as st

from explorer.analysis.design_file import MAX_CHANNELS, MAX_LAYERS
from explorer.analysis.design_rows import Analysis, Row, shape_text
from explorer.core.sizes import MAX_SIDE
from explorer.models.design import LAYER_TYPES, POOL_STRIDE, REQUIRED, SETTINGS
from ui.selection import my_design

TYPE_NAMES = {
    "conv": "Convolution", "maxpool": "Max pooling", "avgpool": "Average pooling", "gap": "Global average pooling",
    "relu": "ReLU", "leakyrelu": "LeakyReLU", "tanh": "tanh", "sigmoid": "sigmoid", "gelu": "GELU",
    "batchnorm": "Batch norm", "dropout": "Dropout", "flatten": "Flatten", "linear": "Linear",
    "residual": "Residual block",
}
SETTING_NAMES = {"out": "Out", "kernel": "Kernel", "stride": "Stride", "padding": "Padding", "dilation": "Dilation",
                 "groups": "Groups", "p": "p"}
_RANGE = {"out": (1, MAX_CHANNELS), "kernel": (1, MAX_SIDE), "stride": (1, 64), "padding": (0, 64),
          "dilation": (1, 16), "groups": (1, MAX_CHANNELS)}
NEW_TYPE = "bn_new_type"
_MOST_SETTINGS = max(len(settings) for settings in SETTINGS.values())
# A new row's required settings: a small, common choice the student then changes.
_STARTING = {"out": 8, "kernel": 3}


def starting_layer(kind: str, before: dict | None = None) -> dict:
    """A new row of ``kind``: its defaults, required settings from the row it replaces or small common values."""
    layer = {"type": kind}
    for key, default in SETTINGS[kind].items():
        if default is REQUIRED:
            kept = (before or {}).get(key)
            layer[key] = kept if kept is not None else (2 if kind in ("maxpool", "avgpool") else _STARTING[key])
        elif default == POOL_STRIDE:
            layer[key] = layer["kernel"]
        else:
            layer[key] = default
    return layer


def _layers() -> tuple[dict, list[dict], list[int]]:
    data = dict(st.session_state[my_design.DESIGN])
    return data, [dict(layer) for layer in data["layers"]], list(my_design.row_keys())


def _store(data: dict, layers: list[dict], keys: list[int]) -> None:
    my_design.put_layers({**data, "layers": layers}, keys)


def _setting_key(row_key: int, kind: str, setting: str) -> str:
    return f"bn_{row_key}_{kind}_{setting}"


def _change_type(row_key: int) -> None:
    data, layers, keys = _layers()
    at = keys.index(row_key)
    layers[at] = starting_layer(st.session_state[f"bn_{row_key}_type"], layers[at])
    _store(data, layers, keys)


def _change_setting(row_key: int, setting: str) -> None:
    data, layers, keys = _layers()
    at = keys.index(row_key)
    value = st.session_state[_setting_key(row_key, layers[at]["type"], setting)]
    layers[at][setting] = float(value) if setting == "p" else int(value)
    _store(data, layers, keys)


def _act(row_key: int, action: str) -> None:
    data, layers, keys = _layers()
    at = keys.index(row_key)
    if action == "remove":
        del layers[at], keys[at]
    elif action == "duplicate" and len(layers) < MAX_LAYERS:
        layers.insert(at + 1, dict(layers[at]))
        keys.insert(at + 1, my_design.new_row_key())
    elif action in ("up", "down"):
        to = at - 1 if action == "up" else at + 1
        if 0 <= to < len(layers):
            layers[at], layers[to] = layers[to], layers[at]
            keys[at], keys[to] = keys[to], keys[at]
    _store(data, layers, keys)


def _add() -> None:
    data, layers, keys = _layers()
    if len(layers) < MAX_LAYERS:
        layers.append(starting_layer(st.session_state[NEW_TYPE]))
        keys.append(my_design.new_row_key())
        _store(data, layers, keys)


def numbers_line(row: Row) -> str:
    """What one row gives, in words: its shape, parameters with their arithmetic, multiply-adds, receptive field."""
    if row.output_shape is None:
        return "does not fit (see below)"
    parts = [f"gives **{shape_text(row.output_shape)}**",
             f"{row.params:,} parameters" + (f" ({row.formula})" if row.formula else ""),
             f"{row.mult_adds:,} multiply-adds"]
    if row.field is not None:
        size = row.field.size
        parts.append(f"sees {size[0]}×{size[1]} input pixels")
    return " · ".join(parts)


def _draw_row(index: int, row_key: int, layer: dict, row: Row, notes: tuple[list[str], list[str]], disabled: bool,
              count: int) -> None:
    kind = layer["type"]
    settings = [key for key in SETTINGS[kind]]
    with st.container(border=True, key=f"bn_row_{row_key}"):
        # The same grid for every row (conv's six settings at most), so the settings line up down the page.
        columns = st.columns([0.4, 2.2, *([1.0] * _MOST_SETTINGS), *([0.5] * 4)], vertical_alignment="bottom")
        columns[0].markdown(f"**{index + 1}**")
        type_key = f"bn_{row_key}_type"
        if st.session_state.get(type_key) != kind:
            st.session_state[type_key] = kind
        columns[1].selectbox("Layer", LAYER_TYPES, key=type_key, format_func=TYPE_NAMES.get, disabled=disabled,
                             on_change=_change_type, args=(row_key,), label_visibility="collapsed" if index else "visible")
        for column, setting in zip(columns[2:], settings):
            key = _setting_key(row_key, kind, setting)
            if key not in st.session_state:
                st.session_state[key] = layer[setting]
            if setting == "p":
                column.number_input("p", 0.0, 0.99, step=0.05, key=key, disabled=disabled,
                                    on_change=_change_setting, args=(row_key, setting))
            else:
                low, high = _RANGE[setting]
                column.number_input(SETTING_NAMES[setting], low, high, step=1, key=key, disabled=disabled,
                                    on_change=_change_setting, args=(row_key, setting))
        buttons = columns[2 + _MOST_SETTINGS:]
        for column, (action, icon, label, off) in zip(buttons, (
                ("up", ":material/arrow_upward:", "Move up", index == 0),
                ("down", ":material/arrow_downward:", "Move down", index == count - 1),
                ("duplicate", ":material/content_copy:", "Duplicate", count >= MAX_LAYERS),
                ("remove", ":material/delete:", "Remove", False))):
            column.button("", icon=icon, help=label, key=f"bn_{row_key}_{action}", disabled=disabled or off,
                          on_click=_act, args=(row_key, action))
        st.caption(numbers_line(row))
        for problem in notes[0]:
            st.error(problem)
        for warning in notes[1]:
            st.warning(warning)


def draw_rows(analysis: Analysis, disabled: bool) -> None:
    """Every row with its widgets and numbers, each sentence under the row it names, and the add control."""
    data = st.session_state[my_design.DESIGN]
    keys = my_design.row_keys()
    shown = set()
    for index, (row_key, layer, row) in enumerate(zip(keys, data["layers"], analysis.rows)):
        named = f"Layer {index + 1} ("
        notes = ([p for p in analysis.problems if p.startswith(named)],
                 [w for w in analysis.warnings if w.startswith(named)])
        shown.update(*notes)
        _draw_row(index, row_key, layer, row, notes, disabled, len(keys))
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    left.selectbox("Layer to add", LAYER_TYPES, key=NEW_TYPE, format_func=TYPE_NAMES.get, disabled=disabled)
    right.button("Add layer", icon=":material/add:", on_click=_add, disabled=disabled or len(keys) >= MAX_LAYERS,
                 use_container_width=True)
    for problem in analysis.problems:
        if problem not in shown:
            st.error(problem)
    for warning in analysis.warnings:
        if warning not in shown:
            st.warning(warning)
