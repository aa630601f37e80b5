"""The dense-versus-conv parameter count of the lab: two small networks on the same one-channel input.

The comparison builds the two networks the lab contrasts (a dense layer straight
from the pixels, and conv → pool → ReLU → flatten → fully-connected) as real torch
modules, reads their shapes from a forward pass and their counts from ``numel()``,
and checks the written-out products against those counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from explorer.core.errors import UserError
from explorer.handconv.convolution import ConvSettings, HandArithmeticMismatch, conv_problem
from explorer.handconv.pooling import PoolSettings, pool_problem


@dataclass(frozen=True)
class LayerCount:
    """One row of the comparison: a layer, what comes out of it, and its parameters written out."""

    network: str
    layer: str
    output_shape: str
    params: int
    arithmetic: str


@dataclass(frozen=True)
class ParamComparison:
    rows: tuple[LayerCount, ...]
    dense_total: int
    conv_total: int


def _shape(tensor: torch.Tensor) -> str:
    return "×".join(str(n) for n in tensor.shape[1:])  # without the batch dimension


def _counted(network: str, layer: str, module: nn.Module, x: torch.Tensor, written: str, expected: int):
    """Run ``module`` on ``x``; its row, with the written-out count checked against torch's ``numel()``."""
    actual = sum(p.numel() for p in module.parameters())
    if actual != expected:
        raise HandArithmeticMismatch(f"{written} gives {expected} but torch counts {actual}")
    y = module(x)
    return y, LayerCount(network, layer, _shape(y), actual, f"{written} = {actual}")


def _flatten_and_classify(network: str, x: torch.Tensor, classes: int, rows: list[LayerCount]) -> int:
    """Flatten ``x`` and add a fully-connected layer to ``classes`` outputs; returns that layer's parameters."""
    flat = x.flatten(1)
    rows.append(LayerCount(network, "flatten", _shape(flat), 0, f"{_shape(x)} = {flat.shape[1]} numbers"))
    features = flat.shape[1]
    _, row = _counted(network, "fully-connected", nn.Linear(features, classes), flat,
                      f"{features}×{classes} + {classes}", features * classes + classes)
    rows.append(row)
    return row.params


def compare_parameters(
    height: int,
    width: int,
    kernel: int,
    conv: ConvSettings,
    pool: PoolSettings,
    filters: int,
    classes: int,
) -> ParamComparison:
    """Parameters and shapes of a dense classifier and a small conv net on the same one-channel input."""
    if filters < 1 or classes < 1:
        raise UserError("The number of filters and of classes must be at least 1.")
    problem = conv_problem((height, width), kernel, conv)
    if problem:
        raise UserError(problem)
    x = torch.zeros(1, 1, height, width)
    rows: list[LayerCount] = [LayerCount("dense", "input", _shape(x), 0, "")]
    with torch.no_grad():
        dense_total = _flatten_and_classify("dense", x, classes, rows)

        rows.append(LayerCount("conv", "input", _shape(x), 0, ""))
        conv_layer = nn.Conv2d(1, filters, kernel, conv.stride, conv.padding, conv.dilation)
        y, row = _counted("conv", "convolution", conv_layer, x,
                          f"{filters}×1×{kernel}×{kernel} + {filters}", filters * kernel * kernel + filters)
        rows.append(row)
        problem = pool_problem(tuple(y.shape[2:]), pool)
        if problem:
            raise UserError(problem)
        pool_layer = (nn.MaxPool2d if pool.kind == "max" else nn.AvgPool2d)(
            pool.kernel, pool.stride, ceil_mode=pool.ceil_mode
        )
        y = pool_layer(y)
        rows.append(LayerCount("conv", f"{pool.kind} pooling", _shape(y), 0, "nothing to learn"))
        y = torch.relu(y)
        rows.append(LayerCount("conv", "ReLU", _shape(y), 0, "nothing to learn"))
        conv_total = row.params + _flatten_and_classify("conv", y, classes, rows)
    return ParamComparison(tuple(rows), dense_total, conv_total)
