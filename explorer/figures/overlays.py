"""Maps laid over the picture: a class activation map or a gradient as heat, and a receptive field's outline.

Pure functions from arrays to RGB images (uint8). A map is stretched over the picture
with bilinear interpolation, as torchcam's own ``overlay_mask`` does; a small input
(LeNet's 32×32, the toys' 5×5) is enlarged in square blocks first, so its pixels stay
visible as pixels under the heat.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from PIL import Image, ImageDraw

from explorer.figures.feature_maps import colour_table, plotly_scale

HEAT = "Inferno"  # dark where the map is 0, bright yellow at 1; readable in greyscale too
OUTLINE = (0, 229, 255)  # cyan: stands out against photos and the heat alike


def rgb(picture: np.ndarray) -> np.ndarray:
    """An H×W or H×W×3 uint8 picture as H×W×3."""
    return np.repeat(picture[..., None], 3, axis=2) if picture.ndim == 2 else picture[..., :3]


def factor_for(picture: np.ndarray, side: int = 320) -> int:
    """How many screen pixels a side one input pixel gets, so the picture is about ``side`` pixels."""
    return max(1, side // max(picture.shape[:2]))


def enlarged(picture: np.ndarray, side: int = 320) -> np.ndarray:
    """The picture repeated into square blocks to about ``side`` pixels a side."""
    factor = factor_for(picture, side)
    return picture.repeat(factor, axis=0).repeat(factor, axis=1)


def heat(values: np.ndarray, colour_map: str = HEAT) -> np.ndarray:
    """(h, w) values in 0…1 as (h, w, 3) colours."""
    index = np.clip(np.asarray(values, np.float32) * 255 + 0.5, 0, 255).astype(np.uint8)
    return colour_table(colour_map)[index]


def stretched(values: np.ndarray, height: int, width: int) -> np.ndarray:
    """A map resized to height × width (bilinear), values kept in 0…1."""
    image = Image.fromarray(np.asarray(values, np.float32), mode="F")
    return np.clip(np.asarray(image.resize((width, height), Image.Resampling.BILINEAR)), 0, 1)


def overlay(picture: np.ndarray, values: np.ndarray, opacity: float, side: int = 320,
            colour_map: str = HEAT, by_value: bool = False) -> np.ndarray:
    """The picture (enlarged to about ``side``) with ``values`` laid over it as heat: opacity 0 shows only the picture.

    ``by_value``: the heat covers the picture only as much as its value, so where the map is 0
    the picture shows as it is (for a gradient that is 0 outside a small patch).
    """
    big = enlarged(rgb(picture), side)
    spread = stretched(values, big.shape[0], big.shape[1])
    alpha = opacity * (spread[..., None] if by_value else 1.0)
    return np.rint(big * (1 - alpha) + heat(spread, colour_map) * alpha).astype(np.uint8)


def outlined(image: np.ndarray, box: tuple[int, int, int, int], factor: int, width: int = 2) -> np.ndarray:
    """``image`` (already enlarged by ``factor``) with the input rows/columns ``box`` = (top, bottom, left, right)
    outlined; the parts of the box beyond the picture are cut at its border."""
    top, bottom, left, right = box
    height, width_px = image.shape[0] // factor, image.shape[1] // factor
    clipped = (max(top, 0), min(bottom, height - 1), max(left, 0), min(right, width_px - 1))
    canvas = Image.fromarray(rgb(image).copy())
    draw = ImageDraw.Draw(canvas)
    draw.rectangle([clipped[2] * factor, clipped[0] * factor, (clipped[3] + 1) * factor - 1,
                    (clipped[1] + 1) * factor - 1], outline=OUTLINE, width=width)
    return np.asarray(canvas)


def map_heatmap(values: np.ndarray, title: str, colour_map: str = HEAT, height: int = 360) -> go.Figure:
    """A map at its own resolution, one square per position, values on hover."""
    figure = go.Figure(go.Heatmap(
        z=values, colorscale=plotly_scale(colour_map), zmin=0, zmax=1,
        hovertemplate="row %{y}, column %{x}<br>%{z:.3f}<extra></extra>",
    ))
    figure.update_layout(title=title, height=height, margin=dict(l=10, r=10, t=40, b=10))
    figure.update_yaxes(autorange="reversed", scaleanchor="x", constrain="domain")
    figure.update_xaxes(constrain="domain")
    return figure
