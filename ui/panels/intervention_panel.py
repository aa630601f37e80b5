"""The "Where it looks" page's interventions: switch off channels, bypass residual blocks, compare with the untouched run.

A change runs only when the student presses the button (a form), once per picture,
network, weights and plan for the whole server (``ui.caches.result_store``). What a session
keeps is the plan itself: a layer name, channel numbers, block names.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from explorer.analysis.summary import LayerTable
from explorer.core.errors import UserError
from explorer.figures import feature_maps as feature_grid
from explorer.figures import interventions as pictures
from explorer.runs import interventions
from explorer.runs.layer_choice import split_call
from explorer.runs.predictions import softmax
from ui.caches.result_store import interventions_store
from ui.selection.view_state import labelled_selectbox
from ui.widgets.images import picture

NONE = "—"


def _switchable(table: LayerTable) -> list[str]:
    """Layers that run once and have channels (or units) to switch off."""
    calls = table.calls
    repeated = {split_call(n)[0] for n in calls["name"] if split_call(n)[1] > 1}
    return [name for name, dims in zip(calls["name"], calls["output_dims"]) if len(dims) >= 2 and name not in repeated]


def _plan_from_form(spec, table: LayerTable) -> interventions.Plan | None:
    calls = table.calls.set_index("name")
    blocks = list(table.calls.loc[table.calls["type"].isin(interventions.RESIDUAL_BLOCKS), "name"])
    with st.form("wl_intervene", border=True):
        layer_col, channels_col = st.columns([3, 2])
        layer = labelled_selectbox(layer_col, "Switch off channels of", [NONE, *_switchable(table)], key="wl_ablate_layer",
                                    format_func=lambda n: n if n == NONE else f"{n} · {calls.loc[n, 'output_shape']}")
        channels = channels_col.text_input("Channels (such as 0,3,8-15; empty: all)", key="wl_ablate_channels",
                                           max_chars=200)
        bypass = []
        if blocks:
            bypass = st.multiselect("Bypass residual blocks (only the shortcut goes on)", blocks, key="wl_bypass")
        else:
            st.caption(f"{spec.name} has no residual blocks, so there is no shortcut to take instead of a block.")
        pressed = st.form_submit_button("Run with these changes", type="primary")
    if not pressed:
        return None
    ablations = ()
    if layer != NONE:
        ablations = (interventions.parse_ablation(spec, table, f"{layer}:{channels}"),)
    return interventions.Plan(ablations, tuple(interventions.check_bypass(spec, table, b) for b in bypass))


def _top(logits, names: list[str], k: int = 5) -> pd.DataFrame:
    probabilities = softmax(logits)
    best = probabilities.argsort()[::-1][:k]
    return pd.DataFrame({"class": [names[i] for i in best], "probability": probabilities[best]})


def _table(frame: pd.DataFrame) -> None:
    st.dataframe(frame, hide_index=True, width="stretch", column_config={"probability": st.column_config.ProgressColumn(
        "Probability", min_value=0.0, max_value=1.0, format="percent")})


def _verdict(result: interventions.Intervention, names: list[str]) -> str:
    before, after = softmax(result.untouched.logits), softmax(result.changed.logits)
    was, now = int(before.argmax()), int(after.argmax())
    if was == now:
        return (f"The answer stays **{names[was]}**; its probability goes from {before[was]:.1%} to {after[was]:.1%}.")
    return (f"The answer changes from **{names[was]}** ({before[was]:.1%}) to **{names[now]}** ({after[now]:.1%}); "
            f"{names[was]} now gets {after[was]:.1%}.")


def show(selection, model, prepared, table: LayerTable, names: list[str], digest: str) -> None:
    spec, size = selection.spec, selection.size
    st.header("What if a channel or a shortcut were not there?")
    st.caption("Switched-off channels become zero, as if those filters had never learnt anything; a bypassed block "
               "passes on only its shortcut. The same picture runs with and without the change, side by side.")
    try:
        plan = _plan_from_form(spec, table)
    except UserError as error:
        st.error(str(error))
        return
    if plan is not None:
        st.session_state["wl_plan"] = (spec.id, size.height, size.width, plan)
    kept = st.session_state.get("wl_plan")
    if not kept or kept[:3] != (spec.id, size.height, size.width) or not kept[3]:
        st.info("Choose channels to switch off or blocks to bypass, then press “Run with these changes”.")
        return
    plan = kept[3]
    key = (spec.id, size.height, size.width, selection.device, selection.weights_key, digest, plan)
    try:
        with st.spinner("Running the picture with and without the changes…"):
            result = interventions_store().get_or_make(key, lambda: interventions.intervene(
                spec, model, prepared.tensor, plan))
    except UserError as error:  # in a fragment's own rerun the app's catch-all does not reach here
        st.error(str(error))
        return
    st.markdown("**Changes:** " + "; ".join(plan.describe()) + ". " + _verdict(result, names))
    untouched_col, changed_col = st.columns(2)
    with untouched_col:
        st.markdown("**Untouched**")
        _table(_top(result.untouched.logits, names))
    with changed_col:
        st.markdown("**With the changes**")
        _table(_top(result.changed.logits, names))
    st.plotly_chart(pictures.change_chart(result), width="stretch", key="wl_changes")
    later = [layer for layer in feature_grid.stage_layers(result.changed) if layer.index >= result.first_touched]
    if not later:
        return
    if st.session_state.get("wl_later") not in [layer.name for layer in later]:
        st.session_state.pop("wl_later", None)
    chosen = st.selectbox("A later layer, untouched and changed", [layer.name for layer in later], key="wl_later",
                          index=len(later) - 1)
    index = next(layer.index for layer in later if layer.name == chosen)
    before, after = pictures.side_by_side(result.untouched.layers[index], result.changed.layers[index])
    left, right = st.columns(2)
    shown = min(16, result.untouched.layers[index].shape[1])  # side_by_side's count
    picture(before, f"The first {shown} channels of {chosen} without the changes, in a grid.", place=left,
            caption=f"{chosen}, untouched: its first channels")
    picture(after, f"The same {shown} channels of {chosen} with the changes, on the same brightness scale.",
            place=right, caption=f"{chosen}, with the changes: the same channels, on the same brightness scale")
