"""Plotly pictures of small grids for the "Convolution by hand" page: numbers in cells, the current window outlined.

Pure functions from numpy arrays to figures; the page only places them. Row 0 is at
the top and cell (row, col) sits at x=col, y=row, as in the arithmetic text.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import plotly.graph_objects as go

from explorer.figures.feature_maps import SIGNED_MAP, plotly_scale
from explorer.handconv.convolution import fmt

WINDOW_COLOUR = "#d62728"
CELL_PX = 38


def grid_figure(
    values: np.ndarray,
    *,
    title: str = "",
    filled: np.ndarray | None = None,
    window: Iterable[tuple[int, int]] = (),
    outline: tuple[int, int, int, int] | None = None,
    colorscale: str = "Blues",
    show_numbers: bool = True,
    cell_px: int = CELL_PX,
) -> go.Figure:
    """A heatmap of ``values`` with each number written in its cell.

    ``filled`` (a boolean mask) leaves the other cells empty, for an output that is filling in;
    ``window`` cells get a red frame; ``outline`` = (top, left, bottom, right), inclusive, is drawn
    dashed (the real input inside its padding). Maps with negative numbers get a diverging scale
    centred on 0, so that white always means zero.
    """
    z = np.array(values, dtype=float)
    if filled is not None:
        z[~filled] = np.nan
    text = [["" if np.isnan(v) else fmt(v) for v in row] for row in z] if show_numbers else None
    shown = z[~np.isnan(z)]
    colour_range = {"zmin": min(0.0, shown.min(initial=0.0)), "zmax": max(1.0, shown.max(initial=1.0))}
    if shown.size and shown.min() < 0:
        colorscale, colour_range = plotly_scale(SIGNED_MAP), {"zmid": 0.0}
    fig = go.Figure(
        go.Heatmap(
            z=z,
            text=text,
            texttemplate="%{text}" if show_numbers else None,
            colorscale=colorscale,
            showscale=False,
            xgap=1 if show_numbers else 0,  # gaps would turn a photo into a mesh
            ygap=1 if show_numbers else 0,
            hovertemplate="row %{y}, column %{x}: %{z}<extra></extra>",
            **colour_range,
        )
    )
    rows, cols = z.shape
    for top, left, bottom, right in _frames(list(window)):
        fig.add_shape(
            type="rect", x0=left - 0.5, x1=right + 0.5, y0=top - 0.5, y1=bottom + 0.5,
            line={"color": WINDOW_COLOUR, "width": 3},
        )
    if outline is not None:
        top, left, bottom, right = outline
        fig.add_shape(
            type="rect", x0=left - 0.5, x1=right + 0.5, y0=top - 0.5, y1=bottom + 0.5,
            line={"color": "#555", "width": 2, "dash": "dash"},
        )
    # Label every cell index only on small grids; a 48-pixel photo would drown in numbers.
    ticks = {"tickmode": "array"} if show_numbers else {"showticklabels": False, "ticks": ""}
    fig.update_xaxes(range=[-0.5, cols - 0.5], tickvals=list(range(cols)), showgrid=False, zeroline=False,
                     constrain="domain", **ticks)
    fig.update_yaxes(range=[rows - 0.5, -0.5], tickvals=list(range(rows)), showgrid=False, zeroline=False,
                     scaleanchor="x", constrain="domain", **ticks)
    fig.update_layout(
        title={"text": title, "font": {"size": 14}, "x": 0.02, "xanchor": "left"} if title else None,
        width=max(cols * cell_px + 50, 190),  # wide enough for the title
        height=rows * cell_px + 70,
        margin={"l": 30, "r": 10, "t": 40, "b": 25},
        plot_bgcolor="white",
    )
    return fig


def _frames(cells: list[tuple[int, int]]) -> list[tuple[int, int, int, int]]:
    """One frame round a solid block of cells; one frame per cell when dilation leaves gaps."""
    if not cells:
        return []
    rows = [r for r, _ in cells]
    cols = [c for _, c in cells]
    top, bottom, left, right = min(rows), max(rows), min(cols), max(cols)
    if len(set(cells)) == (bottom - top + 1) * (right - left + 1):
        return [(top, left, bottom, right)]
    return [(r, c, r, c) for r, c in cells]
