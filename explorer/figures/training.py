"""Plotly figures for the training step: pure functions from a ``StepResult`` (or the loss history) to a figure."""

from __future__ import annotations

import copy
import functools
import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explorer.figures.feature_maps import SIGNED_MAP, UNCHECKED, plotly_scale
from explorer.runs.step_result import StepResult

BEFORE, AFTER = "#9aa5b1", "#1f77b4"
FILTERS_SHOWN = 8
LOSS_FLOOR = 1e-7  # where a loss of 0 is drawn on a log axis


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


FILTER_ROWS = ("before", "after", "change (after − before)")


@functools.cache
def _filter_grid_layout(count: int) -> dict:
    """The layout of a 3 × ``count`` grid of small maps, axes hidden, with row and column titles: plotly's
    ``make_subplots`` builds it in about 35 ms, so it is built once per count and copied."""
    figure = make_subplots(rows=3, cols=count, horizontal_spacing=0.01, vertical_spacing=0.06,
                           row_titles=list(FILTER_ROWS), column_titles=[f"#{i}" for i in range(count)])
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    return figure.layout.to_plotly_json()


def filter_chart(result: StepResult) -> go.Figure:
    """The first convolution's first filters (averaged over input channels): before, after, and the change.

    Built from the cached grid layout and unchecked traces placed on its axes by name (``x``, ``x2``, … row by
    row, as ``make_subplots`` numbers them): 6 ms instead of 87 ms for adding 24 checked heatmaps to a new
    subplot grid, with the same JSON (tests/test_training.py builds it the slow way and compares).
    """
    before, after, change = (a[:FILTERS_SHOWN].mean(axis=1) for a in
                             (result.filters_before, result.filters_after, result.filters_change))
    count = len(before)
    weight_limit = float(max(np.abs(before).max(), np.abs(after).max())) or 1.0
    change_limit = float(np.abs(change).max()) or 1.0
    signed = plotly_scale(SIGNED_MAP)  # one map for weights and their change: the row titles tell them apart
    traces = []
    for row, (name, stack) in enumerate(zip(FILTER_ROWS, (before, after, change))):
        limit = change_limit if row == 2 else weight_limit
        for col in range(count):
            axis = row * count + col + 1
            suffix = "" if axis == 1 else str(axis)
            traces.append(go.Heatmap(
                z=stack[col][::-1], zmin=-limit, zmax=limit, colorscale=signed, showscale=col == count - 1,
                colorbar=dict(len=0.3, y=[0.85, 0.5, 0.15][row], thickness=10),
                hovertemplate=f"{name}, filter {col}<br>%{{z:.4g}}<extra></extra>",
                xaxis=f"x{suffix}", yaxis=f"y{suffix}", **UNCHECKED,
            ))
    layout = copy.deepcopy(_filter_grid_layout(count))
    layout.update(height=440, margin=dict(t=80, b=10, l=10, r=60),
                  title=dict(text=f"First convolution ({result.first_conv}): filters averaged over input channels"))
    return go.Figure(traces, layout=layout, **UNCHECKED)


def loss_curve(steps: list[int], losses: list[float], first_loss: float | None) -> go.Figure:
    """Loss after every step so far (step 0 is the starting loss)."""
    x = ([0] if first_loss is not None else []) + list(steps)
    y = ([first_loss] if first_loss is not None else []) + list(losses)
    figure = go.Figure(go.Scatter(x=x, y=y, mode="lines+markers", marker_color=AFTER))
    figure.update_layout(title="Loss on this picture after each step", xaxis_title="step", yaxis_title="cross-entropy loss",
                         height=320, margin=dict(t=50, b=10))
    figure.update_xaxes(tick0=0, dtick=max(1, math.ceil(len(x) / 10)), rangemode="tozero")
    return figure


def held_out_chart(picture_before: float, picture_after: float, held_before, held_after, what: str) -> go.Figure:
    """This picture's loss beside the held-out pictures' loss and accuracy, before and after the step(s).

    ``held_before``/``held_after`` are ``explorer.runs.held_out.Score``s. The loss axis is
    logarithmic (a giant step takes the held-out loss from 0.02 to 10¹¹); a loss of 0
    cannot sit on it, so its bar is drawn at the floor and labelled with the true value.
    """
    figure = make_subplots(rows=1, cols=2, column_widths=[0.62, 0.38], horizontal_spacing=0.12,
                           subplot_titles=("Loss (log scale): this picture and the held-out ones",
                                           "Held-out accuracy"))
    groups = ["this picture", "held-out pictures"]
    for name, colour, losses, accuracy in (
        ("before", BEFORE, (picture_before, held_before.loss), held_before.accuracy),
        ("after", AFTER, (picture_after, held_after.loss), held_after.accuracy),
    ):
        shown = [max(value, LOSS_FLOOR) for value in losses]
        figure.add_trace(go.Bar(name=name, x=groups, y=shown, marker_color=colour, text=[f"{v:.3g}" for v in losses],
                                textposition="outside", legendgroup=name), row=1, col=1)
        figure.add_trace(go.Bar(name=name, x=["held-out pictures"], y=[accuracy], marker_color=colour,
                                text=[f"{accuracy:.0%}"], textposition="outside", legendgroup=name, showlegend=False),
                         row=1, col=2)
    figure.update_yaxes(type="log", title_text="cross-entropy loss", exponentformat="power", row=1, col=1)
    figure.update_yaxes(range=[0, 1.15], tickformat=".0%", row=1, col=2)
    figure.update_layout(barmode="group", height=380, margin=dict(t=90, b=10),
                         title=f"Before and after, on {what}",
                         legend=dict(orientation="h", y=1.12, yanchor="bottom", x=1, xanchor="right"))
    return figure
