"""The pictures behind the maps: heat over the picture, a receptive field's outline, first-layer filters."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.core.errors import UserError
from explorer.core.shape_only import build_meta_model
from explorer.core.registry import get_spec
from explorer.figures import filters, overlays
from explorer.figures.feature_maps import colour_table
from explorer.runs.layer_choice import check_unit


def test_opacity_runs_from_the_picture_alone_to_the_heat_alone():
    picture = np.arange(16, dtype=np.uint8).reshape(4, 4) * 16
    values = np.array([[0.0, 1.0], [1.0, 0.0]], np.float32)
    plain = overlays.overlay(picture, values, 0.0, side=8)
    assert plain.shape == (8, 8, 3) and (plain[..., 0] == picture.repeat(2, 0).repeat(2, 1)).all()
    hot = overlays.overlay(picture, np.ones((2, 2), np.float32), 1.0, side=8)
    assert (hot == colour_table(overlays.HEAT)[255]).all()  # the top of the scale everywhere
    gentle = overlays.overlay(picture, np.zeros((2, 2), np.float32), 0.9, side=8, by_value=True)
    assert (gentle == plain).all()  # by value: where the map is 0 the picture shows as it is


def test_an_outline_is_cut_at_the_border_where_the_field_reaches_into_the_padding():
    image = np.zeros((20, 20, 3), np.uint8)  # a 10×10 input enlarged twice
    framed = overlays.outlined(image, (-3, 4, 5, 14), factor=2, width=1)
    cyan = (framed == overlays.OUTLINE).all(axis=2)
    rows, columns = np.flatnonzero(cyan.any(axis=1)), np.flatnonzero(cyan.any(axis=0))
    assert (rows[0], rows[-1], columns[0], columns[-1]) == (0, 9, 10, 19)  # rows 0–4, columns 5–9 of the input
    assert not cyan[4, 12]  # inside the box nothing is drawn


def test_filters_keep_their_colour_balance_and_their_own_range():
    weights = np.zeros((2, 3, 1, 1), np.float32)
    weights[0, :, 0, 0] = [1.0, -1.0, 0.0]  # red up, green down
    weights[1, :, 0, 0] = [0.2, 0.2, 0.6]
    grid = filters.filter_grid(weights, tile=1, gap=1, columns=2)
    assert grid.shape == (1, 3, 3)
    assert grid[0, 0].tolist() == [255, 0, 128] and grid[0, 2].tolist() == [0, 0, 255]
    grey = filters.filter_grid(np.array([[[[0.0, 2.0]]]], np.float32), tile=2, columns=1)
    assert grey.tolist() == [[[0, 0, 0], [255, 255, 255]]]  # one input channel: grey, min black, max white


@pytest.mark.parametrize(("arch_id", "name", "shape"), [
    ("alexnet", "features.0", (64, 3, 11, 11)), ("lenet5", "features.0", (6, 1, 5, 5)),
    ("inception_v3", "Conv2d_1a_3x3.conv", (32, 3, 3, 3)), ("toy_conv", "conv", (4, 1, 2, 2)),
])
def test_the_first_convolution_is_the_one_a_picture_meets_first(arch_id, name, shape):
    model = get_spec(arch_id).build()
    found_name, weights = filters.first_convolution(model)
    assert (found_name, weights.shape) == (name, shape)
    assert filters.first_convolution(build_meta_model(get_spec("toy_dense"))) is None


def test_a_position_outside_the_map_is_one_sentence():
    check_unit("layer4", (1, 512, 7, 7), 3, 6, 0)
    with pytest.raises(UserError, match=r"^Row 7, column 0 is outside layer4's 7×7 map; click inside the map\.$"):
        check_unit("layer4", (1, 512, 7, 7), 3, 7, 0)
    with pytest.raises(UserError, match="layer4 has channels 0 to 511; there is no channel 512."):
        check_unit("layer4", (1, 512, 7, 7), 512, 0, 0)
