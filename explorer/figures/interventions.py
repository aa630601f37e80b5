"""Pictures of an intervention: how much every layer after it changed, and one layer before and after."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explorer.figures.feature_maps import channel_grid
from explorer.runs.interventions import Intervention
from explorer.runs.capture_results import LayerOutput

UNTOUCHED, CHANGED = "#9aa5b1", "#d62728"


def _innermost(layers: tuple[LayerOutput, ...]) -> list[int]:
    """Calls with nothing inside them (a block's row would repeat its last layer's change)."""
    return [i for i, layer in enumerate(layers) if i + 1 == len(layers) or layers[i + 1].depth <= layer.depth]


def change_chart(result: Intervention) -> go.Figure:
    """‖changed − untouched‖ / ‖untouched‖ for every layer from the first change on, input side first."""
    layers = result.changed.layers
    touched = {layer for layer, _ in result.plan.ablations} | set(result.plan.bypasses)
    # A bypassed block's own layers still run as before (only its output is replaced): leave them out,
    # and show the block's own row instead.
    inside = tuple(block + "." for block in result.plan.bypasses)
    shown = [i for i in range(len(layers)) if i >= result.first_touched and result.changes[i] is not None
             and (layers[i].name in touched or (i in set(_innermost(layers)) and not layers[i].name.startswith(inside)))]
    figure = go.Figure(go.Bar(
        x=[layers[i].name for i in shown], y=[result.changes[i] for i in shown], marker_color=CHANGED,
        customdata=[layers[i].type for i in shown],
        hovertemplate="%{x} (%{customdata})<br>changed by %{y:.1%} of its size<extra></extra>",
    ))
    figure.update_layout(
        title="How much each later layer's output changed: ‖changed − untouched‖ / ‖untouched‖",
        yaxis_tickformat=".0%", xaxis_type="category", height=340, margin=dict(t=50, b=10),
        yaxis_title="relative change", xaxis_title="layer, input side first",
    )
    figure.update_xaxes(tickangle=-60, tickfont_size=9)
    return figure


def side_by_side(untouched: LayerOutput, changed: LayerOutput, count: int = 16,
                 colour_map: str = "Viridis") -> tuple[np.ndarray, np.ndarray]:
    """The first ``count`` channels of one layer, untouched and changed, on one shared brightness scale."""
    channels = untouched.ordered_channels("index", count)
    before, after = untouched.channel_maps(channels), changed.channel_maps(channels)
    scale = (float(min(before.min(), after.min())), float(max(before.max(), after.max())))
    return (channel_grid(before, colour_map, per_channel=False, layer_range=scale, width=480),
            channel_grid(after, colour_map, per_channel=False, layer_range=scale, width=480))
