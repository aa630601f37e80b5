"""Build a network: the whole design as one read-only table (a row per layer), the selected row, and its sentences.

The table is a plain ``st.dataframe`` (readable by screen readers, no HTML): each layer's
kind and settings in words, its output shape, parameters with their arithmetic, multiply-adds,
receptive field, and a note when a sentence names it. Selecting a row (in the table, or with
the "Row to edit" box, which keyboards and screen readers reach more easily) puts that one
row in the editor (``ui.panels.design_editor``). The selection is kept as the row's own
number, so it follows the row when rows move, and both controls are set from it on every run.
The numbers come from ``explorer.analysis.design_rows.analyse``: shapes only, no forward pass.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from explorer.analysis.design_rows import Analysis, Row, shape_text
from explorer.models.design import POOL_STRIDE, REQUIRED, SETTINGS
from ui.panels.design_editor import SELECTED, SETTING_NAMES, TYPE_NAMES, draw_editor
from ui.selection import my_design

TABLE, PICK = "bn_table", "bn_pick"
_AT = "bn_selected_at"  # where the selection was, for when its row is gone (a design that arrived whole)
DOES_NOT_FIT = "does not fit"
COLUMNS = {"#": st.column_config.NumberColumn("#", width="small"),
           "Layer": st.column_config.TextColumn("Layer", width="medium"),
           "Output": st.column_config.TextColumn("Output"),
           "Parameters": st.column_config.NumberColumn("Parameters", format="localized"),
           "Arithmetic": st.column_config.TextColumn("Arithmetic", width="medium",
                                                     help="How the parameters are counted"),
           "Multiply-adds": st.column_config.NumberColumn("Multiply-adds", format="localized"),
           "Sees": st.column_config.TextColumn("Sees", help="The receptive field: input pixels one output sees"),
           "Note": st.column_config.TextColumn("Note", width="large",
                                               help="The sentence that names this row, if any")}


def layer_words(layer: dict) -> str:
    """A layer's kind and the settings that matter, in words: "Convolution: out 6, kernel 5, stride 2"."""
    said = []
    for setting, default in SETTINGS[layer["type"]].items():
        value = layer[setting]
        usual = layer.get("kernel") if default == POOL_STRIDE else default
        if default is REQUIRED or value != usual:
            said.append(f"{SETTING_NAMES[setting].lower()} {value:g}" if setting == "p"
                        else f"{SETTING_NAMES[setting].lower()} {value}")
    name = TYPE_NAMES[layer["type"]]
    return f"{name}: {', '.join(said)}" if said else name


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


def row_sentences(analysis: Analysis, index: int) -> list[str]:
    """The problems and warnings that name row ``index`` (they start "Layer N (type)")."""
    named = f"Layer {index + 1} ("
    return [s for s in (*analysis.problems, *analysis.warnings) if s.startswith(named)]


def table(layers: list[dict], analysis: Analysis) -> pd.DataFrame:
    """One line per layer, as plain text and whole numbers."""
    lines = []
    for index, (layer, row) in enumerate(zip(layers, analysis.rows)):
        fits = row.output_shape is not None
        notes = row_sentences(analysis, index)
        lines.append({"#": index + 1, "Layer": layer_words(layer),
                      "Output": shape_text(row.output_shape) if fits else DOES_NOT_FIT,
                      "Parameters": row.params if fits else None, "Arithmetic": row.formula,
                      "Multiply-adds": row.mult_adds if fits else None,
                      "Sees": f"{row.field.size[0]}×{row.field.size[1]}" if row.field is not None else "",
                      "Note": " ".join(notes)})
    return pd.DataFrame(lines, columns=list(COLUMNS))


def _selected_index(keys: list[int]) -> int | None:
    """Where the selected row is now (the same row after a move; a neighbour when it is gone)."""
    if not keys:
        return None
    selected = st.session_state.get(SELECTED)
    index = keys.index(selected) if selected in keys else min(st.session_state.get(_AT, 0), len(keys) - 1)
    st.session_state[SELECTED], st.session_state[_AT] = keys[index], index
    return index


def _from_table() -> None:
    rows = st.session_state[TABLE].selection.rows
    if rows:
        st.session_state[SELECTED] = my_design.row_keys()[rows[0]]


def _from_pick() -> None:
    picked, keys = st.session_state[PICK], my_design.row_keys()
    if isinstance(picked, int) and 0 <= picked < len(keys):
        st.session_state[SELECTED] = keys[picked]


def _sync_controls(index: int) -> None:
    """Both the table's selection and the box show the selected row (set before they are drawn)."""
    state = st.session_state.get(TABLE)
    if state is None or list(state["selection"]["rows"]) != [index]:
        st.session_state[TABLE] = {"selection": {"rows": [index], "columns": [], "cells": []}}
    if st.session_state.get(PICK) != index:
        st.session_state[PICK] = index


def draw_rows(analysis: Analysis, disabled: bool) -> None:
    """The table, the selected row's numbers and sentences, its editor, and the sentences no row owns."""
    layers = st.session_state[my_design.DESIGN]["layers"]
    keys = my_design.row_keys()
    index = _selected_index(keys)
    if index is not None:
        _sync_controls(index)
        frame = table(layers, analysis)
        st.dataframe(frame, key=TABLE, on_select=_from_table, selection_mode="single-row-required",
                     hide_index=True, column_config=COLUMNS, width="stretch", placeholder="",
                     height=min(38 + 35 * len(layers), 500))
        # The options' words stay the same while a row is edited: the browser sends the chosen option's words back.
        st.selectbox("Row to edit", range(len(keys)), key=PICK, on_change=_from_pick,
                     format_func=lambda i: f"Row {i + 1}", help="Or select a row in the table.")
        st.caption(f"Row {index + 1} {numbers_line(analysis.rows[index])}")
    for problem in analysis.problems:  # few (the shapes stop at the first row that cannot work), and all matter
        st.error(problem)
    if index is not None:
        for warning in row_sentences(analysis, index):
            if warning in analysis.warnings:
                st.warning(warning)
    draw_editor(index, keys[index] if index is not None else None, layers[index] if index is not None else None,
                len(keys), disabled)
    elsewhere = [s for i in range(len(keys)) if i != index for s in row_sentences(analysis, i)
                 if s in analysis.warnings]
    if elsewhere:
        st.caption(f"{len(elsewhere)} more {'warning' if len(elsewhere) == 1 else 'warnings'} on other rows: "
                   "see the table's Note column, or select the row.")
    for warning in analysis.warnings:
        if not warning.startswith("Layer "):
            st.warning(warning)
