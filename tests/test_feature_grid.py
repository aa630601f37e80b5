"""The channel grid, the path strip and the charts, checked pixel by pixel where it matters."""

import json

import numpy as np
import plotly.colors
import plotly.graph_objects as go
import plotly.io as pio
import pytest
import torch

from explorer.figures import feature_maps
from explorer.runs import capture, capture_results
from explorer.core.registry import get_spec
from explorer.core.shape_only import build_meta_model


def hex_rgb(colour: str) -> tuple[int, int, int]:
    return plotly.colors.hex_to_rgb(colour)


def test_colour_tables_run_from_plotlys_first_to_its_last_colour():
    viridis = feature_maps.colour_table("Viridis")
    assert viridis.shape == (256, 3)
    assert tuple(viridis[0]) == hex_rgb(plotly.colors.sequential.Viridis[0])  # #440154
    assert tuple(viridis[-1]) == hex_rgb(plotly.colors.sequential.Viridis[-1])  # #fde725
    grey = feature_maps.colour_table("Grey")
    assert tuple(grey[0]) == (0, 0, 0) and tuple(grey[255]) == (255, 255, 255) and tuple(grey[128]) == (128, 128, 128)


def test_grid_lays_64_tiles_out_eight_by_eight_with_white_gaps():
    maps = np.random.default_rng(0).normal(size=(64, 7, 7)).astype(np.float32)
    grid = feature_maps.channel_grid(maps, "Grey", per_channel=True, width=720, gap=2)
    # 8 columns of 7 pixels: scale round((720 − 14) / 56) = 13, so 8 × 91 + 7 × 2 = 742 pixels wide.
    assert grid.shape == (742, 742, 3)
    assert (grid[91:93, :] == 255).all() and (grid[:, 91:93] == 255).all()


def test_each_channel_on_its_own_scale_spans_black_to_white():
    maps = np.stack([np.arange(4, dtype=np.float32).reshape(2, 2), 100 + np.arange(4, dtype=np.float32).reshape(2, 2)])
    grid = feature_maps.channel_grid(maps, "Grey", per_channel=True, width=4, gap=1)
    # Two 2×2 tiles in one row (scale 1): each tile's own min is black and max is white.
    assert grid.shape == (2, 5, 3)
    assert tuple(grid[0, 0]) == (0, 0, 0) and tuple(grid[1, 1]) == (255, 255, 255)
    assert tuple(grid[0, 3]) == (0, 0, 0) and tuple(grid[1, 4]) == (255, 255, 255)


def test_one_scale_for_the_whole_layer_keeps_weak_channels_dark():
    maps = np.stack([np.full((2, 2), 1.0, np.float32), np.full((2, 2), 3.0, np.float32)])
    colours = feature_maps.to_colours(maps, "Grey", per_channel=False, layer_range=(-1.0, 3.0))
    # 1 is halfway from −1 to 3: grey 127.5 rounds to 128; 3 is the top of the scale.
    assert tuple(colours[0, 0, 0]) == (128, 128, 128) and tuple(colours[1, 0, 0]) == (255, 255, 255)


def test_the_diverging_map_puts_zero_at_its_white_middle():
    maps = np.array([[[-2.0, 0.0, 1.0]]], dtype=np.float32)
    colours = feature_maps.to_colours(maps, "Red–blue (zero is white)", per_channel=True)
    table = feature_maps.colour_table("Red–blue (zero is white)")
    # Range is ±2: −2 → index 0, 0 → 127.5 + 0.5 → 128, 1 → 191.25 + 0.5 → 191.
    assert tuple(colours[0, 0, 0]) == tuple(table[0])
    assert tuple(colours[0, 0, 1]) == tuple(table[128])
    assert tuple(colours[0, 0, 2]) == tuple(table[191])
    assert min(table[128]) > 230  # near white


def test_a_flat_channel_does_not_divide_by_zero():
    colours = feature_maps.to_colours(np.zeros((1, 3, 3), np.float32), "Viridis", per_channel=True)
    assert (colours == feature_maps.colour_table("Viridis")[0]).all()


@pytest.fixture(scope="module")
def vgg11_capture():
    # Stages depend on shapes only: skip VGG's slow initialisation of 133 million weights.
    model = build_meta_model(get_spec("vgg11")).to_empty(device="cpu")
    torch.manual_seed(0)
    for parameter in model.parameters():
        parameter.data.uniform_(-0.05, 0.05)
    return capture.capture(model, torch.randn(1, 3, 32, 32))


