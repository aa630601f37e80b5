"""A student's network as plain data (a list of layer records), its shape arithmetic, and the nn.Module it makes.

A design is what the "Build a network" page edits, the design file holds, the
address bar carries and the exported code rebuilds:

    {"input": [1, 32, 32], "classes": 10,
     "layers": [{"type": "conv", "out": 6, "kernel": 5}, {"type": "relu"}, ...]}

This module is pure torch and plain Python: checking a file a user wrote (and
saying what is wrong in a sentence) is ``explorer.analysis.design_file``'s work;
here every design is assumed valid. Input channels and features are never part
of a record: each layer's are inferred from the shape the layer before it gives.

Every layer becomes one entry of ``DesignNet.layers`` (an ``nn.Sequential``), so
parameter names are ``layers.<row>.weight`` and the same in the exported code,
which writes out the very (class, arguments) pairs that ``layer_call`` gives here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

REQUIRED = None
POOL_STRIDE = "kernel"  # a pooling layer's stride defaults to its kernel

# Each type's settings and their defaults (REQUIRED: must be given).
SETTINGS: dict[str, dict[str, object]] = {
    "conv": {"out": REQUIRED, "kernel": REQUIRED, "stride": 1, "padding": 0, "dilation": 1, "groups": 1},
    "maxpool": {"kernel": REQUIRED, "stride": POOL_STRIDE, "padding": 0},
    "avgpool": {"kernel": REQUIRED, "stride": POOL_STRIDE, "padding": 0},
    "gap": {},
    "relu": {},
    "leakyrelu": {},
    "tanh": {},
    "sigmoid": {},
    "gelu": {},
    "batchnorm": {},
    "dropout": {"p": 0.5},
    "flatten": {},
    "linear": {"out": REQUIRED},
    "residual": {"out": REQUIRED, "stride": 1},
}
LAYER_TYPES: tuple[str, ...] = tuple(SETTINGS)
WINDOWS = ("conv", "maxpool", "avgpool")
# Types that need a map (channels × height × width) as input, and those that need a flat vector.
NEEDS_MAP = ("conv", "maxpool", "avgpool", "gap", "residual")
NEEDS_VECTOR = ("linear",)

Shape = tuple[int, ...]  # (C, H, W) for a map, (F,) for a flat vector; no batch


@dataclass(frozen=True)
class Layer:
    """One row of a design: its type and its settings, every default filled in."""

    type: str
    settings: tuple[tuple[str, int | float], ...] = ()
    name: str = ""  # the student's own label, plain data: never used as code, a key or HTML

    def __getitem__(self, key: str):
        return dict(self.settings)[key]

    def to_json(self) -> dict:
        return {"type": self.type, **dict(self.settings), **({"name": self.name} if self.name else {})}


@dataclass(frozen=True)
class Design:
    """A whole network: the input it reads, how many classes it gives, and its layers in order."""

    input: tuple[int, int, int]
    classes: int
    layers: tuple[Layer, ...] = field(default_factory=tuple)

    def to_json(self) -> dict:
        return {"input": list(self.input), "classes": self.classes, "layers": [layer.to_json() for layer in self.layers]}


def window_output(n: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    """⌊(n + 2p − d(k − 1) − 1) / s⌋ + 1: positions a window visits along one side (may be ≤ 0)."""
    return (n + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def output_shape(layer: Layer, shape: Shape) -> Shape:
    """The shape ``layer`` gives for an input of ``shape`` (which it must be able to take)."""
    kind = layer.type
    if kind in WINDOWS:
        dilation = layer["dilation"] if kind == "conv" else 1
        sides = tuple(window_output(n, layer["kernel"], layer["stride"], layer["padding"], dilation) for n in shape[1:])
        return (layer["out"] if kind == "conv" else shape[0], *sides)
    if kind == "residual":
        # Both 3×3 convolutions pad by 1, so only the first one's stride changes the size.
        return (layer["out"], *(window_output(n, 3, layer["stride"], 1) for n in shape[1:]))
    if kind == "gap":
        return (shape[0],)
    if kind == "flatten":
        return (math.prod(shape),)
    if kind == "linear":
        return (layer["out"],)
    return shape  # activations, batch norm, dropout: element by element


class ResidualBlock(nn.Module):
    """Two 3×3 convolutions with batch norm, added to a shortcut: the input itself, or a 1×1
    convolution (with batch norm) where the block changes the number of channels or the size."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU()
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class GlobalAvgPool(nn.Module):
    """The mean of each channel's map: C×H×W becomes C numbers."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


# The classes a design's layers are made of, by the name the exported code writes.
CLASSES: dict[str, type[nn.Module]] = {
    "nn.Conv2d": nn.Conv2d, "nn.MaxPool2d": nn.MaxPool2d, "nn.AvgPool2d": nn.AvgPool2d,
    "nn.ReLU": nn.ReLU, "nn.LeakyReLU": nn.LeakyReLU, "nn.Tanh": nn.Tanh, "nn.Sigmoid": nn.Sigmoid, "nn.GELU": nn.GELU,
    "nn.BatchNorm1d": nn.BatchNorm1d, "nn.BatchNorm2d": nn.BatchNorm2d, "nn.Dropout": nn.Dropout,
    "nn.Flatten": nn.Flatten, "nn.Linear": nn.Linear, "ResidualBlock": ResidualBlock, "GlobalAvgPool": GlobalAvgPool,
}
_SIMPLE = {"relu": "nn.ReLU", "leakyrelu": "nn.LeakyReLU", "tanh": "nn.Tanh", "sigmoid": "nn.Sigmoid",
           "gelu": "nn.GELU", "flatten": "nn.Flatten", "gap": "GlobalAvgPool"}


def layer_call(layer: Layer, shape: Shape) -> tuple[str, dict[str, object]]:
    """The class (by its name in ``CLASSES``) and keyword arguments that make ``layer`` for an input of ``shape``."""
    kind = layer.type
    if kind == "conv":
        return "nn.Conv2d", {"in_channels": shape[0], "out_channels": layer["out"], "kernel_size": layer["kernel"],
                             "stride": layer["stride"], "padding": layer["padding"], "dilation": layer["dilation"],
                             "groups": layer["groups"]}
    if kind in ("maxpool", "avgpool"):
        name = "nn.MaxPool2d" if kind == "maxpool" else "nn.AvgPool2d"
        return name, {"kernel_size": layer["kernel"], "stride": layer["stride"], "padding": layer["padding"]}
    if kind == "residual":
        return "ResidualBlock", {"in_channels": shape[0], "out_channels": layer["out"], "stride": layer["stride"]}
    if kind == "batchnorm":
        return ("nn.BatchNorm2d" if len(shape) == 3 else "nn.BatchNorm1d"), {"num_features": shape[0]}
    if kind == "dropout":
        return "nn.Dropout", {"p": layer["p"]}
    if kind == "linear":
        return "nn.Linear", {"in_features": shape[0], "out_features": layer["out"]}
    return _SIMPLE[kind], {}


def layer_calls(design: Design) -> list[tuple[str, dict[str, object], Shape]]:
    """Every layer's (class name, arguments, output shape), in order."""
    shape: Shape = design.input
    calls = []
    for layer in design.layers:
        name, kwargs = layer_call(layer, shape)
        shape = output_shape(layer, shape)
        calls.append((name, kwargs, shape))
    return calls


class DesignNet(nn.Module):
    """The network a design describes; its parameters are ``layers.<row>.…``."""

    def __init__(self, design: Design) -> None:
        super().__init__()
        self.layers = nn.Sequential(*(CLASSES[name](**kwargs) for name, kwargs, _ in layer_calls(design)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)
