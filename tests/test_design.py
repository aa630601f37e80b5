"""Designs against independent references: the registry's LeNet-5 and the lab's toys, PyTorch's own forward
pass, the output-size formula worked by hand, torchinfo's multiply-adds and the traced receptive fields."""

from __future__ import annotations

import pytest
import torch
import torchinfo
from torch import nn

from explorer.analysis import receptive_field
from explorer.analysis.design_file import parse_design
from explorer.analysis.design_rows import analyse
from explorer.models import LeNet5, ToyConvNet, ToyDenseNet
from explorer.models.design import DesignNet
from explorer.models.design_presets import PRESETS


def design(name: str):
    return parse_design(PRESETS[name])


def leaf_outputs(model: nn.Module, x: torch.Tensor, modules: list[nn.Module]) -> list[tuple[int, ...]]:
    """The output shape (without the batch) of each of ``modules``, from a real forward pass."""
    shapes: list[tuple[int, ...]] = []
    handles = [m.register_forward_hook(lambda _m, _a, out: shapes.append(tuple(out.shape[1:]))) for m in modules]
    try:
        with torch.no_grad():
            model.eval()(x)
    finally:
        for handle in handles:
            handle.remove()
    return shapes


def copy_by_order(source: nn.Module, target: nn.Module) -> None:
    """Load ``source``'s state into ``target`` tensor by tensor, in registration order (the names differ)."""
    values = list(source.state_dict().values())
    keys = list(target.state_dict())
    assert [tuple(v.shape) for v in values] == [tuple(v.shape) for v in target.state_dict().values()]
    target.load_state_dict(dict(zip(keys, values)), strict=True)


@pytest.mark.parametrize("preset, reference, count", [("lenet5", LeNet5, 61_706), ("toy_dense", ToyDenseNet, 260),
                                                      ("toy_conv", ToyConvNet, 190)])
def test_presets_equal_the_registry_networks(preset, reference, count):
    torch.manual_seed(0)
    ours, theirs = DesignNet(design(preset)), reference()
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters()) == count
    assert analyse(design(preset)).total_params == count
    side = design(preset).input[1]
    x = torch.rand(4, 1, side, side)
    their_leaves = [m for m in theirs.modules() if not list(m.children())]
    our_leaves = list(ours.layers)
    if preset != "toy_conv":  # the toy applies its ReLU after pooling in forward(), registered before it
        assert leaf_outputs(ours, x, our_leaves) == leaf_outputs(theirs, x, their_leaves)
    copy_by_order(theirs, ours)
    with torch.no_grad():
        assert torch.equal(ours.eval()(x), theirs.eval()(x))


def test_lenet5_rows_worked_by_hand():
    rows = analyse(design("lenet5")).rows
    # 32 − 5 + 1 = 28; 28 / 2 = 14; 14 − 5 + 1 = 10; 10 / 2 = 5; 16 × 5 × 5 = 400.
    assert [row.output_shape for row in rows] == [
        (6, 28, 28), (6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 10, 10), (16, 5, 5), (400,),
        (120,), (120,), (84,), (84,), (10,)]
    assert rows[3].formula == "16 × 6 × 5 × 5 + 16 = 2,416"
    assert rows[7].formula == "120 × 400 + 120 = 48,120"
    assert rows[0].mult_adds == 156 * 28 * 28
    assert [rows[i].field.size for i in (0, 2, 3, 5)] == [(5, 5), (6, 6), (14, 14), (16, 16)]


def by_hand(n: int, k: int, s: int, p: int, d: int = 1) -> int:
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def hand_shapes(data: dict) -> list[tuple[int, ...]]:
    """Each layer's output shape from the file's numbers alone: ⌊(n + 2p − d(k − 1) − 1)/s⌋ + 1 by hand."""
    shape = tuple(data["input"])
    shapes = []
    for layer in data["layers"]:
        kind, c = layer["type"], shape[0]
        if kind in ("conv", "maxpool", "avgpool"):
            k, p, d = layer["kernel"], layer.get("padding", 0), layer.get("dilation", 1)
            s = layer.get("stride", 1 if kind == "conv" else k)
            shape = (layer.get("out", c), by_hand(shape[1], k, s, p, d), by_hand(shape[2], k, s, p, d))
        elif kind == "residual":
            s = layer.get("stride", 1)
            shape = (layer["out"], by_hand(shape[1], 3, s, 1), by_hand(shape[2], 3, s, 1))
        elif kind == "flatten":
            shape = (shape[0] * shape[1] * shape[2],)
        elif kind == "gap":
            shape = (c,)
        elif kind == "linear":
            shape = (layer["out"],)
        shapes.append(shape)
    return shapes


