"""Layer table: every layer of the chosen network with its output shape, parameters and cost.

The fold depth and the tables it folds are a fragment: moving the slider reruns only
that part, from the cached layer table. The depth lives in ``lt_depth`` (ui.selection.view_state).
"""

import pandas as pd
import streamlit as st

from explorer.analysis.memory_estimate import memory_warning
from explorer.core.memory import format_bytes
from explorer.core.sizes import size_problem
from ui.caches.networks import cached_layer_table, cached_model_text, stop_if
from ui.classroom import follow
from ui.frame import keep_in_frame
from ui.selection.sidebar import current_selection
from ui.selection.view_state import TABLE_DEPTH, default_unless_chosen
from ui.widgets.text import plain

keep_in_frame()  # Streamlit's first-link lookup may run this file alone: the frame then draws it (ui/frame.py)

selection = current_selection()
spec, size = selection.spec, selection.size

st.title(f"Layer table · {spec.name}")
st.caption(
    f"Input {size.batch}×{spec.in_channels}×{size.height}×{size.width} (batch × channels × height × width). "
    "Every number below is read off the model by torchinfo, not typed in."
)

stop_if(size_problem(spec, size))

table = cached_layer_table(spec.id, size.height, size.width, size.batch)
totals = table.totals

warning = memory_warning(spec, size, totals)
if warning:
    st.warning(warning)

params_col, trainable_col, macs_col, memory_col = st.columns(4)
params_col.metric("Parameters", f"{totals.total_params:,}")
trainable_col.metric("Trainable parameters", f"{totals.trainable_params:,}")
macs_col.metric(
    "Multiply-adds",
    f"{totals.total_mult_adds / 1e9:,.3f} G" if totals.total_mult_adds >= 1e7 else f"{totals.total_mult_adds:,}",
    help=f"{totals.total_mult_adds:,} multiply-adds for the whole batch, counting each weight and bias once per output position.",
)
memory_col.metric(
    "Estimated memory",
    format_bytes(totals.estimated_bytes),
    help=(
        f"Input {format_bytes(totals.input_bytes)} + outputs kept for a backward pass "
        f"{format_bytes(totals.forward_backward_bytes)} + parameters {format_bytes(totals.param_bytes)} "
        "(float32, torchinfo's estimate)."
    ),
)

TABLE_CONFIG = {
    "name": st.column_config.TextColumn("Layer", help="Dotted path as in model.named_modules()"),
    "type": "Type",
    "depth": st.column_config.NumberColumn("Depth", format="%d"),
    "output_shape": "Output shape",
    "kernel_size": "Kernel",
    "params": st.column_config.NumberColumn("Parameters", format="localized"),
    "param_share": st.column_config.ProgressColumn(
        "Share of parameters", min_value=0.0, max_value=1.0, format="percent"
    ),
    "mult_adds": st.column_config.NumberColumn("Multiply-adds", format="localized"),
    "trainable": "Trainable",
    "receptive_field": st.column_config.TextColumn(
        "Receptive field", help="Rows × columns of input pixels that one unit of this output sees "
        "(Araujo et al., 2019; where branches meet, the larger). It may be larger than the input: the rest is padding."),
    "rf_stride": st.column_config.TextColumn(
        "Effective stride", help="Input pixels between two neighbouring units of this output; — once positions are gone."),
    "rf_start": st.column_config.TextColumn(
        "Start", help="Input row (and column) where the first unit's field begins; negative: it starts in the padding."),
}


def fold_depth(table, linked: str | None, linked_depth: int) -> int:
    """The fold depth (``lt_depth``): the user's while the network has it; a link opens its layer's depth once."""
    if linked_depth and st.session_state.get("lt_linked") != linked:
        st.session_state["lt_linked"] = linked
        st.session_state.pop(TABLE_DEPTH, None)
    deepest = max(table.max_depth, 2)
    with follow.followed("lt.depth", TABLE_DEPTH, options=range(1, deepest + 1)) as following:
        return st.slider(
            "Fold to depth",
            min_value=1,
            max_value=deepest,
            key=TABLE_DEPTH,
            disabled=table.max_depth == 1 or following,
            help="1 shows the network's stages; each step down opens blocks into the layers inside them. "
            "A block's row carries the parameters and multiply-adds of everything inside it.",
            **default_unless_chosen(TABLE_DEPTH, range(1, deepest + 1), max(min(2, table.max_depth), linked_depth),
                                    "value"),
        )


@st.cache_data(max_entries=128, show_spinner=False)
def folded_rows(arch_id: str, height: int, width: int, batch: int, depth: int) -> tuple[pd.Series, pd.DataFrame, bytes]:
    """The table folded to ``depth``: its layers' own names, the rows as shown, and their CSV.

    Worked out once per server (a class of thirty following one teacher shows the same table),
    where each run folding it again was a few milliseconds per student.
    """
    table = cached_layer_table(arch_id, height, width, batch)
    rows = table.fold(depth)
    # A person reads an opened block's row as the block's total, like a folder's size;
    # the rows inside it follow, marked by the ▾ on the block.
    shown = rows.assign(
        name=rows["name"].where(~rows["expanded"], "▾ " + rows["name"]),
        params=rows["block_params"],
        mult_adds=rows["block_mult_adds"],
        param_share=rows["block_params"] / max(table.totals.total_params, 1),
    ).drop(columns=["expanded", "block_params", "block_mult_adds"])
    return rows["name"], shown, shown.to_csv(index=False).encode()


@follow.fragment
def folded_table(arch_id: str, height: int, width: int, batch: int, linked: str | None, linked_depth: int) -> None:
    """The slider and the tables it folds; moving it reruns this alone."""
    depth = fold_depth(cached_layer_table(arch_id, height, width, batch), linked, linked_depth)
    names, shown, csv = folded_rows(arch_id, height, width, batch, depth)
    if linked_depth and (names == linked).any():
        st.markdown(f"**{linked}**, the layer the link points to (it is also in the table below):")
        st.dataframe(shown[names == linked], hide_index=True, width="stretch", column_config=TABLE_CONFIG)
    st.dataframe(shown, hide_index=True, width="stretch", column_config=TABLE_CONFIG)
    if spec.note:
        st.caption(spec.note)
    st.download_button(
        "Download this table as CSV",
        csv,
        file_name=f"{arch_id}_{height}x{width}_depth{depth}.csv",
        mime="text/csv",
    )


# A link from the diagram (?layer=layer3.0.downsample) opens the table down to that layer's depth.
linked = st.query_params.get("layer")
linked_rows = table.calls[table.calls["name"] == linked]
linked_depth = int(linked_rows["depth"].iloc[0]) if len(linked_rows) else 0
if linked and not len(linked_rows):
    st.warning(plain(f"{spec.name} has no layer called {linked[:60]!r}, so the whole table is shown."))
folded_table(spec.id, size.height, size.width, size.batch, linked, linked_depth)

printed, sources = cached_model_text(spec.id)
with st.expander("The model as PyTorch prints it"):
    st.code(printed, language="text")
with st.expander("Source code of this architecture"):
    for title, code in sources:
        st.markdown(f"`{title}`")
        st.code(code, language="python")
