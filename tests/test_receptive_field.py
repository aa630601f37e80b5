"""Receptive fields against three independent references: arithmetic by hand, Araujo et al.'s table, and gradients.

- By hand: the lab's toys, LeNet-5 and AlexNet's ``features`` (comments show the sums).
- Araujo, Norris & Sim (Distill, 2019), whose table (google-research/receptive_field,
  RECEPTIVE_FIELD_TABLE.md, computed on TF-Slim's models) covers networks torchvision
  builds alike: VGG-A (= VGG-11), VGG-16 and Inception v3 layer for layer. Its
  ``alexnet_v2`` has torchvision AlexNet's kernels and strides, but no padding in conv1
  where torchvision pads 2, so its effective padding is 2 smaller at every layer.
- Gradients (tests/linearised.py): for every architecture, the pixels one unit of a
  layer really depends on in a linear, positive copy, at an input large enough for the
  whole field to fit. That is the reference for the ResNets, whose stride sits in the
  3×3 convolution in torchvision (v1.5), unlike the TF-Slim models of the table.
"""

from __future__ import annotations

import math

import pytest

from explorer.analysis.summary import summarize, to_json
from explorer.core.registry import ARCHITECTURES, get_spec
from explorer.core.sizes import InputSize
from tests.linearised import gradient_support, linearised


def fields(arch_id: str, side: int | None = None) -> dict:
    spec = get_spec(arch_id)
    table = summarize(arch_id, InputSize(side or spec.default_size, side or spec.default_size))
    return dict(zip(table.calls["name"], table.calls["field"]))


def square(field) -> tuple:
    """(size, stride, start) of a square field, checking that rows and columns agree."""
    assert field.size[0] == field.size[1] and field.start[0] == field.start[1]
    stride = None if field.stride is None else field.stride[0]
    assert field.stride is None or field.stride[0] == field.stride[1]
    return field.size[0], stride, field.start[0]


# (size, stride, start), worked out with size += (k − 1) × stride, stride ×= s, start −= p × stride.
BY_HAND = {
    "toy_conv": {
        "conv": (2, 1, 0),  # 2×2 filter
        "pool": (2 + 1 * 1, 2, 0),  # 2×2 pool, stride 2
        "relu": (3, 2, 0),
        "flatten": (3 + (2 - 1) * 2, None, 0),  # the 2×2 map's two positions: the whole 5×5 input
        "fc": (5, None, 0),
    },
    "toy_dense": {"flatten": (1 + (5 - 1) * 1, None, 0), "fc": (5, None, 0)},
    "lenet5": {
        "features.0": (5, 1, 0),  # 5×5 convolution, no padding
        "features.2": (5 + 1 * 1, 2, 0),  # 2×2 max pool
        "features.3": (6 + 4 * 2, 2, 0),  # 5×5 convolution on a stride-2 map: 14
        "features.5": (14 + 1 * 2, 4, 0),  # 16
        "features": (16, 4, 0),
        "flatten": (16 + (5 - 1) * 4, None, 0),  # 5×5 positions: 32, the whole input
        "classifier.4": (32, None, 0),
    },
    "alexnet": {
        "features.0": (11, 4, -2),  # 11×11, stride 4, padding 2
        "features.2": (11 + 2 * 4, 8, -2),  # 3×3 max pool, stride 2: 19
        "features.3": (19 + 4 * 8, 8, -2 - 2 * 8),  # 5×5, padding 2: 51, start −18
        "features.5": (51 + 2 * 8, 16, -18),  # 67
        "features.6": (67 + 2 * 16, 16, -18 - 16),  # 3×3, padding 1: 99, −34
        "features.8": (99 + 32, 16, -50),
        "features.10": (131 + 32, 16, -66),
        "features.12": (163 + 2 * 16, 32, -66),  # 195
        "features": (195, 32, -66),
    },
}


@pytest.mark.parametrize("arch_id", list(BY_HAND))
def test_fields_worked_out_by_hand(arch_id):
    found = fields(arch_id)
    assert {name: square(found[name]) for name in BY_HAND[arch_id]} == BY_HAND[arch_id]


