"""A property test over random valid designs: every row's shape and count equal PyTorch's, and a design survives
the round trip through its file, its address-bar link and its exported code unchanged."""

from __future__ import annotations

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer.analysis.design_file import design_text, parse_design, read_design
from explorer.analysis.design_link import decode, encode
from explorer.analysis.design_rows import analyse, export_code
from explorer.models.design import DesignNet

SIMPLE = ["relu", "leakyrelu", "tanh", "sigmoid", "gelu", "batchnorm"]


@st.composite
def designs(draw) -> dict:
    """A design that can be built: map layers that fit the shrinking map, then a head that gives the classes."""
    channels = draw(st.sampled_from([1, 3]))
    side = draw(st.integers(4, 24))
    classes = draw(st.integers(1, 12))
    layers: list[dict] = []
    shape = (channels, side, side)
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["conv", "conv", "maxpool", "avgpool", "residual", "dropout", *SIMPLE]))
        if kind == "conv":
            kernel = draw(st.integers(1, min(5, shape[1])))
            groups = draw(st.sampled_from([g for g in (1, 2, 3) if shape[0] % g == 0]))
            layer = {"type": "conv", "out": groups * draw(st.integers(1, 6)), "kernel": kernel,
                     "stride": draw(st.integers(1, 3)), "padding": draw(st.integers(0, 2)), "groups": groups}
            if shape[1] >= 3 * (kernel - 1) + 1 and draw(st.booleans()):
                layer["dilation"] = 2 if shape[1] >= 2 * (kernel - 1) + 1 else 1
        elif kind in ("maxpool", "avgpool"):
            kernel = draw(st.integers(1, min(3, shape[1])))
            layer = {"type": kind, "kernel": kernel, "padding": draw(st.integers(0, kernel // 2))}
            if draw(st.booleans()):
                layer["stride"] = draw(st.integers(1, 3))
        elif kind == "residual":
            layer = {"type": "residual", "out": draw(st.integers(1, 8)), "stride": draw(st.integers(1, 2))}
        elif kind == "dropout":
            layer = {"type": "dropout", "p": draw(st.sampled_from([0.0, 0.25, 0.5]))}
        else:
            layer = {"type": kind}
        tried = analyse(parse_design({"input": [channels, side, side], "classes": 1, "layers": [*layers, layer]}))
        if tried.rows[-1].output_shape is None:
            continue  # this layer does not fit the map it would get; draw on
        layers.append(layer)
        shape = tried.rows[-1].output_shape
    head = draw(st.sampled_from(["flatten", "gap", "conv1x1"]))
    if head == "conv1x1":
        layers += [{"type": "conv", "out": classes, "kernel": 1}, {"type": "gap"}]
    else:
        layers += [{"type": head}, *([{"type": "dropout", "p": 0.5}] if draw(st.booleans()) else []),
                   {"type": "linear", "out": classes}]
    if draw(st.booleans()):
        layers.append({"type": draw(st.sampled_from(SIMPLE))})
    return {"input": [channels, side, side], "classes": classes, "layers": layers}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(designs())
def test_random_designs_match_pytorch_and_round_trip(data):
    design = parse_design(data)
    result = analyse(design)
    assert result.problems == ()
    net = DesignNet(design).eval()
    shapes: list[tuple[int, ...]] = []
    for layer in net.layers:
        layer.register_forward_hook(lambda _m, _a, out: shapes.append(tuple(out.shape[1:])))
    with torch.no_grad():
        logits = net(torch.rand(2, *design.input))
    assert [row.output_shape for row in result.rows] == shapes
    assert tuple(logits.shape) == (2, design.classes)
    assert result.total_params == sum(p.numel() for p in net.parameters())
    assert read_design(design_text(design)) == design
    assert decode(encode(design)) == design
    namespace: dict = {}
    exec(compile(export_code(design), "<exported>", "exec"), namespace)
    rebuilt = namespace["YourNetwork"]()
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {k: v.shape for k, v in net.state_dict().items()}
