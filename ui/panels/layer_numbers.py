"""One layer's output in numbers on Feature maps: its exact statistics, and a 1-D output drawn as a chart.

The charts are cached per capture and layer (``ui.panels.feature_drawings``); each comes with its
numbers in words beneath it, for readers who cannot see it.
"""

from __future__ import annotations

import streamlit as st

from explorer.core.registry import ArchSpec
from explorer.figures import descriptions
from explorer.runs.capture_results import LayerOutput
from explorer.runs.predictions import top_classes
from ui.panels import feature_drawings as drawings
from ui.panels.feature_drawings import CaptureKey


def show_stats(layer: LayerOutput) -> None:
    stats = layer.stats
    cells = st.columns(5)
    cells[0].metric("Min", f"{stats.minimum:.4g}")
    cells[1].metric("Max", f"{stats.maximum:.4g}")
    cells[2].metric("Mean", f"{stats.mean:.4g}")
    cells[3].metric("Exact zeros", f"{stats.zero_share:.1%}", help="Share of all values in this output that are exactly 0.")
    if stats.dead_channels is not None:
        cells[4].metric("Dead channels", f"{stats.dead_channels} of {stats.channels}",
                        help="Channels that are 0 at every position for this picture.")


def show_vector(key: CaptureKey, spec: ArchSpec, layer: LayerOutput, is_final: bool, names: list[str]) -> None:
    show_stats(layer)
    st.plotly_chart(drawings.vector_chart(key=key, layer_index=layer.index, _layer=layer), width="stretch",
                    key="fm_vector")
    st.caption(descriptions.vector_text(layer.name, layer.vector))  # the chart's numbers, for every reader
    if is_final:
        shown = min(10, spec.num_classes)
        classes = tuple(top_classes(spec, layer.vector, shown, names))
        st.plotly_chart(drawings.probability_chart(
            key=key, layer_index=layer.index, classes=classes,
            title=f"Softmax of this layer: the {shown} most probable classes"), width="stretch", key="fm_softmax")
        st.caption(descriptions.top_classes_text(classes))
