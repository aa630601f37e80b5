"""Plotly figures for a learning run: pure functions from a ``Progress`` snapshot to a figure."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explorer.figures.feature_maps import GAP_COLOUR, SIGNED_MAP, tiled, to_colours
from explorer.runs.progress import GOAL_ACCURACY, Progress

LOSS, ACCURACY, GOAL = "#1f77b4", "#2ca02c", "#9aa5b1"
REFERENCE, BASELINE = "#7f7f7f", "#d62728"
FILTERS_SHOWN = 8
SMOOTHING = 10  # batches in the running mean drawn over the noisy batch losses


def _x_range(progress: Progress) -> list[float]:
    return [0, max(progress.epochs_planned, progress.epochs_done, 1)]


# Both curves are redrawn every second while a run goes, for every student watching one: each
# is one go.Figure built in one call (plotly's add_hline and update_* helpers cost several times more).
def loss_curve(progress: Progress) -> go.Figure:
    """The training loss of every batch (faint) and its running mean over ``SMOOTHING`` batches."""
    traces = []
    if progress.train_points:
        x, y = (np.array(column) for column in zip(*progress.train_points))
        window = min(SMOOTHING, len(y))
        mean = np.convolve(y, np.ones(window) / window, mode="valid")
        traces = [
            go.Scatter(x=x, y=y, mode="lines", name="each batch", line=dict(color=LOSS, width=1), opacity=0.35,
                       hovertemplate="epoch %{x:.2f}<br>loss %{y:.3f}<extra></extra>"),
            go.Scatter(x=x[window - 1:], y=mean, mode="lines", name=f"mean of {window} batches",
                       line=dict(color=LOSS, width=2.5), hoverinfo="skip"),
        ]
    return go.Figure(traces, layout=dict(
        title="Training loss (cross-entropy on each mini-batch)", height=320, margin=dict(t=50, b=10),
        xaxis=dict(title="epochs", range=_x_range(progress)), yaxis=dict(title="loss", rangemode="tozero"),
        legend=dict(orientation="h", y=1.0, yanchor="bottom", x=1, xanchor="right"),
    ))


def accuracy_curve(progress: Progress, held_out_count: int, curves: dict[str, tuple] | None = None,
                   levels: dict[str, float] | None = None) -> go.Figure:
    """Held-out accuracy at every check, with the 90% line the page measures the time to.

    For comparison, ``curves`` (name → (epochs, accuracy) points: another network's run) are drawn
    in grey, and ``levels`` (name → accuracy: a baseline that does not learn in epochs) as flat lines.
    """
    x_range = _x_range(progress)
    traces = [go.Scatter(x=x_range, y=[GOAL_ACCURACY] * 2, mode="lines", line=dict(color=GOAL, dash="dot"),
                         hoverinfo="skip", name=f"{GOAL_ACCURACY:.0%}")]
    for name, points in (curves or {}).items():
        if points:
            x, y = zip(*points)
            traces.append(go.Scatter(x=x, y=y, mode="lines", name=name, line=dict(color=REFERENCE, width=1.5),
                                     hovertemplate=f"{name}<br>epoch %{{x:.2f}}<br>%{{y:.1%}}<extra></extra>"))
    for (name, level), dash in zip((levels or {}).items(), ("dash", "dashdot", "longdash")):
        traces.append(go.Scatter(x=x_range, y=[level] * 2, mode="lines", name=f"{name} {level:.1%}",
                                 line=dict(color=BASELINE, dash=dash), hovertemplate=f"{name}: {level:.1%}<extra></extra>"))
    if progress.held_out_points:
        x, y = zip(*progress.held_out_points)
        traces.append(go.Scatter(x=x, y=y, mode="lines+markers", name="held-out accuracy",
                                 line=dict(color=ACCURACY, width=2.5),
                                 hovertemplate="epoch %{x:.2f}<br>%{y:.1%}<extra></extra>"))
    return go.Figure(traces, layout=dict(
        title=f"Accuracy on the {held_out_count} held-out scans it never learns from", height=320,
        margin=dict(t=50, b=10), showlegend=bool(curves or levels), xaxis=dict(title="epochs", range=x_range),
        legend=dict(orientation="h", y=-0.25, yanchor="top", x=0),
        yaxis=dict(title="accuracy", range=[0, 1.02], tickformat=".0%"),
    ))


def filter_rows(progress: Progress, width: int = 640, gap: int = 3) -> np.ndarray | None:
    """The first convolution's first filters (averaged over input channels): the start of the run above, now below.

    One RGB image, not a plotly chart: it is redrawn every second while a run goes, and an
    image costs a few milliseconds where a grid of heatmaps costs a tenth of a second of the
    server's time. Red–blue, zero white; each row on its own scale (random filters are
    small, learnt ones often larger), so the change of pattern shows.
    """
    if progress.filters_start is None or progress.filters_now is None:
        return None
    rows = [f[:FILTERS_SHOWN].mean(axis=1) for f in (progress.filters_start, progress.filters_now)]
    count, h, w = rows[0].shape
    scale = max(1, (width - gap * (count - 1)) // (count * w))
    start, now = (tiled(to_colours(maps, SIGNED_MAP, per_channel=False), count, gap, scale) for maps in rows)
    between = np.full((gap * 3, start.shape[1], 3), GAP_COLOUR, np.uint8)
    return np.concatenate([start, between, now])
