"""Build a network: the one editor under the table, for the selected row (its type, settings and buttons) and adding.

Every change goes through a callback that edits the session's design JSON
(``ui.selection.my_design``) and checks it again with the design file's reader, so the
page never holds a value a design file could not. Only the selected row has widgets (one
row's worth, not the whole design's: drawing them is most of an edit's cost). They are
keyed by the row's own number and its type, so moving a row keeps them and changing its
type starts them from the new type's defaults. Which row is selected is
``ui.panels.design_rows``' business; the callbacks here tell it where the selection goes.
"""

from __future__ import annotations

import streamlit as st

from explorer.analysis.design_file import MAX_CHANNELS, MAX_LAYERS
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
SELECTED = "bn_selected"  # the selected row's own number (from my_design.row_keys)
_MOST_SETTINGS = max(len(settings) for settings in SETTINGS.values())
# A new row's required settings: a small, common choice the student then changes.
_STARTING = {"out": 8, "kernel": 3}
ACTIONS = (("up", ":material/arrow_upward:", "Move up"), ("down", ":material/arrow_downward:", "Move down"),
           ("duplicate", ":material/content_copy:", "Duplicate"), ("remove", ":material/delete:", "Remove"))


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


def _store(data: dict, layers: list[dict], keys: list[int], selected: int | None = None) -> None:
    my_design.put_layers({**data, "layers": layers}, keys)
    if selected is not None:
        st.session_state[SELECTED] = selected


def setting_key(row_key: int, kind: str, setting: str) -> str:
    return f"bn_{row_key}_{kind}_{setting}"


def _change_type(row_key: int) -> None:
    data, layers, keys = _layers()
    at = keys.index(row_key)
    layers[at] = starting_layer(st.session_state[f"bn_{row_key}_type"], layers[at])
    _store(data, layers, keys)


def _change_setting(row_key: int, setting: str) -> None:
    data, layers, keys = _layers()
    at = keys.index(row_key)
    value = st.session_state[setting_key(row_key, layers[at]["type"], setting)]
    layers[at][setting] = float(value) if setting == "p" else int(value)
    _store(data, layers, keys)


def _act(row_key: int, action: str) -> None:
    data, layers, keys = _layers()
    at = keys.index(row_key)
    selected = row_key
    if action == "remove":
        del layers[at], keys[at]
        # The row that takes its place (or the one before, when the last row goes) is selected next.
        selected = keys[min(at, len(keys) - 1)] if keys else None
    elif action == "duplicate" and len(layers) < MAX_LAYERS:
        layers.insert(at + 1, dict(layers[at]))
        keys.insert(at + 1, my_design.new_row_key())
        selected = keys[at + 1]
    elif action in ("up", "down"):
        to = at - 1 if action == "up" else at + 1
        if 0 <= to < len(layers):
            layers[at], layers[to] = layers[to], layers[at]
            keys[at], keys[to] = keys[to], keys[at]
    _store(data, layers, keys, selected)


def _add(after: int | None) -> None:
    """A new row after the selected one (at the end when none is), and it becomes the selection."""
    data, layers, keys = _layers()
    if len(layers) < MAX_LAYERS:
        at = keys.index(after) + 1 if after in keys else len(keys)
        layers.insert(at, starting_layer(st.session_state[NEW_TYPE]))
        keys.insert(at, my_design.new_row_key())
        _store(data, layers, keys, keys[at])


def _number_input(column, row_key: int, kind: str, setting: str, value, disabled: bool) -> None:
    key = setting_key(row_key, kind, setting)
    if st.session_state.get(key) != value:
        st.session_state[key] = value  # the design is the truth (a teacher's edit, an undo by moving rows)
    common = {"key": key, "disabled": disabled, "on_change": _change_setting, "args": (row_key, setting)}
    if setting == "p":
        column.number_input("p", 0.0, 0.99, step=0.05, **common)
    else:
        low, high = _RANGE[setting]
        column.number_input(SETTING_NAMES[setting], low, high, step=1, **common)


def draw_editor(index: int | None, row_key: int | None, layer: dict | None, count: int, disabled: bool) -> None:
    """The selected row's type, settings and buttons (nothing without rows), then the add control."""
    if layer is not None:
        kind = layer["type"]
        with st.container(border=True, key="bn_editor"):
            columns = st.columns([2.2, *([1.0] * _MOST_SETTINGS)], vertical_alignment="bottom")
            type_key = f"bn_{row_key}_type"
            if st.session_state.get(type_key) != kind:
                st.session_state[type_key] = kind
            columns[0].selectbox(f"Row {index + 1}: layer", LAYER_TYPES, key=type_key, format_func=TYPE_NAMES.get,
                                 disabled=disabled, on_change=_change_type, args=(row_key,))
            for column, setting in zip(columns[1:], SETTINGS[kind]):
                _number_input(column, row_key, kind, setting, layer[setting], disabled)
            off = {"up": index == 0, "down": index == count - 1, "duplicate": count >= MAX_LAYERS, "remove": False}
            for column, (action, icon, label) in zip(st.columns(4), ACTIONS):
                column.button(label, icon=icon, key=f"bn_{row_key}_{action}", disabled=disabled or off[action],
                              on_click=_act, args=(row_key, action), width="stretch")
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    left.selectbox("Layer to add", LAYER_TYPES, key=NEW_TYPE, format_func=TYPE_NAMES.get, disabled=disabled,
                   help="The new layer goes after the selected row and becomes the selected row.")
    right.button("Add layer", icon=":material/add:", on_click=_add, args=(row_key,),
                 disabled=disabled or count >= MAX_LAYERS, width="stretch")
