"""Feature maps as pictures: a channel grid drawn as one image, a path strip, and plotly charts.

Everything here works on what ``explorer.runs.capture`` kept, so redrawing with
another channel count, order, colour map or scale never runs the network again.
Colour maps are plotly's own colour scales turned into 256-entry lookup tables,
so the grid image and the hoverable plotly heatmap use the very same colours.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import plotly.colors
import plotly.graph_objects as go
from PIL import Image, ImageDraw, ImageFont

from explorer.runs.capture_results import Capture, LayerOutput

# The one map for signed values (weights, gradients, changes): diverging, zero white, negatives red,
# positives blue, each side scaled to the larger magnitude. ColorBrewer's red–blue keeps its two
# halves apart under deuteranopia, since they differ along the blue–yellow axis that red–green
# colour blindness keeps, and its halves darken alike, so +x and −x look equally strong (purple–
# orange differs by 24 L* between its ends). tests/test_colour_maps.py measures both.
SIGNED_MAP = "Red–blue (zero is white)"
# For figures drawn for every new picture from values this module made itself: plotly's constructors
# then skip checking each property against its schema (``_validate``, the switch plotly's own code uses
# when it copies figures). Checked, the enlarged channel and its click markers took 4.8 ms of a new
# picture's server CPU; unchecked 0.8 ms, and the same JSON (tests/test_feature_grid.py compares them).
UNCHECKED = {"_validate": False}
# Name shown to the user -> plotly colour scale. The sequential maps grow lighter from low to high.
COLOUR_MAPS = {
    "Viridis": plotly.colors.sequential.Viridis,
    "Grey": ["rgb(0,0,0)", "rgb(255,255,255)"],
    "Inferno": plotly.colors.sequential.Inferno,
    "Cividis": plotly.colors.sequential.Cividis,
    SIGNED_MAP: plotly.colors.diverging.RdBu,
}
DIVERGING = {SIGNED_MAP}
GAP_COLOUR = (255, 255, 255)


@functools.lru_cache(maxsize=16)
def colour_table(name: str) -> np.ndarray:
    """(256, 3) uint8: the colour for each of 256 evenly spaced values from 0 to 1."""
    colours = plotly.colors.sample_colorscale(COLOUR_MAPS[name], list(np.linspace(0, 1, 256)))
    rgb = [plotly.colors.unlabel_rgb(c) for c in colours]
    return np.rint(np.array(rgb)).clip(0, 255).astype(np.uint8)


def plotly_scale(name: str, stops: int = 32) -> list[list]:
    """The same colours as ``colour_table`` as a plotly colour scale."""
    table = colour_table(name)
    positions = np.linspace(0, 255, stops).round().astype(int)
    return [[float(p / 255), "rgb({},{},{})".format(*table[p])] for p in positions]


def value_range(maps: np.ndarray, per_channel: bool, diverging: bool, layer_range: tuple[float, float] | None = None):
    """Low and high ends of the colour scale: arrays of shape (n, 1, 1)."""
    n = len(maps)
    if per_channel:
        low, high = maps.min(axis=(1, 2)), maps.max(axis=(1, 2))
    else:
        low_all, high_all = layer_range if layer_range else (float(maps.min()), float(maps.max()))
        low, high = np.full(n, low_all, np.float32), np.full(n, high_all, np.float32)
    if diverging:
        reach = np.maximum(np.abs(low), np.abs(high))
        low, high = -reach, reach
    return low[:, None, None], high[:, None, None]


def to_colours(maps: np.ndarray, colour_map: str, per_channel: bool,
               layer_range: tuple[float, float] | None = None) -> np.ndarray:
    """(n, h, w) values -> (n, h, w, 3) uint8 colours."""
    low, high = value_range(maps, per_channel, colour_map in DIVERGING, layer_range)
    span = np.where(high > low, high - low, 1)
    index = np.clip((maps - low) / span * 255 + 0.5, 0, 255).astype(np.uint8)
    # A flat channel (all one value) shows its value's colour at the scale's low end, or mid for diverging.
    if colour_map in DIVERGING:
        index = np.where(high > low, index, 128).astype(np.uint8)
    return colour_table(colour_map)[index]


def grid_shape(n: int) -> tuple[int, int]:
    """Rows and columns of a near-square grid for ``n`` tiles, wider than tall."""
    columns = math.ceil(math.sqrt(n))
    return math.ceil(n / columns), columns


def channel_grid(maps: np.ndarray, colour_map: str = "Viridis", per_channel: bool = True,
                 layer_range: tuple[float, float] | None = None, width: int = 720, gap: int = 2) -> np.ndarray:
    """All ``maps`` (n, h, w) as ONE RGB image: tiles in rows, enlarged with square pixels to about ``width``."""
    n, h, w = maps.shape
    _, columns = grid_shape(n)
    scale = max(1, round((width - gap * (columns - 1)) / (columns * w)))
    return tiled(to_colours(maps, colour_map, per_channel, layer_range), columns, gap, scale)


def tiled(tiles: np.ndarray, columns: int, gap: int = 2, scale: int = 1) -> np.ndarray:
    """(n, h, w, 3) uint8 tiles as one image, ``columns`` to a row, each enlarged ``scale`` times into square
    blocks of one pixel's colour (nearest, so nothing is smoothed), ``gap`` pixels of white between them.

    Every tile is written in one broadcast copy through a strided view of the canvas, each row of tiles
    followed by a gap: enlarging with ``repeat`` and then placing the tiles one by one copied the image
    three times (64 maps of 28×28 at scale 3: 2.9 ms before, 2.1 ms now, on a loaded machine).
    """
    n, h, w, depth = tiles.shape
    rows = math.ceil(n / columns)
    th, tw = h * scale, w * scale
    canvas = np.empty((rows, th + gap, columns, tw + gap, depth), np.uint8)
    canvas[:, th:] = GAP_COLOUR
    canvas[:, :th, :, tw:] = GAP_COLOUR
    grid = tiles
    if n < rows * columns:  # the last row's missing tiles are gap
        grid = np.full((rows * columns, h, w, depth), GAP_COLOUR, np.uint8)
        grid[:n] = tiles
    # Widened first (a third of the image at scale 3), then each of its lines written ``scale`` times through
    # the canvas's tile areas seen as (row, y, repeat, column, x, colour), strides taken from the canvas.
    wide = grid.reshape(rows, columns, h, w, depth).transpose(0, 2, 1, 3, 4).repeat(scale, axis=3)
    s_row, s_y, s_column, s_x, s_colour = canvas.strides
    blocks = np.lib.stride_tricks.as_strided(
        canvas, (rows, h, scale, columns, tw, depth), (s_row, s_y * scale, s_y, s_column, s_x, s_colour))
    blocks[...] = wide[:, :, None]
    image = canvas.reshape(rows * (th + gap), columns * (tw + gap), depth)
    return np.ascontiguousarray(image[:image.shape[0] - gap, :image.shape[1] - gap])


def stage_layers(capture: Capture) -> list[LayerOutput]:
    """One layer per stage of the network: the last call at each spatial size, in order.

    Stages are read off the top-level calls (ResNet's conv1 ... layer4) when they
    show at least three sizes, else off the innermost layers (VGG's features.N).
    """
    for top_level in (True, False):
        candidates = [
            layer for layer in capture.layers
            if layer.kind == "maps" and min(layer.shape[2:]) > 1
            and ((layer.depth == 1) if top_level else _is_innermost(capture, layer))
        ]
        stages: list[LayerOutput] = []
        for layer in candidates:
            if stages and stages[-1].shape[2:] == layer.shape[2:]:
                stages[-1] = layer
            else:
                stages.append(layer)
        if len(stages) >= 3 or not top_level:
            return stages
    return []


def _is_innermost(capture: Capture, layer: LayerOutput) -> bool:
    following = capture.layers[layer.index + 1] if layer.index + 1 < len(capture.layers) else None
    return following is None or following.depth <= layer.depth


def strongest_channel(layer: LayerOutput) -> int:
    return int(np.argmax(layer.channel_means))


def path_strip(capture: Capture, picture: np.ndarray, height: int = 96, gap: int = 6) -> np.ndarray:
    """The picture, then one map per stage (its strongest channel), side by side with names underneath."""
    font = ImageFont.load_default(size=12)
    tiles: list[tuple[Image.Image, str]] = [(Image.fromarray(picture).convert("RGB"), "input")]
    for layer in stage_layers(capture):
        channel = strongest_channel(layer)
        colours = to_colours(layer.channel_maps([channel]), "Viridis", per_channel=True)[0]
        # "x", not "×": Pillow's built-in font has no multiplication sign.
        tiles.append((Image.fromarray(colours), f"{layer.name} ({layer.shape[2]}x{layer.shape[3]})"))
    label_height = 18
    resized = []
    for tile, label in tiles:
        width = max(1, round(tile.width * height / tile.height))
        label_width = int(font.getlength(label)) + 4
        resized.append((tile.resize((width, height), Image.Resampling.NEAREST), label, max(width, label_width)))
    total = sum(slot for _, _, slot in resized) + gap * (len(resized) - 1)
    strip = Image.new("RGB", (total, height + label_height), GAP_COLOUR)
    draw = ImageDraw.Draw(strip)
    x = 0
    for tile, label, slot in resized:
        strip.paste(tile, (x + (slot - tile.width) // 2, 0))
        draw.text((x + slot / 2, height + 3), label, fill=(40, 40, 40), font=font, anchor="mt")
        x += slot + gap
    return np.asarray(strip)


def channel_heatmap(layer: LayerOutput, channel: int, colour_map: str) -> go.Figure:
    """One channel enlarged, values on hover, on the layer's original pixel grid."""
    values = layer.channel_maps([channel])[0]
    step = layer.pool_factor
    centre = (step - 1) / 2
    coordinates = lambda n: np.arange(n) * step + centre  # noqa: E731 - map pixel -> original pixel
    reach = float(np.abs(values).max()) if colour_map in DIVERGING else None
    title = f"{layer.name} · channel {channel}"
    if step > 1:
        title += f"<br><sup>each square is the mean of {step}×{step} pixels</sup>"
    # The layout goes in with the figure: plotly's update_* calls cost as much again as building it.
    return go.Figure(
        go.Heatmap(
            z=values,
            x=coordinates(values.shape[1]),
            y=coordinates(values.shape[0]),
            colorscale=plotly_scale(colour_map),
            zmin=-reach if reach else None,
            zmax=reach if reach else None,
            hovertemplate="column %{x}, row %{y}<br>value %{z:.4g}<extra></extra>",
            **UNCHECKED,
        ),
        layout=dict(
            title=dict(text=title), height=460, margin=dict(l=10, r=10, t=40, b=10),
            yaxis=dict(autorange="reversed", scaleanchor="x", constrain="domain"), xaxis=dict(constrain="domain"),
        ),
        **UNCHECKED,
    )


def vector_chart(layer: LayerOutput) -> go.Figure:
    """A fully-connected layer's activations, one bar per unit."""
    values = layer.vector
    figure = go.Figure(go.Bar(x=np.arange(len(values)), y=values,
                              hovertemplate="unit %{x}<br>value %{y:.4g}<extra></extra>"))
    figure.update_layout(title=f"{layer.name}: {len(values):,} values", height=320,
                         xaxis_title="unit", yaxis_title="activation", margin=dict(l=10, r=10, t=40, b=10))
    return figure


def probability_chart(classes: list[tuple[str, float]], title: str) -> go.Figure:
    """Horizontal bars, most probable on top."""
    names = [name for name, _ in classes][::-1]
    probabilities = [p for _, p in classes][::-1]
    figure = go.Figure(go.Bar(x=probabilities, y=names, orientation="h",
                              hovertemplate="%{y}: %{x:.2%}<extra></extra>"))
    figure.update_layout(title=title, height=60 + 24 * len(classes), xaxis_tickformat=".0%",
                         margin=dict(l=10, r=10, t=40, b=10))
    return figure
