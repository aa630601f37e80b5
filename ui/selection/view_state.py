"""What each page is showing, in named session keys: the values a class copies when it follows its teacher.

Each key below is the widget key (or state key) its page reads and writes in one
place, named in the comment. Setting one of them in ``st.session_state`` before the
page runs (a value the page offers) makes the page show it, as if the student had
chosen it; a value the page does not offer is dropped and the page's default shown
(a slider's value out of its range Streamlit itself moves into the range first).

| page | key | what it holds | read and written in |
|---|---|---|---|
| Feature maps | ``fm_layer`` | the selected layer's dotted name (``layer2.0.conv1``, ``relu (call 2)``) | ``feature_maps.pick_layer`` |
| Feature maps | ``fm_channel`` | the enlarged channel's number (an ``int`` among those shown) | ``feature_maps.pick_channel`` |
| Architecture diagram | ``dg_node`` | the selected node's dotted name | ``diagram.selected_node`` |
| Layer table | ``lt_depth`` | the fold depth (an ``int`` from 1) | ``layers.fold_depth`` |
| Convolution by hand | ``conv_step`` | how many windows of the convolution are done (0 = none yet) | ``convolution.step_buttons`` |
| Convolution by hand | ``conv_pool_step`` | how many windows of the pooling are done | ``convolution.step_buttons`` |
"""

from __future__ import annotations

import streamlit as st

FEATURE_LAYER = "fm_layer"
FEATURE_CHANNEL = "fm_channel"
DIAGRAM_NODE = "dg_node"
TABLE_DEPTH = "lt_depth"
CONVOLUTION_STEP = "conv_step"
POOLING_STEP = "conv_pool_step"

FOLLOWED = (FEATURE_LAYER, FEATURE_CHANNEL, DIAGRAM_NODE, TABLE_DEPTH, CONVOLUTION_STEP, POOLING_STEP)


def default_unless_chosen(key: str, options, default, argument: str = "index") -> dict:
    """Widget keyword arguments: the default where the session's value for ``key`` is not among ``options``.

    A widget's session value is never written from the script body once it has a value
    (the browser would keep showing its own while the server uses the written one); an
    invalid one is dropped instead, and the widget starts again from its declared default.
    ``argument`` is how the widget takes its default: ``"index"`` into ``options``, or ``"value"``.
    """
    if key in st.session_state and st.session_state[key] in options:
        return {}
    st.session_state.pop(key, None)
    return {"index": list(options).index(default)} if argument == "index" else {"value": default}


def labelled_selectbox(where, label: str, options, *, key: str, format_func, **kwargs):
    """``where.selectbox(...)`` whose chosen option is shown by its label of this run.

    The browser holds a selectbox's choice as its label, and Streamlit sends the choice again only
    when the value changes: a layer whose shape changed with the input size (``layer2 · 128×28×28``
    becoming ``128×9×9``) would keep its old label on screen. Writing the same value again before
    the widget is drawn makes Streamlit send it, newly labelled.
    """
    seen_key = f"{key}__shown"  # (value, label) as the last run drew them
    value, seen = st.session_state.get(key), st.session_state.get(seen_key)
    if seen is not None and value == seen[0] and value in options and str(format_func(value)) != seen[1]:
        st.session_state[key] = value  # the same choice, a new label (a choice the user made is sent anyway)
    chosen = where.selectbox(label, options, key=key, format_func=format_func, **kwargs)
    st.session_state[seen_key] = None if chosen is None else (chosen, str(format_func(chosen)))
    return chosen
