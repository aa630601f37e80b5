"""Plotly figures for the training step: pure functions from a ``StepResult`` (or the loss history) to a figure."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explorer.runs.step_result import StepResult

BEFORE, AFTER = "#9aa5b1", "#1f77b4"
FILTERS_SHOWN = 8


def probability_chart(result: StepResult, class_names: list[str], k: int = 5) -> go.Figure:
    """Before and after, side by side, for the top classes of either pass and the target."""
    chosen = result.top_classes(k)
    labels = [class_names[i] + (" (target)" if i == result.target else "") for i in chosen]
    figure = go.Figure([
        go.Bar(name="before the step", x=labels, y=result.probs_before[chosen], marker_color=BEFORE),
        go.Bar(name="after the step", x=labels, y=result.probs_after[chosen], marker_color=AFTER),
    ])
    figure.update_layout(
        barmode="group", xaxis_type="category", title="Predicted probabilities: the top classes and the target", yaxis_tickformat=".0%",
        yaxis_title="probability", height=380, margin=dict(t=80, b=10), legend=dict(orientation="h", y=1.02, yanchor="bottom", x=1, xanchor="right"),
    )
    return figure


def _layer_bars(result: StepResult, values: np.ndarray, title: str, axis: str) -> go.Figure:
    # Zeros cannot be drawn on a log axis; they are left out of the bars and named in the hover text instead.
    shown = np.where(values > 0, values, np.nan)
    figure = go.Figure(go.Bar(
        x=list(result.layers), y=shown, customdata=list(result.layer_types),
        hovertemplate="%{x} (%{customdata})<br>%{y:.3g}<extra></extra>", marker_color=AFTER,
    ))
    figure.update_layout(
        title=title, yaxis_type="log", xaxis_type="category", yaxis_title=axis, xaxis_title="layer, input side first",
        height=360, margin=dict(t=50, b=10),
    )
    figure.update_xaxes(tickangle=-60, tickfont_size=9)
    return figure


def gradient_chart(result: StepResult) -> go.Figure:
    return _layer_bars(result, result.grad_norms, "Gradient norm per layer, ‖∂loss/∂w‖ (log scale)", "gradient norm")


def update_chart(result: StepResult) -> go.Figure:
    return _layer_bars(result, result.update_ratios, "Size of the update relative to the weights, ‖Δw‖/‖w‖ (log scale)",
                       "‖Δw‖ / ‖w‖")


def filter_chart(result: StepResult) -> go.Figure:
    """The first convolution's first filters (averaged over input channels): before, after, and the change."""
    before, after, change = (a[:FILTERS_SHOWN].mean(axis=1) for a in
                             (result.filters_before, result.filters_after, result.filters_change))
    count = len(before)
    rows = (("before", before), ("after", after), ("change (after − before)", change))
    figure = make_subplots(rows=3, cols=count, horizontal_spacing=0.01, vertical_spacing=0.06,
                           row_titles=[name for name, _ in rows], column_titles=[f"#{i}" for i in range(count)])
    weight_limit = float(max(np.abs(before).max(), np.abs(after).max())) or 1.0
    change_limit = float(np.abs(change).max()) or 1.0
    for row, (name, stack) in enumerate(rows, start=1):
        limit, colours = (change_limit, "PuOr") if row == 3 else (weight_limit, "RdBu")
        for col in range(count):
            figure.add_trace(go.Heatmap(
                z=stack[col][::-1], zmin=-limit, zmax=limit, colorscale=colours, showscale=col == count - 1,
                colorbar=dict(len=0.3, y=[0.85, 0.5, 0.15][row - 1], thickness=10),
                hovertemplate=f"{name}, filter {col}<br>%{{z:.4g}}<extra></extra>",
            ), row=row, col=col + 1)
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    figure.update_layout(height=440, margin=dict(t=80, b=10, l=10, r=60),
                         title=f"First convolution ({result.first_conv}): filters averaged over input channels")
    return figure


def loss_curve(steps: list[int], losses: list[float], first_loss: float | None) -> go.Figure:
    """Loss after every step so far (step 0 is the starting loss)."""
    x = ([0] if first_loss is not None else []) + list(steps)
    y = ([first_loss] if first_loss is not None else []) + list(losses)
    figure = go.Figure(go.Scatter(x=x, y=y, mode="lines+markers", marker_color=AFTER))
    figure.update_layout(title="Loss on this picture after each step", xaxis_title="step", yaxis_title="cross-entropy loss",
                         height=320, margin=dict(t=50, b=10))
    figure.update_xaxes(tick0=0, dtick=max(1, math.ceil(len(x) / 10)), rangemode="tozero")
    return figure
