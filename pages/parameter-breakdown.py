"""Parameters: where the chosen network keeps its parameters, with each layer's count as arithmetic.

The per-layer chart's linear/log switch is a fragment: it reruns that chart alone, drawn once per
network and scale for the whole server.
"""

import streamlit as st

from explorer.analysis.parameter_counts import NORM, RULES, by_kind, hierarchy, parameter_layers
from explorer.figures import descriptions
from explorer.figures import parameter_charts as charts
from ui.frame import keep_in_frame
from ui.selection.sidebar import current_selection
from ui.widgets.text import plain

keep_in_frame()  # Streamlit's first-link lookup may run this file alone: the frame then draws it (ui/frame.py)


@st.cache_data(max_entries=32, show_spinner="Counting the network's parameters…")
def cached_parameter_layers(arch_id: str):
    return parameter_layers(arch_id)


@st.cache_resource(max_entries=32, show_spinner=False)
def cached_layer_bar_chart(arch_id: str, log_scale: bool):
    return charts.layer_bar_chart(cached_parameter_layers(arch_id), log_scale=log_scale)


spec = current_selection().spec


def show(fig, name: str) -> None:
    st.plotly_chart(fig, width="stretch", config=charts.png_export_config(f"{spec.id}_{name}"))


layers = cached_parameter_layers(spec.id)
kinds = by_kind(layers)
total = int(layers["params"].sum())

st.title(f"Parameters · {spec.name}")
st.caption(
    "Counted on the model itself with PyTorch's `parameters()`. Parameters do not depend on the input size, "
    "so the sidebar's size changes nothing here."
)

# A link from the diagram (?layer=layer3.0.downsample) shows that layer's arithmetic first.
linked = st.query_params.get("layer")
if linked:
    inside = layers[(layers["name"] == linked) | layers["name"].str.startswith(linked + ".")]
    if inside.empty:
        st.info(plain(f"No layer with parameters is called {linked[:60]!r} or sits inside it."))
    else:
        with st.container(border=True):
            st.markdown(f"**{linked}**: {int(inside['params'].sum()):,} parameters"
                        + (f" in {len(inside)} layers" if len(inside) > 1 else ""))
            st.dataframe(inside[["name", "type", "formula", "params"]], hide_index=True, width="stretch",
                         column_config={"name": "Layer", "type": "Type", "formula": "Arithmetic",
                                        "params": st.column_config.NumberColumn("Parameters", format="localized")})

present = kinds[kinds["params"] > 0]  # five columns would cut VGG's nine-digit counts short
columns = st.columns(len(present) + 1)
columns[0].metric("All parameters", f"{total:,}")
for column, row in zip(columns[1:], present.itertuples()):
    column.metric(charts.KIND_LABELS[row.kind], f"{row.params:,}", help=f"{row.share:.2%} of the network, in {row.layers} layers")

largest = kinds.loc[kinds["params"].idxmax()]
st.markdown(
    f"**{largest['share']:.1%}** of {spec.name}'s {total:,} parameters sit in its "
    f"**{charts.KIND_LABELS[largest['kind']].lower()}** layers."
)

left, right = st.columns(2)
with left:
    show(charts.kind_share_chart(kinds), "by_kind")
with right:
    show(charts.weight_bias_chart(kinds), "weights_biases")
    st.caption(descriptions.weights_text(kinds, spec.name))



@st.fragment
def per_layer_chart(arch_id: str) -> None:
    log_scale = st.radio(
        "Scale of the per-layer chart",
        ["Linear", "Log"],
        horizontal=True,
        key="pp_scale",
        help="A log scale shows the small layers next to the giant ones; a linear scale shows honestly how lopsided it is.",
    ) == "Log"
    show(cached_layer_bar_chart(arch_id, log_scale), "per_layer")


per_layer_chart(spec.id)
st.caption(descriptions.largest_layer_text(layers, spec.name))

show(charts.hierarchy_chart(hierarchy(layers)), "hierarchy")
st.caption(
    descriptions.stages_text(layers, spec.name) + " Grey boxes are stages and blocks of the network (its dotted module names); coloured boxes are layers, "
    "coloured by kind. Click a box to zoom in, click the bar at the top to zoom back out."
)

never_ran = layers[~layers["ran"]]
if len(never_ran):
    stages = ", ".join(sorted(set(never_ran["stage"])))
    st.info(
        f"{len(never_ran)} layers ({stages}, {int(never_ran['params'].sum()):,} parameters) run only in training "
        "mode, so they are missing from an eval-mode layer table; they are part of the model and counted here."
    )

st.header("The arithmetic, layer by layer")
st.markdown("\n".join(f"- **{charts.KIND_LABELS[kind]}**: {RULES[kind]}." for kind in present["kind"]))
if NORM not in set(present["kind"]):
    st.caption(f"{spec.name} has no normalisation layers.")
st.dataframe(
    layers[["name", "type", "kind", "formula", "params"]].assign(share=layers["share"] * 100),
    hide_index=True,
    width="stretch",
    column_config={
        "name": st.column_config.TextColumn("Layer", help="Dotted path as in model.named_modules(), in execution order"),
        "type": "Type",
        "kind": "Kind",
        "formula": st.column_config.TextColumn("Arithmetic", width="large"),
        "params": st.column_config.NumberColumn("Parameters (PyTorch)", format="localized"),
        "share": st.column_config.ProgressColumn("Share (%)", min_value=0.0, max_value=100.0, format="%.3f"),
    },
)
st.download_button(
    "Download this table as CSV",
    layers.drop(columns=["bytes"]).to_csv(index=False).encode(),
    file_name=f"{spec.id}_parameters.csv",
    mime="text/csv",
)