# Araujo et al.'s table: end-point -> (receptive field, effective stride, effective padding).
ARAUJO = {
    "vgg11": {  # vgg_a
        "features.0": (3, 1, 1), "features.2": (4, 2, 1), "features.3": (8, 2, 3), "features.5": (10, 4, 3),
        "features.6": (18, 4, 7), "features.8": (26, 4, 11), "features.10": (30, 8, 11), "features.11": (46, 8, 19),
        "features.13": (62, 8, 27), "features.15": (70, 16, 27), "features.16": (102, 16, 43),
        "features.18": (134, 16, 59), "features.20": (150, 32, 59),
    },
    "vgg16": {  # vgg_16
        "features.0": (3, 1, 1), "features.4": (6, 2, 2), "features.5": (10, 2, 4), "features.9": (16, 4, 6),
        "features.10": (24, 4, 10), "features.12": (32, 4, 14), "features.16": (44, 8, 18),
        "features.17": (60, 8, 26), "features.19": (76, 8, 34), "features.23": (100, 16, 42),
        "features.24": (132, 16, 58), "features.26": (164, 16, 74), "features.30": (212, 32, 90),
    },
    "inception_v3": {
        "Conv2d_1a_3x3": (3, 2, 0), "Conv2d_2a_3x3": (7, 2, 0), "Conv2d_2b_3x3": (11, 2, 2), "maxpool1": (15, 4, 2),
        "Conv2d_3b_1x1": (15, 4, 2), "Conv2d_4a_3x3": (23, 4, 2), "maxpool2": (31, 8, 2), "Mixed_5b": (63, 8, 18),
        "Mixed_5c": (95, 8, 34), "Mixed_5d": (127, 8, 50), "Mixed_6a": (159, 16, 58), "Mixed_6b": (351, 16, 154),
        "Mixed_6c": (543, 16, 250), "Mixed_6d": (735, 16, 346), "Mixed_6e": (927, 16, 442),
        "Mixed_7a": (1055, 32, 490), "Mixed_7b": (1183, 32, 554), "Mixed_7c": (1311, 32, 618),
    },
    # alexnet_v2: conv1, pool1, conv2 … pool5; conv1 pads 2 in torchvision, 0 in TF-Slim.
    "alexnet": {
        "features.0": (11, 4, 0), "features.2": (19, 8, 0), "features.3": (51, 8, 16), "features.6": (99, 16, 32),
        "features.8": (131, 16, 48), "features.10": (163, 16, 64), "features.12": (195, 32, 64),
    },
}
EXTRA_PADDING = {"alexnet": 2}


@pytest.mark.parametrize("arch_id", list(ARAUJO))
def test_fields_match_araujo_et_al(arch_id):
    found = fields(arch_id)
    extra = EXTRA_PADDING.get(arch_id, 0)
    expected = {name: (size, stride, -(padding + extra)) for name, (size, stride, padding) in ARAUJO[arch_id].items()}
    assert {name: square(found[name]) for name in expected} == expected


def rows_to_check(arch_id: str, found: dict) -> list[str]:
    """Layers whose field the gradient must confirm: the stages and blocks, plus every layer of one block.

    Rows after an adaptive pool or without positions depend on the input size and are checked apart.
    """
    spec = get_spec(arch_id)
    table = summarize(arch_id, InputSize(spec.default_size, spec.default_size)).calls
    inside = {"inception_v3": "Mixed_6b.", "resnet18": "layer2.0.", "resnet50": "layer2.0."}.get(arch_id, "features.")
    # Depth 1 (stages) and 2 (blocks), but of deep stages only the first two and the last block.
    block = table["name"].str.extract(r"^\w+\.(\d+)$")[0].astype(float)
    last_block = block.groupby(table["name"].str.split(".").str[0]).transform("max")
    chosen = table[(table["depth"] == 1) | ((table["depth"] == 2) & ((block <= 1) | (block == last_block)))
                   | table["name"].str.startswith(inside)]
    return [name for name, kind in zip(chosen["name"], chosen["type"])
            if found[name] is not None and found[name].stride is not None and not kind.startswith("Adaptive")
            and not name.startswith(("avgpool", "AuxLogits"))]


def centred_unit(field, side: int):
    """The unit whose field is nearest the middle of a ``side``-pixel input."""
    def pick(height: int, width: int):
        best = []
        for axis, count in ((0, height), (1, width)):
            middle = (side - 1) / 2 - field.start[axis] - (field.size[axis] - 1) / 2
            best.append(min(max(round(middle / float(field.stride[axis])), 0), count - 1))
        return tuple(best)
    return pick