def test_vgg_stages_are_the_last_layer_at_each_map_size(vgg11_capture):
    # VGG-11's features at 32×32: conv-relu at 32, pool then conv-relu at 16, pool then two
    # conv-relus at 8, 4 and 2; the last pool gives 1×1 (no picture) and avgpool spreads it to 7×7.
    names = [layer.name for layer in feature_maps.stage_layers(vgg11_capture)]
    assert names == ["features.1", "features.4", "features.9", "features.14", "features.19", "avgpool"]


def test_resnet_stages_are_its_top_level_parts():
    torch.manual_seed(0)
    result = capture.capture(get_spec("resnet18").build(), torch.randn(1, 3, 64, 64))
    names = [layer.name for layer in feature_maps.stage_layers(result)]
    assert names == ["relu", "layer1", "layer2", "layer3", "layer4"]  # 32, 16, 8, 4, 2 pixels; avgpool is 1×1
    strip = feature_maps.path_strip(result, np.zeros((64, 64, 3), np.uint8), height=50)
    assert strip.shape[0] == 50 + 18 and strip.dtype == np.uint8


def test_the_heatmap_shows_one_channels_values_on_the_original_pixel_grid():
    torch.manual_seed(0)
    result = capture.capture(get_spec("resnet18").build(), torch.randn(1, 3, 160, 160))
    conv1 = result.layers[0]  # 80×80, kept averaged over 2×2 blocks
    figure = feature_maps.channel_heatmap(conv1, 5, "Viridis")
    heat = figure.data[0]
    np.testing.assert_array_equal(np.asarray(heat.z), conv1.channel_maps([5])[0])
    assert list(heat.x[:3]) == [0.5, 2.5, 4.5]  # block centres in the 80-pixel map
    assert "2×2" in figure.layout.title.text


def test_fully_connected_bars_and_probabilities():
    layer = capture_results.LayerOutput(0, "fc", "Linear", 1, (1, 3), None, vector=np.array([1.0, -2.0, 0.5], np.float32))
    bars = feature_maps.vector_chart(layer).data[0]
    assert list(bars.y) == [1.0, -2.0, 0.5]
    chart = feature_maps.probability_chart([("cat", 0.7), ("dog", 0.2)], "top")
    assert list(chart.data[0].y) == ["dog", "cat"]  # the most probable drawn on top


def test_the_clickable_enlarged_channel_built_unchecked_is_the_figure_plotly_checks_and_builds():
    """The enlarged channel skips plotly's checks (``UNCHECKED``): built again from its dictionary with every
    check on, plotly accepts each property (an invalid one raises) and writes the very same figure."""
    from ui.panels.receptive_click import clickable

    torch.manual_seed(0)
    result = capture.capture(get_spec("resnet18").build(), torch.randn(1, 3, 160, 160))
    conv1 = result.layers[0]
    figure = clickable(feature_maps.channel_heatmap(conv1, 5, "Red–blue (zero is white)"))
    checked = go.Figure(figure.to_dict())
    assert json.loads(pio.to_json(checked)) == json.loads(pio.to_json(figure, validate=False))
    heat, markers = figure.data
    assert heat.hoverinfo == "skip" and markers.mode == "markers"
    np.testing.assert_array_equal(markers.customdata, conv1.channel_maps([5])[0].ravel())
    assert figure.layout.xaxis.range == (-0.5, 79.5)  # the 40 squares of 2 pixels, edge to edge
    assert figure.layout.yaxis.range == (79.5, -0.5)  # reversed: row 0 at the top
    assert heat.zmin == -heat.zmax  # the signed map is centred on zero


@pytest.mark.parametrize("count, side, columns, scale, gap", [(64, 28, 8, 3, 2), (61, 7, 8, 13, 2), (3, 2, 2, 4, 1),
                                                              (10, 5, 4, 1, 3), (1, 5, 1, 1, 0)])
def test_tiles_are_enlarged_into_blocks_in_reading_order_with_white_gaps(count, side, columns, scale, gap):
    tiles = np.random.default_rng(count).integers(0, 256, (count, side, side + 1, 3), dtype=np.uint8)
    grid = feature_maps.tiled(tiles, columns, gap, scale)
    # Written out by hand: each tile blown up with np.kron, placed at its row and column of a white canvas.
    rows, th, tw = -(-count // columns), side * scale, (side + 1) * scale
    expected = np.full((rows * (th + gap) - gap, columns * (tw + gap) - gap, 3), 255, np.uint8)
    for i, tile in enumerate(tiles):
        top, left = (i // columns) * (th + gap), (i % columns) * (tw + gap)
        expected[top:top + th, left:left + tw] = np.kron(tile, np.ones((scale, scale, 1), np.uint8))
    np.testing.assert_array_equal(grid, expected)