@pytest.mark.parametrize("preset", list(PRESETS))
def test_every_preset_shape_matches_pytorch_and_the_formula(preset):
    result = analyse(design(preset))
    assert result.problems == ()
    net = DesignNet(design(preset))
    x = torch.rand(2, *design(preset).input)
    real = leaf_outputs(net, x, list(net.layers))
    assert [row.output_shape for row in result.rows] == real == hand_shapes(PRESETS[preset])
    assert result.total_params == sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize("preset", list(PRESETS))
def test_mult_adds_and_receptive_fields_match_torchinfo_and_the_trace(preset):
    result = analyse(design(preset))
    with torch.device("meta"):
        net = DesignNet(design(preset)).eval()
    x = torch.empty(1, *design(preset).input, device="meta")
    stats = torchinfo.summary(net, input_data=x, device="meta", verbose=0, mode="eval")
    assert result.total_mult_adds == stats.total_mult_adds
    traced = receptive_field.trace(net, x)
    assert [row.field for row in result.rows] == [traced[row.name] for row in result.rows]


def test_strided_window_that_leaves_a_column_unseen_says_so():
    data = {"input": [1, 32, 32], "classes": 10,
            "layers": [{"type": "conv", "out": 2, "kernel": 5, "stride": 2}, {"type": "flatten"},
                       {"type": "linear", "out": 10}]}
    result = analyse(parse_design(data))
    assert result.problems == ()
    assert len(result.warnings) == 1
    assert "(32 − 5) / 2 + 1 = 14.5: the last column of pixels is never used" in result.warnings[0]
    # The claim, checked on a real convolution: the last column changes no output, the one before it does.
    conv = nn.Conv2d(1, 1, 5, stride=2)
    base = torch.zeros(1, 1, 32, 32)
    last, before = base.clone(), base.clone()
    last[..., 31], before[..., 30] = 1.0, 1.0
    with torch.no_grad():
        assert torch.equal(conv(last), conv(base))
        assert not torch.equal(conv(before), conv(base))


def test_padding_that_reaches_the_last_column_is_no_warning():
    # (32 + 2 − 3) / 2 + 1 = 16.5, but the half window left over is padding: pixel 31 is seen.
    data = {"input": [1, 32, 32], "classes": 10,
            "layers": [{"type": "conv", "out": 1, "kernel": 3, "stride": 2, "padding": 1}, {"type": "gap"},
                       {"type": "linear", "out": 10}]}
    assert analyse(parse_design(data)).warnings == ()
    conv = nn.Conv2d(1, 1, 3, stride=2, padding=1)
    last = torch.zeros(1, 1, 32, 32)
    last[..., 31] = 1.0
    with torch.no_grad():
        assert not torch.equal(conv(last), conv(torch.zeros(1, 1, 32, 32)))


@pytest.mark.parametrize("layers, expected", [
    ([{"type": "conv", "out": 4, "kernel": 7}, {"type": "conv", "out": 4, "kernel": 30}],
     "Layer 2 (conv) has a 30×30 kernel but its input is only 26×26; use a kernel of at most 26"),
    ([{"type": "maxpool", "kernel": 40, "padding": 3}], "Layer 1 (maxpool) gives an output of size 0"),
    ([{"type": "flatten"}, {"type": "conv", "out": 4, "kernel": 3}], "Layer 2 (conv) needs a map"),
    ([{"type": "linear", "out": 10}], "Layer 1 (linear) gets a 1×32×32 map; put a flatten"),
    ([{"type": "conv", "out": 6, "kernel": 3, "groups": 4}], "4 groups must divide both its 1 input channels"),
    ([{"type": "flatten"}, {"type": "linear", "out": 84}], "The last layer gives 84 numbers, but the design has 10"),
    ([], "The design has no layers yet"),
    ([{"type": "flatten"}, {"type": "linear", "out": 1024}, {"type": "linear", "out": 1024},
      {"type": "linear", "out": 1024}, {"type": "linear", "out": 1024}, {"type": "linear", "out": 1024},
      {"type": "linear", "out": 10}], "over the limit of 5,000,000"),
    ([{"type": "conv", "out": 1024, "kernel": 3, "padding": 1}, {"type": "conv", "out": 1024, "kernel": 1}],
     "multiply-adds per picture, over the limit"),
])
def test_layers_that_do_not_fit_get_a_sentence_and_the_rest_stays(layers, expected):
    data = {"input": [1, 32, 32], "classes": 10, "layers": layers + [{"type": "relu"}]}
    if not layers:
        data["layers"] = []
    result = analyse(parse_design(data))
    assert any(expected in problem for problem in result.problems), result.problems
    assert len(result.rows) == len(data["layers"])