@pytest.mark.parametrize("spec", ARCHITECTURES, ids=lambda spec: spec.id)
def test_after_the_last_position_one_output_depends_on_the_whole_picture(spec):
    found = fields(spec.id)
    last = summarize(spec.id, InputSize(spec.default_size, spec.default_size)).calls["name"].iloc[-1]
    side = spec.default_size
    if spec.id == "inception_v3":
        last = "fc"  # the auxiliary head, last in the table, does not run in eval mode
    _, support = gradient_support(linearised(spec.id), last, side, spec.in_channels)
    field = found[last]
    assert field.stride is None
    assert field.start[0] <= 0 and field.start[0] + field.size[0] >= side  # it covers the whole input…
    assert support == ((0, side - 1), (0, side - 1))  # …and the gradient reaches every pixel


@pytest.mark.parametrize("spec", [s for s in ARCHITECTURES if s.id != "toy_dense"], ids=lambda spec: spec.id)
def test_the_gradient_of_one_unit_reaches_exactly_its_field(spec):
    found = fields(spec.id)
    names = rows_to_check(spec.id, found)
    assert names, "nothing to check"
    model = linearised(spec.id)
    for name in names:
        field = found[name]
        side = max(field.size) + 4 * int(max(field.stride)) + 8
        unit, (rows, columns) = gradient_support(model, name, side, spec.in_channels, centred_unit(field, side))
        top, bottom, left, right = field.patch(*unit)
        assert top >= 0 and left >= 0 and bottom < side and right < side, (name, "the field should fit")
        assert (rows, columns) == ((top, bottom), (left, right)), name


def test_where_positions_disappear_a_unit_sees_the_whole_map():
    found = fields("resnet18")
    size, stride, start = square(found["layer4"])
    assert (size, stride, start) == (435, 32, -217)  # confirmed by the gradient test above
    # Global average pooling over the 7×7 map: the first position's field plus six strides.
    assert square(found["avgpool"]) == (435 + 6 * 32, None, -217)
    assert square(found["fc"]) == square(found["avgpool"])
    # At 320 pixels the map is 10×10, so the pooled field grows, but not layer4's own.
    larger = fields("resnet18", 320)
    assert square(larger["layer4"]) == (435, 32, -217)
    assert square(larger["avgpool"]) == (435 + 9 * 32, None, -217)


def test_adaptive_pooling_that_divides_evenly_is_a_plain_window():
    # VGG-16 at 448: features ends in a 14×14 map, which AdaptiveAvgPool2d(7) averages in 2×2 blocks.
    found = fields("vgg16", 448)
    assert square(found["avgpool"]) == (212 + 32, 64, -90)


def test_inception_branches_differ_by_axis_and_meet_at_the_largest():
    found = fields("inception_v3")
    # branch7x7dbl_2 is a 7×1 convolution: six more strides of 16 in rows than in columns.
    after = found["Mixed_6b.branch7x7dbl_2"]
    assert after.size == (159 + 6 * 16, 159) and after.start == (-58 - 3 * 16, -58)
    branches = [found[f"Mixed_6b.{b}"] for b in ("branch1x1", "branch7x7_3", "branch7x7dbl_5", "branch_pool")]
    assert found["Mixed_6b"].size == tuple(max(f.size[a] for f in branches) for a in (0, 1)) == (351, 351)


def test_the_json_has_every_row_of_the_table_with_its_field():
    table = summarize("resnet18", InputSize(224, 224))
    data = to_json(table)
    assert [row["name"] for row in data["layers"]] == list(table.calls["name"])
    conv1 = data["layers"][0]
    assert conv1["name"] == "conv1" and conv1["receptive_field"] == {"size": [7, 7], "stride": [2, 2], "start": [-3, -3]}
    assert data["layers"][-1]["receptive_field"]["stride"] is None


def test_every_convolution_of_every_network_has_a_field():
    for spec in ARCHITECTURES:
        table = summarize(spec.id, InputSize(spec.default_size, spec.default_size)).calls
        convs = table[table["type"] == "Conv2d"]
        if spec.id == "toy_dense":
            assert convs.empty
            continue
        assert convs["field"].notna().all(), spec.id
        last = convs["field"].iloc[-1]
        assert last.size[0] >= 1 and math.isfinite(float(last.stride[0]))
