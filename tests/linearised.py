"""A second way to find receptive fields, for the tests: which input pixels one unit's gradient reaches.

The network is made linear and positive (FACTS.md): every convolution becomes a
parameter-free average over its window and over all input channels (float64, no bias),
batch norm the identity, max pooling average pooling, and the input is all ones. Then
every path from a pixel to a unit carries a positive weight, nothing cancels, and the
pixels with a non-zero gradient are exactly the unit's receptive field. Summing the
channels keeps every path (the field does not depend on how many channels there are),
and makes even ResNet-152 or Inception v3 at 1,600 pixels a side cheap to run.

Nothing here comes from ``explorer.analysis.receptive_field``; only the module names
(to stop the forward pass at one call) are shared.
"""

from __future__ import annotations

import re

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from explorer.core.shape_only import build_meta_model
from explorer.core.registry import get_spec


class _AveragingConv(nn.Module):
    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        assert conv.padding_mode == "zeros" and not conv.transposed
        self.kernel, self.stride, self.padding, self.dilation = conv.kernel_size, conv.stride, conv.padding, conv.dilation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = torch.full((1, 1, *self.kernel), 1.0 / (self.kernel[0] * self.kernel[1]), dtype=x.dtype)
        return F.conv2d(x.sum(1, keepdim=True), weight, None, self.stride, self.padding, self.dilation)


class _Summing(nn.Module):
    """A fully-connected layer made positive: every output is the sum of every input."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.sum(-1, keepdim=True)


def _max_as_average(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    assert dilation in (1, (1, 1)) and not return_indices
    return F.avg_pool2d(x, kernel_size, stride if stride not in (None, []) else kernel_size, padding, ceil_mode)


def linearised(arch_id: str) -> nn.Module:
    """``arch_id``'s network, linear and positive, on the CPU in float64 (fully-connected layers sum their inputs)."""
    model = build_meta_model(get_spec(arch_id))
    for name, module in list(model.named_modules()):
        if isinstance(module, nn.Conv2d):
            replacement = _AveragingConv(module)
        elif isinstance(module, nn.Linear):
            replacement = _Summing()
        elif isinstance(module, (nn.BatchNorm2d, nn.ReLU, nn.Dropout)):
            replacement = nn.Identity()
        else:
            continue
        parent, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent) if parent else model, child, replacement)
    return model.eval()


class _Reached(Exception):
    pass


def gradient_support(model: nn.Module, call: str, side: int, channels: int, unit=None) -> tuple[tuple, tuple]:
    """Rows and columns (first, last) of the input that one unit of ``call``'s output depends on.

    ``call`` is a layer-table name ("layer1.0.relu (call 2)"); ``unit`` is (row, column) in its
    output, or a function of the output's (height, width) that picks one. Max pooling, also
    Inception's functional ``F.max_pool2d``, is averaged while this runs.
    """
    match = re.fullmatch(r"(.+?)(?: \(call (\d+)\))?", call)
    module, wanted = model.get_submodule(match[1]), int(match[2] or 1)
    x = torch.ones(1, channels, side, side, dtype=torch.float64, requires_grad=True)
    seen, picked = [0], {}

    def hook(_module, _args, output):
        seen[0] += 1
        if seen[0] == wanted:
            if output.dim() == 2:  # positions are gone: any output depends on the same pixels
                picked["unit"], picked["value"] = None, output[0].sum()
                raise _Reached
            row, column = unit(*output.shape[-2:]) if callable(unit) else unit
            picked["unit"] = (row, column)
            picked["value"] = output[0, :, row, column].sum()
            raise _Reached

    handle = module.register_forward_hook(hook)
    real_max_pool = F.max_pool2d
    F.max_pool2d = _max_as_average
    try:
        model(x)
    except _Reached:
        pass
    finally:
        F.max_pool2d = real_max_pool
        handle.remove()
    (gradient,) = torch.autograd.grad(picked["value"], x)
    touched = gradient[0].abs().sum(0).numpy() > 0
    rows, columns = np.flatnonzero(touched.any(axis=1)), np.flatnonzero(touched.any(axis=0))
    return picked["unit"], ((int(rows[0]), int(rows[-1])), (int(columns[0]), int(columns[-1])))
