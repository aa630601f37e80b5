"""Feature maps' enlarged channel, clickable: the patch of the picture one position sees, and what counts in it.

Clicking a square of the enlarged channel outlines its theoretical receptive field on
the picture (from the layer table's traced fields, explorer.analysis.receptive_field)
and says where it reaches past the border into the padding. Beside it, the effective
receptive field: the gradient of that one unit with respect to the input pixels, worked
out on a private view and kept once per picture and unit for the whole server.
"""

from __future__ import annotations

import hashlib

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from explorer.core.errors import UserError
from explorer.figures import descriptions, overlays
from explorer.figures.feature_maps import UNCHECKED
from explorer.inputs.images import PreparedInput
from explorer.runs import gradients
from explorer.runs.layer_choice import check_unit
from explorer.runs.capture_results import LayerOutput
from ui.caches.networks import cached_layer_table
from ui.caches.result_store import maps_store
from ui.widgets.images import picture as show_picture

SIDE = 240  # pixels a side for each of the two small pictures


def _outside(box: tuple[int, int, int, int], height: int, width: int) -> str:
    top, bottom, left, right = box
    parts = [(-top, "above the top edge"), (bottom - height + 1, "below the bottom edge"),
             (-left, "left of the left edge"), (right - width + 1, "right of the right edge")]
    reach = [f"{n} pixel{'s' * (n > 1)} {where}" for n, where in parts if n > 0]
    if not reach:
        return "It lies wholly inside the picture."
    inside = (min(bottom, height - 1) - max(top, 0) + 1) * (min(right, width - 1) - max(left, 0) + 1)
    whole = (bottom - top + 1) * (right - left + 1)
    return (f"It reaches past the border into the zero padding, {', '.join(reach)}: only {inside:,} of its "
            f"{whole:,} pixels are in the picture, the rest are zeros the network added around it.")


def _centre_share(gradient: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """Share of the gradient inside the middle of the patch (half its height and width, a quarter of its area)."""
    top, bottom, left, right = box
    quarter_h, quarter_w = (bottom - top + 1) // 4, (right - left + 1) // 4
    rows = slice(max(top + quarter_h, 0), max(bottom - quarter_h + 1, 0))
    columns = slice(max(left + quarter_w, 0), max(right - quarter_w + 1, 0))
    total = float(gradient.sum())
    return float(gradient[rows, columns].sum()) / total if total > 0 else 0.0


def _point(event) -> tuple[float, float] | None:
    """(x, y) of the clicked square on the heatmap's axes, which count the layer's own pixels."""
    selection = event.get("selection") if event else None
    points = selection.get("points") if selection else None
    return (float(points[0]["x"]), float(points[0]["y"])) if points else None


def clickable(figure: go.Figure) -> go.Figure:
    """The heatmap with an invisible marker on every square: plotly selects points of a scatter when clicked,
    never squares of a heatmap, so the markers carry the click (and the hover text). The browser shows the
    selected marker as an open square; the figure itself must not change with the click, or Streamlit
    would take it for a new chart and forget the click."""
    heatmap = figure.data[0]
    x, y = np.asarray(heatmap.x, float), np.asarray(heatmap.y, float)
    half = (x[1] - x[0]) / 2 if len(x) > 1 else 0.5
    columns, rows = np.meshgrid(x, y)
    size = max(4, min(40, 300 // max(len(x), len(y))))  # about one square of a chart some 300 pixels wide
    markers = go.Scatter(
        x=columns.ravel(), y=rows.ravel(), customdata=np.asarray(heatmap.z).ravel(), mode="markers",
        marker=dict(symbol="square-open", size=size, color="#00e5ff", opacity=0, line=dict(width=3)),
        selected=dict(marker=dict(opacity=1)), unselected=dict(marker=dict(opacity=0)), showlegend=False,
        hovertemplate=heatmap.hovertemplate.replace("%{z", "%{customdata"), **UNCHECKED,
    )
    squares = {key: value for key, value in heatmap.to_plotly_json().items() if key != "type"}
    layout = figure.layout.to_plotly_json()
    # The markers would widen the axes past the map: keep them to the squares themselves.
    layout["xaxis"] = {**layout.get("xaxis", {}), "range": [x[0] - half, x[-1] + half]}
    layout["yaxis"] = {**layout.get("yaxis", {}), "range": [y[-1] + half, y[0] - half], "autorange": False}
    return go.Figure([go.Heatmap(squares, hoverinfo="skip", **UNCHECKED), markers], layout=layout, **UNCHECKED)


def enlarged_channel(figure: go.Figure, layer: LayerOutput, channel: int, selection, prepared: PreparedInput,
                     model) -> None:
    """Draw the enlarged channel (a ``clickable`` figure); after a click, the patch its position sees and its
    gradient on the picture."""
    clicked = _point(st.plotly_chart(figure, width="stretch", on_select="rerun", selection_mode="points",
                                     key="fm_rf_click"))
    if clicked is None:
        st.caption("Click a square to see the patch of the picture that this one position sees.")
        return
    column, row = (int(np.floor(v)) for v in clicked)
    try:
        check_unit(layer.name, layer.shape, channel, row, column)
    except UserError as error:
        st.warning(str(error))
        return
    spec, size = selection.spec, selection.size
    table = cached_layer_table(spec.id, size.height, size.width, 1)
    field = dict(zip(table.calls["name"], table.calls["field"])).get(layer.name)
    if field is None or field.stride is None:
        st.info(f"{layer.name} has no positions to click.")
        return
    box = field.patch(row, column)
    top, bottom, left, right = box
    picture = prepared.shown
    height, width = picture.shape[:2]
    st.markdown(f"Row {row}, column {column} of {layer.name} sees input rows {top} to {bottom} and columns {left} to "
                f"{right}: a {bottom - top + 1}×{right - left + 1} patch, its receptive field. "
                + _outside(box, height, width))
    digest = hashlib.sha256(prepared.tensor.numpy().tobytes()).hexdigest()
    key = (spec.id, size.height, size.width, selection.device, selection.weights_key, digest, "unit", layer.name,
           channel, row, column)
    with st.spinner("Working out which pixels this unit really depends on…"):
        gradient = maps_store().get_or_make(key, lambda: gradients.unit_gradient(
            spec, model, prepared.tensor, layer.name, channel, row, column).numpy())
    factor = overlays.factor_for(picture, SIDE)
    patch_col, gradient_col = st.columns(2)
    patch = f"rows {top} to {bottom}, columns {left} to {right}"
    show_picture(overlays.outlined(overlays.enlarged(overlays.rgb(picture), SIDE), box, factor),
                 f"The picture with the patch {patch} outlined: what row {row}, column {column} of {layer.name} sees.",
                 place=patch_col, width="stretch", caption="The theoretical receptive field, outlined.")
    if not gradient.any():
        gradient_col.info("Nothing in the picture moves this unit a little: a ReLU has cut it to zero for this "
                          "picture. Click a brighter square.")
        return
    heat = overlays.overlay(picture, gradient / gradient.max(), 0.9, SIDE, by_value=True)
    show_picture(overlays.outlined(heat, box, factor),
                 f"How much each pixel moves that unit, over the picture, with the patch {patch} outlined; "
                 f"it is strongest in {descriptions.region(np.abs(gradient))} of the picture.",
                 place=gradient_col, width="stretch", caption="The effective receptive field: |∂ unit / ∂ pixel|, bright where a pixel counts most.")
    st.caption(f"{_centre_share(gradient, box):.0%} of the gradient falls in the middle quarter of the patch (half "
               "its height and width): the centre counts most, the edges of the field hardly at all.")
