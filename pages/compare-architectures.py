"""Compare: every architecture side by side, and two of them split by kind of layer on one scale."""

import pandas as pd
import streamlit as st

from explorer.analysis.compare import compare_architectures
from explorer.core.registry import ARCH_IDS, get_spec
from explorer.figures import parameter_charts as charts
from ui.frame import keep_in_frame
from ui.selection.sidebar import current_selection

keep_in_frame()  # Streamlit's first-link lookup may run this file alone: the frame then draws it (ui/frame.py)


@st.cache_data(max_entries=1, show_spinner=f"Tracing all {len(ARCH_IDS)} networks once (a few seconds)…")
def cached_comparison():
    return compare_architectures()


def show(fig, name: str) -> None:
    st.plotly_chart(fig, width="stretch", config=charts.png_export_config(f"compare_{name}"))


@st.cache_data(max_entries=64, show_spinner=False)
def cached_own_comparison(arch_id: str):
    """A student's design (``arch_id`` is a hash of the network) as one more row, beside the classics."""
    return compare_architectures((get_spec(arch_id),))


comparison = cached_comparison()
table, kinds = comparison.table, comparison.kinds
arch_ids = list(ARCH_IDS)
own = current_selection().spec
if own.id not in ARCH_IDS:  # "Your network", from the Build a network page
    own_rows = cached_own_comparison(own.id)
    table = pd.concat([table, own_rows.table], ignore_index=True)
    kinds = pd.concat([kinds, own_rows.kinds], ignore_index=True)
    arch_ids.append(own.id)

st.title("Compare architectures")
st.caption(
    "Parameters, multiply-adds and depth are read off each model (one image at its default input size); "
    "accuracy is torchvision's record for its original (V1) ImageNet weights. Click a column heading to sort."
)


def with_dashes(column, pattern: str):
    """Numbers as text, a dash where there is none: st.dataframe writes "None" in an empty number cell.

    Years have four digits and accuracies two before the point, so the text sorts as the numbers do.
    """
    return column.map(lambda value: "—" if pd.isna(value) else pattern.format(value))


shown = table.drop(columns=["id"]).assign(
    year=with_dashes(table["year"], "{:d}"),
    acc1=with_dashes(table["acc1"], "{:.3f}"),
    acc5=with_dashes(table["acc5"], "{:.3f}"),
)
st.dataframe(
    shown,
    hide_index=True,
    width="stretch",
    column_config={
        "name": "Architecture",
        "family": "Family",
        "year": st.column_config.TextColumn("Year", alignment="right"),
        "params": st.column_config.NumberColumn("Parameters", format="localized"),
        "mult_adds": st.column_config.NumberColumn(
            "Multiply-adds",
            format="localized",
            help="Multiply-adds for one image at the default input size, as torchinfo counts them: adding a bias "
            "counts as one. torchvision's own figures leave biases out, so for AlexNet and VGG, whose "
            "convolutions have biases, theirs are slightly lower.",
        ),
        "depth": st.column_config.NumberColumn(
            "Depth",
            help="Convolutions and fully-connected layers that run at inference. ResNets count their shortcut "
            "projection convolutions too, so ResNet-50 shows more than 50.",
        ),
        "acc1": st.column_config.TextColumn("ImageNet top-1 (%)", alignment="right"),
        "acc5": st.column_config.TextColumn("ImageNet top-5 (%)", alignment="right"),
        "param_mb": st.column_config.NumberColumn("Parameter memory (MB)", format="%.1f", help="As stored: float32, 4 bytes each"),
        "input_size": "Default input",
    },
)

unrated = table[table["acc1"].isna()]
show(charts.accuracy_scatter(table), "accuracy")
st.caption(f"Left out of this chart, since torchvision has no ImageNet weights for them: {', '.join(unrated['name'])}.")

show(charts.timeline_chart(table), "timeline")
undated = table[table["year"].isna()]
if len(undated):
    st.caption(f"The lab's own examples have no year and are left out: {', '.join(undated['name'])}.")

st.header("Two networks, one scale")
first_default = current_selection().spec.id
second_default = "vgg16" if first_default != "vgg16" else "resnet50"
picks = st.columns(2)
chosen = [
    column.selectbox(
        label,
        arch_ids,
        index=arch_ids.index(default),
        key=key,
        format_func=lambda arch_id: get_spec(arch_id).label,
    )
    for column, label, default, key in zip(
        picks, ("First", "Second"), (first_default, second_default), ("pc_first", "pc_second")
    )
]
largest_kind = int(kinds.loc[kinds["id"].isin(chosen), "params"].max())
for column, arch_id in zip(st.columns(2), chosen):
    with column:
        mine = kinds[kinds["id"] == arch_id]
        title = f"{get_spec(arch_id).name}: {int(mine['params'].sum()):,} parameters"
        show(charts.weight_bias_chart(mine, title=title, x_max=largest_kind, all_kinds=True), f"{arch_id}_by_kind")
st.caption("Both charts share one axis, so a bar twice as long holds twice as many parameters.")
